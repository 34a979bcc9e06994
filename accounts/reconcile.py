"""The drift check: LDAP accounts against Cyrus mailboxes, and role/group references against entries.

No transaction spans slapd and Cyrus, and mailboxes can be changed behind the console's back (cyradm, a
restore). `reconcile_scan` reads both sides in bulk: the accounts by paged search (`iter_paged`), the
mailboxes by ONE admin `LIST "" "user/%"`, quotas over the same IMAP session. It finds:

- missing mailboxes: enabled mail accounts (mailEnabled TRUE) without `user/<uid>`; Postfix accepts their
  mail and LMTP then bounces it;
- orphan mailboxes: `user/<uid>` without any mail account of that login (left by a delete that kept it);
- quota mismatches: mailQuota (the record) differs from the Cyrus STORAGE limit (what is enforced);
- stale references: member / mailAdministrator values naming a missing entry, or refint's placeholder (the
  suffix DN) where it is not needed.

Repairs re-scan first (findings shown on a page may be old), then fix one kind, each fix audited. Orphan
mailboxes hold mail and are never removed by a repair: only `reconcile_delete_orphans`, for names a person
picked and confirmed, and only if they are still orphans at that moment.

Half-done operations are the journal's (accounts/services/journal_repair.py, re-exported here): rows a
process left `running` or `failed`, listed by `journal_scan` from the database (no server is read), each
finished or undone by `journal_repair` when a person chooses which.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from accounts.services.journal_repair import ACTIONS as JOURNAL_ACTIONS
from accounts.services.journal_repair import HalfDone, JournalReport, journal_repair, journal_scan
from mailadmin import directory, imap
from mailadmin.actor import Actor
from mailadmin.audit.services import audited
from mailadmin.directory import NO_ATTRS, DirectoryError, InvalidName, check_login, dit, filter_and, filter_eq

log = logging.getLogger(__name__)

__all__ = [
    "JOURNAL_ACTIONS",
    "KINDS",
    "REPAIRABLE",
    "Findings",
    "HalfDone",
    "JournalReport",
    "RepairReport",
    "journal_repair",
    "journal_scan",
    "reconcile_delete_orphans",
    "reconcile_repair",
    "reconcile_scan",
]
REPAIRABLE = ("missing_mailboxes", "quota_mismatches", "stale_references")
KINDS = (*REPAIRABLE, "orphan_mailboxes")
MAX_LISTED = 2000  # findings kept per kind in a job result; the counts are always complete

Tick = Callable[[int, int | None], None]
Say = Callable[[str, str], None]
_REFERENCE_HOLDERS = "(|(objectClass=groupOfNames)(mailAdministrator=*))"
_REFERENCE_ATTRS = ("member", "mailAdministrator")


@dataclass
class Findings:
    domain: str = ""  # "" = the whole server
    accounts: int = 0
    mailboxes: int = 0
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    missing_mailboxes: list[dict[str, Any]] = field(default_factory=list)  # dn, uid, quota_kib
    orphan_mailboxes: list[str] = field(default_factory=list)  # uid
    quota_mismatches: list[dict[str, Any]] = field(default_factory=list)  # dn, uid, ldap_kib, cyrus_kib
    stale_references: list[dict[str, str]] = field(default_factory=list)  # holder, attr, value, why
    unchecked: list[str] = field(default_factory=list)  # accounts whose login no mailbox can have

    def add(self, kind: str, item: Any) -> None:
        self.counts[kind] += 1
        items: list[Any] = getattr(self, kind)
        if len(items) < MAX_LISTED:
            items.append(item)

    @property
    def clean(self) -> bool:
        return not any(self.counts.values())

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Findings:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})


def _noop_tick(done: int, total: int | None = None) -> None:
    return None


def _accounts(base: str) -> Iterable[directory.Entry]:
    return directory.iter_paged(base, "(objectClass=mailAccount)", ["uid", "mailQuota", "mailEnabled"])


def _quota(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def reconcile_scan(*, domain: str | None = None, tick: Tick = _noop_tick) -> Findings:
    """Compare the directory with the mail store; `domain` narrows the account checks to one domain.

    Orphan mailboxes are always judged against every account of the server (a mailbox name carries no
    domain); the role group cn=administrators is checked only in a whole-server scan."""
    scope_base = dit.domain_dn(domain) if domain else dit.domains_dn()
    findings = Findings(domain=domain or "")
    every_uid: set[str] = set()
    known_dns: set[str] = set()
    in_scope: list[tuple[str, str, int | None, bool]] = []  # dn, uid, quota, enabled
    for entry in _accounts(scope_base):
        uid = entry.first("uid")
        every_uid.add(uid)
        known_dns.add(entry.dn.lower())
        enabled = entry.first("mailEnabled").upper() == "TRUE"
        in_scope.append((entry.dn, uid, _quota(entry.get("mailQuota")), enabled))
    if domain:
        every_uid |= {
            e.first("uid")
            for e in directory.iter_paged(dit.domains_dn(), "(objectClass=mailAccount)", ["uid"])
        }
    findings.accounts = len(in_scope)
    tick(0, len(in_scope))

    with imap.admin_session() as admin:
        mailboxes = admin.user_mailboxes()
        findings.mailboxes = len(mailboxes)
        for uid in sorted(mailboxes - every_uid):
            findings.add("orphan_mailboxes", uid)
        for n, (dn, uid, quota, enabled) in enumerate(in_scope, 1):
            try:
                check_login(uid)
            except InvalidName:
                findings.unchecked.append(dn)
                continue
            if uid not in mailboxes:
                if enabled:
                    findings.add("missing_mailboxes", {"dn": dn, "uid": uid, "quota_kib": quota})
            else:
                current = admin.get_quota(uid)
                limit = current.limit_kib if current is not None else None
                if limit != quota:
                    findings.add(
                        "quota_mismatches", {"dn": dn, "uid": uid, "ldap_kib": quota, "cyrus_kib": limit}
                    )
            if n % 200 == 0:
                tick(n, None)
    _scan_references(findings, dit.domain_dn(domain) if domain else dit.base_dn(), known_dns)
    tick(len(in_scope), None)
    return findings


def _scan_references(findings: Findings, base: str, known_dns: set[str]) -> None:
    placeholder = dit.base_dn()
    exists_cache: dict[str, bool] = {}

    def exists(dn: str) -> bool:
        key = dn.lower()
        if key in known_dns:
            return True
        if key not in exists_cache:
            exists_cache[key] = dit.valid_dn(dn) and directory.exists(dn)
        return exists_cache[key]

    for holder in directory.iter_paged(base, _REFERENCE_HOLDERS, list(_REFERENCE_ATTRS)):
        for attr in _REFERENCE_ATTRS:
            values = holder.values(attr)
            real = [v for v in values if not dit.same_dn(v, placeholder)]
            for value in values:
                if dit.same_dn(value, placeholder):
                    # groupOfNames MUST have a member: the placeholder is needed while it is the only one.
                    if attr == "mailAdministrator" or real:
                        findings.add(
                            "stale_references",
                            {"holder": holder.dn, "attr": attr, "value": value, "why": "placeholder"},
                        )
                elif not exists(value):
                    findings.add(
                        "stale_references",
                        {"holder": holder.dn, "attr": attr, "value": value, "why": "missing entry"},
                    )


# --- repairs -----------------------------------------------------------------------------------------------


@dataclass
class RepairReport:
    kind: str
    fixed: list[str] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _say_nothing(text: str, level: str = "info") -> None:
    return None


def _attempt(report: RepairReport, what: str, fix: Callable[[], None], say: Say) -> None:
    try:
        fix()
    except (DirectoryError, imap.ImapError, InvalidName) as exc:
        report.failed.append({"what": what, "why": str(exc)})
        say(f"FAILED {what}: {exc}", "error")
    else:
        report.fixed.append(what)
        say(f"repaired {what}", "info")


def reconcile_repair(
    *, actor: Actor, kind: str, domain: str | None = None, tick: Tick = _noop_tick, say: Say = _say_nothing
) -> RepairReport:
    """Re-scan, then repair every finding of one kind: create missing mailboxes (with the LDAP quota and the
    console's admin rights), set Cyrus quotas from LDAP, remove stale references."""
    if kind not in REPAIRABLE:
        raise InvalidName("Orphan mailboxes are deleted only one by one, after confirmation.", "kind")
    findings = reconcile_scan(domain=domain)
    report = RepairReport(kind)
    if kind == "stale_references":
        items = findings.stale_references
        tick(0, len(items))
        for n, ref in enumerate(items, 1):
            holder, attr, value, why = ref["holder"], ref["attr"], ref["value"], ref["why"]

            def unlink(holder: str = holder, attr: str = attr, value: str = value, why: str = why) -> None:
                audited(
                    actor,
                    "reconcile_reference_remove",
                    holder,
                    {attr: value, "why": why},
                    lambda: directory.modify(holder, [directory.delete_values(attr, value)]),
                )

            _attempt(report, f"{attr} {value} of {holder}", unlink, say)
            tick(n, None)
        return report

    with imap.admin_session() as admin:
        if kind == "missing_mailboxes":
            missing = findings.missing_mailboxes
            tick(0, len(missing))
            for n, item in enumerate(missing, 1):
                uid, quota = str(item["uid"]), item["quota_kib"]

                def create(uid: str = uid, quota: int | None = quota, dn: str = str(item["dn"])) -> None:
                    audited(
                        actor,
                        "reconcile_mailbox_create",
                        dn,
                        {"uid": uid, "quota_kib": quota},
                        lambda: admin.create(uid, quota),
                    )

                _attempt(report, f"mailbox of {uid}", create, say)
                tick(n, None)
        else:
            mismatches = findings.quota_mismatches
            tick(0, len(mismatches))
            for n, item in enumerate(mismatches, 1):
                uid, quota = str(item["uid"]), item["ldap_kib"]

                def set_quota(
                    uid: str = uid, quota: int | None = quota, dn: str = str(item["dn"]), was: Any = item
                ) -> None:
                    audited(
                        actor,
                        "reconcile_quota_set",
                        dn,
                        {"uid": uid, "quota_kib": quota, "cyrus_before": was["cyrus_kib"]},
                        lambda: admin.set_quota(uid, quota),
                    )

                _attempt(report, f"quota of {uid}", set_quota, say)
                tick(n, None)
    return report


def reconcile_delete_orphans(
    *, actor: Actor, uids: Iterable[str], tick: Tick = _noop_tick, say: Say = _say_nothing
) -> RepairReport:
    """Delete the mailboxes a person picked from the orphan list and confirmed, if each is STILL an orphan
    (an account of that login may have been made since the scan: its mail must stay)."""
    chosen = sorted({check_login(uid, "uid") for uid in uids})
    report = RepairReport("orphan_mailboxes")
    tick(0, len(chosen))
    with imap.admin_session() as admin:
        mailboxes = admin.user_mailboxes()
        for n, uid in enumerate(chosen, 1):
            owner = directory.search(
                dit.domains_dn(), filter_and("(objectClass=mailAccount)", filter_eq("uid", uid)), NO_ATTRS
            )
            if uid not in mailboxes or owner:
                why = "an account uses this login" if owner else "there is no such mailbox"
                report.failed.append({"what": f"mailbox of {uid}", "why": why})
                say(f"kept mailbox of {uid}: {why}", "warning")
            else:

                def delete(uid: str = uid) -> None:
                    audited(
                        actor,
                        "reconcile_orphan_delete",
                        f"user/{uid}",
                        {"uid": uid},
                        lambda: admin.delete(uid),
                    )

                _attempt(report, f"mailbox of {uid}", delete, say)
            tick(n, None)
    return report
