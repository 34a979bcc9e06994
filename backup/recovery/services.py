"""Cyrus recovery (TLS-08): stop Cyrus, recover its databases, start it again, then rebuild the mailboxes
(all of them, or the chosen users') with reconstruct and count their quota usage again.

One recovery or restore at a time: the job holds `backup.locks.exclusive` for its whole run, so a restore
that is writing mail files never meets a reconstruct of the same mailboxes, and a second recovery waits
its turn by failing with the holder's name. Cyrus is down only between `shutdown` and `start_again` (the
databases' recovery takes well under a second on an intact server); Postfix keeps arriving mail in its
queue meanwhile and retries. The mailboxes are rebuilt while Cyrus runs: reconstruct locks each one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from django.utils.translation import gettext as _

from backup.locks import Busy, exclusive
from backup.recovery.selectors import KIND, MAX_USERS, active_recovery, cyrus_service, unknown_logins
from mailadmin import cyrus
from mailadmin.actor import Actor
from mailadmin.audit.services import audit_record
from mailadmin.directory import InvalidName, check_login
from mailadmin.jobs.models import Job
from mailadmin.jobs.services import JobCancelled, JobContext, actor_for_job, job_start
from mailadmin.stack import StackError

LOCK_NAME = "Cyrus recovery"
OUTCOMES = ("ok", "repaired", "failed", "missing")


class RecoveryRefused(Exception):
    """The recovery was not started (or did not begin its work); the message says why. Nothing changed."""


class CyrusDown(Exception):
    """Cyrus did not start again after the recovery stopped it: IMAP, POP and LMTP are down."""


def check_logins(logins: Sequence[str]) -> list[str]:
    """Each login checked by the allow-list and found in the directory, duplicates dropped; RecoveryRefused
    with the first problem otherwise (a name like `-rf` never reaches the directory nor a Cyrus tool)."""
    cleaned: list[str] = []
    for login in logins:
        try:
            check_login(login)
        except InvalidName as exc:
            raise RecoveryRefused(
                _(
                    "%(login)s is not a login name (lower-case letters, digits, '.', '_' or '-', starting "
                    "with a letter or digit)."
                )
                % {"login": repr(login)[:80]}
            ) from exc
        if login not in cleaned:
            cleaned.append(login)
    if not cleaned:
        raise RecoveryRefused(_("Name at least one user, or choose all mailboxes."))
    if len(cleaned) > MAX_USERS:
        raise RecoveryRefused(
            _("At most %(max)d users at a time; choose all mailboxes for more.") % {"max": MAX_USERS}
        )
    unknown = unknown_logins(cleaned)
    if unknown:
        raise RecoveryRefused(_("No user has the login name %(names)s.") % {"names": ", ".join(unknown)})
    return cleaned


def recovery_start(*, actor: Actor, logins: Sequence[str] | None) -> Job:
    """Queue a recovery of all mailboxes (`logins` None) or of these users' mailboxes. Refused, with nothing
    queued, for an actor who is no administrator, bad or unknown logins, no stack, or a recovery that
    already waits or runs."""
    if not actor.roles.administrator:
        raise RecoveryRefused(_("Only administrators run the Cyrus recovery."))
    cyrus_service()  # Unavailable when the console has no Cyrus to stop and start
    users = None if logins is None else check_logins(logins)
    if active_recovery() is not None:
        raise RecoveryRefused(
            _("A Cyrus recovery is already waiting or running. Wait until it has finished.")
        )
    return job_start(actor=actor, kind=KIND, params={"all": users is None, "users": users or []})


def _actor(job: Job) -> Actor:
    """Who started it, with their roles as the directory says now; still an administrator, or no run."""
    if not job.created_by_dn:
        return Actor.system(job.created_by.strip("<>") or "recovery")
    actor = actor_for_job(job.created_by, job.created_by_dn)
    if not actor.roles.administrator:
        raise RecoveryRefused(_("%(who)s is no longer an administrator.") % {"who": actor.username})
    return actor


def recovery_run(ctx: JobContext) -> dict[str, Any]:
    """The job's work (see the module's docstring). Fails without touching Cyrus when the lock is held."""
    params = ctx.job.params if isinstance(ctx.job.params, dict) else {}
    actor = _actor(ctx.job)
    users = None if params.get("all") is True else check_logins([str(u) for u in params.get("users") or []])
    try:
        with exclusive(LOCK_NAME):
            return _recover(ctx, actor, users)
    except Busy as exc:
        message = _(
            "Another restore or recovery holds the lock (%(holder)s): the Cyrus recovery did not start and "
            "nothing was changed. Try again when it has finished."
        ) % {"holder": exc}
        _audit(actor, users, ok=False, detail=message)
        raise RecoveryRefused(message) from exc


def _recover(ctx: JobContext, actor: Actor, users: list[str] | None) -> dict[str, Any]:
    svc = cyrus_service()
    conf, bin_dir = str(svc.layout.imapd_conf), str(svc.bin_dir)
    ctx.check_cancel()  # the last moment a Cancel leaves everything as it was
    ctx.log(
        _("Stopping Cyrus: IMAP, POP and LMTP are unavailable until it runs again. Postfix keeps new mail.")
    )
    problem = ""
    try:
        svc.shutdown()
        ctx.log(_("Recovering Cyrus's databases (ctl_cyrusdb -r)."))
        for line in cyrus.recover_databases(conf, bin_dir=bin_dir):
            ctx.log(line)
    except (StackError, cyrus.CyrusError, OSError) as exc:
        problem = str(exc)
        ctx.log(_("The databases were not recovered: %(why)s") % {"why": problem}, "error")
    try:
        svc.start_again()
    except StackError as exc:
        ctx.log(
            _("CYRUS DID NOT START AGAIN. IMAP, POP and LMTP are down; mail waits in Postfix's queue."),
            "error",
        )
        ctx.log(str(exc), "error")  # cyrmaster's and Cyrus's syslog lines: why it did not come up
        message = _(
            "Cyrus did not start again: IMAP, POP and LMTP are DOWN. The job log holds Cyrus's last log "
            "lines; fix the cause and start the mail stack."
        )
        _audit(actor, users, ok=False, detail=message)
        raise CyrusDown(message) from exc
    ctx.log(_("Cyrus runs again: IMAP and LMTP answer."))
    if problem:
        message = _("Cyrus's databases could not be recovered (%(why)s); no mailbox was rebuilt.") % {
            "why": problem
        }
        _audit(actor, users, ok=False, detail=message)
        raise RecoveryRefused(message)
    roots = [f"{cyrus.USER_PREFIX}{u}" for u in users] if users is not None else _all_roots(conf, bin_dir)
    return _rebuild(ctx, actor, users, roots, conf, bin_dir)


def _all_roots(conf: str, bin_dir: str) -> list[str]:
    names = cyrus.mailbox_names(conf, bin_dir=bin_dir)
    return sorted({cyrus.mailbox_root(name) for name in names})


def _rebuild(
    ctx: JobContext, actor: Actor, users: list[str] | None, roots: list[str], conf: str, bin_dir: str
) -> dict[str, Any]:
    ctx.progress(0, len(roots))
    done: list[dict[str, Any]] = []
    totals: Counter[str] = Counter()
    try:
        for n, root in enumerate(roots, 1):
            ctx.check_cancel()
            entry = _rebuild_one(root, conf, bin_dir)
            done.append(entry)
            counts = Counter(str(f["outcome"]) for f in entry["folders"])
            totals.update(counts)
            level = "warning" if counts["failed"] or counts["missing"] else "info"
            ctx.log(_mailbox_line(root, counts), level)
            ctx.progress(n)
    except JobCancelled:
        _audit(actor, users, ok=False, detail=f"cancelled after {len(done)} of {len(roots)} mailbox(es)")
        raise
    result: dict[str, Any] = {
        "all": users is None,
        "users": users or [],
        "mailboxes": done,
        "totals": {key: totals[key] for key in OUTCOMES},
    }
    bad = totals["failed"] + totals["missing"]
    if bad:
        ctx.log(_("%(count)d folder(s) could not be rebuilt: see the result.") % {"count": bad}, "warning")
    _audit(actor, users, ok=not bad, detail=_summary(len(roots), totals), after=result["totals"])
    return result


def _rebuild_one(root: str, conf: str, bin_dir: str) -> dict[str, Any]:
    """reconstruct -r and quota -f of one mailbox tree; a tool that fails is that mailbox's outcome."""
    try:
        outcomes = cyrus.reconstruct_outcomes(root, cyrus.reconstruct(conf, [root], bin_dir=bin_dir))
    except cyrus.CyrusError as exc:
        outcomes = [cyrus.FolderOutcome(root, "failed", (str(exc),))]
    quota: list[str] = []
    if any(o.outcome in ("ok", "repaired") for o in outcomes):
        try:
            # Only the corrections: the table rows repeat what GETQUOTA shows anyway.
            quota = [line for line in cyrus.quota_fix(conf, [root], bin_dir=bin_dir) if "usage was" in line]
        except cyrus.CyrusError as exc:
            quota = [str(exc)]
    return {"mailbox": root, "folders": [o.to_json() for o in outcomes], "quota": quota[:50]}


def _mailbox_line(root: str, counts: Counter[str]) -> str:
    if counts["missing"]:
        return _("%(mailbox)s: there is no such mailbox.") % {"mailbox": root}
    return _("%(mailbox)s: %(ok)d folder(s) fine, %(repaired)d repaired, %(failed)d failed.") % {
        "mailbox": root,
        "ok": counts["ok"],
        "repaired": counts["repaired"],
        "failed": counts["failed"],
    }


def _summary(mailboxes: int, totals: Counter[str]) -> str:
    return (
        f"{mailboxes} mailbox(es): {totals['ok']} folder(s) fine, {totals['repaired']} repaired, "
        f"{totals['failed']} failed, {totals['missing']} missing"
    )


def _audit(
    actor: Actor, users: list[str] | None, *, ok: bool, detail: str, after: dict[str, Any] | None = None
) -> None:
    audit_record(
        actor=actor,
        action="cyrus_recovery",
        target="all mailboxes" if users is None else ", ".join(users)[:500],
        after={"all": users is None, "users": users or [], **(after or {})},
        ok=ok,
        detail=detail[:2000],
    )
