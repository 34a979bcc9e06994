"""Who may make, restore, download and delete which backup sets, and starting their jobs.

Administrators: everything. Domain administrators: mail of their own domains' users only — a mail set of one
of their domains or of chosen users inside them; they see, download and restore only mail sets whose every
user is inside their domains, and restore only such users. Nobody else: nothing (views answer 404).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext as _

from backup import archive, catalogue, naming
from backup.models import Backup, Retention
from mailadmin import directory
from mailadmin.actor import Actor
from mailadmin.audit.services import audit_record
from mailadmin.directory import dit
from mailadmin.directory.names import InvalidName, check_domain, check_login
from mailadmin.jobs.models import Job
from mailadmin.jobs.services import job_start

CREATE_JOB = "backup.create"
RESTORE_JOB = "backup.restore"
UPLOAD_JOB = "backup.upload"
ADOPT_JOB = "backup.adopt"


class Refused(Exception):
    """The actor may not do this, or the request is malformed; the message is for the form."""


def own_domains(actor: Actor) -> frozenset[str]:
    if actor.roles.administrator:
        return frozenset()
    return frozenset(d for d in (dit.domain_of(dn) for dn in actor.roles.domains) if d)


def may_see(actor: Actor, backup: Backup) -> bool:
    if actor.roles.administrator:
        return True
    domains = backup.domain_list()
    mine = own_domains(actor)
    return backup.kind == Backup.Kind.MAIL and bool(domains) and bool(mine) and set(domains) <= mine


def users_domains(users: Iterable[str]) -> dict[str, str | None]:
    """login -> its domain ("" for an account outside ou=domains, None for no account at all)."""
    wanted = sorted({check_login(u) for u in users})
    found: dict[str, str | None] = dict.fromkeys(wanted)
    for start in range(0, len(wanted), 100):
        chunk = wanted[start : start + 100]
        either = "".join(f"(uid={directory.escape_filter(u)})" for u in chunk)
        for entry in directory.iter_paged(dit.base_dn(), f"(|{either})", ["uid"]):
            if entry.first("uid") in found:
                found[entry.first("uid")] = dit.domain_of(entry.dn) or ""
    return found


def check_create(actor: Actor, what: str, domain: str, users: list[str], compression: str) -> None:
    if what not in naming.KINDS:
        raise Refused(_("Choose what to back up."))
    if compression not in archive.COMPRESSIONS:
        raise Refused(_("Choose zstd, gzip or xz."))
    if domain:
        try:
            check_domain(domain)
        except InvalidName as exc:
            raise Refused(str(exc)) from exc
        if not directory.exists(dit.domain_dn(domain)):
            raise Refused(_("There is no domain %(name)s.") % {"name": domain})
    if what == "domain" and not domain:
        raise Refused(_("A domain set needs its domain."))
    if users:
        if what != "mail":
            raise Refused(_("Only mail can be backed up for chosen users."))
        try:
            where = users_domains(users)
        except InvalidName as exc:
            raise Refused(str(exc)) from exc
        unknown = [u for u, d in where.items() if d is None or (not d and not actor.roles.administrator)]
        if unknown:
            raise Refused(_("Not a user you may back up: %(names)s") % {"names": ", ".join(unknown)})
    if actor.roles.administrator:
        return
    mine = own_domains(actor)
    if what != "mail" or not mine:
        raise Refused(_("Domain administrators back up their users' mail only."))
    if users:
        outside = [u for u, d in users_domains(users).items() if d not in mine]
        if outside:
            raise Refused(_("Not a user you may back up: %(names)s") % {"names": ", ".join(outside)})
    elif domain.lower() not in mine:
        raise Refused(_("Choose one of your domains."))


def check_params(params: dict[str, object]) -> dict[str, object]:
    """The shape of a backup job's parameters (a schedule's "custom" task); who may run it is checked when
    it runs (check_create with the schedule owner's roles of that moment)."""
    unknown = set(params) - {"what", "domain", "users", "compression"}
    if unknown:
        raise ValueError(_("Unknown parameters: %(names)s") % {"names": ", ".join(sorted(unknown))})
    what = str(params.get("what", ""))
    if what not in naming.KINDS:
        raise ValueError(_("what: one of cfg, ldap, mail, domain."))
    compression = str(params.get("compression") or settings.BACKUP_COMPRESSION)
    if compression not in archive.COMPRESSIONS:
        raise ValueError(_("compression: zstd, gzip or xz."))
    domain = str(params.get("domain") or "")
    if domain:
        check_domain(domain)
    if what == "domain" and not domain:
        raise ValueError(_("A domain set needs its domain."))
    users = params.get("users") or []
    if not isinstance(users, list) or len(users) > 500:
        raise ValueError(_("users: a list of at most 500 login names."))
    if users and what != "mail":
        raise ValueError(_("Only mail can be backed up for chosen users."))
    cleaned: dict[str, object] = {"what": what, "domain": domain, "compression": compression}
    if users:
        cleaned["users"] = [check_login(str(u)) for u in users]
    return cleaned


def start_backup(
    actor: Actor, *, what: str, domain: str = "", users: list[str] | None = None, compression: str = ""
) -> Job:
    users = sorted(set(users or []))
    compression = compression or str(settings.BACKUP_COMPRESSION)
    check_create(actor, what, domain, users, compression)
    domains = [domain] if domain else sorted({d for d in users_domains(users).values() if d})
    return job_start(
        actor=actor,
        kind=CREATE_JOB,
        params={"what": what, "domain": domain, "users": users, "compression": compression},
        domains=domains,
    )


def check_restore(actor: Actor, backup: Backup, *, users: list[str], mode: str) -> None:
    if not may_see(actor, backup):
        raise LookupError("not visible")
    listed = backup.manifest.get("users") or {}
    if backup.kind in (Backup.Kind.MAIL,):
        if not users:
            raise Refused(_("Choose the users whose mail is restored."))
        unknown = [u for u in users if u not in listed]
        if unknown:
            raise Refused(_("Not in this backup: %(names)s") % {"names": ", ".join(unknown)})
        if mode not in ("folder", "in_place"):
            raise Refused(_("Choose where the mail goes."))
        mine = own_domains(actor)
        if not actor.roles.administrator and any(listed.get(u) not in mine for u in users):
            raise Refused(_("You may restore only your own domains' users."))
    elif not actor.roles.administrator:
        raise LookupError("administrators only")
    if backup.kind == Backup.Kind.DOMAIN and mode not in ("folder", "in_place"):
        raise Refused(_("Choose where the mail goes."))


def start_restore(
    actor: Actor, backup: Backup, *, users: list[str] | None = None, mode: str = "folder"
) -> Job:
    users = sorted(set(users or []))
    check_restore(actor, backup, users=users, mode=mode)
    return job_start(
        actor=actor,
        kind=RESTORE_JOB,
        params={"backup": backup.pk, "name": backup.name, "users": users, "mode": mode},
        domains=backup.domain_list(),
    )


def delete(actor: Actor, backup: Backup) -> None:
    if not actor.roles.administrator:
        raise LookupError("administrators only")
    audit_record(
        actor=actor, action="backup.delete", target=backup.name, before={"size": backup.size}, after={}
    )
    catalogue.delete(backup)


def downloaded(actor: Actor, backup: Backup) -> None:
    audit_record(
        actor=actor,
        action="backup.download",
        target=backup.name,
        domains=backup.domain_list(),
        after={"sha256": backup.sha256, "size": backup.size},
    )


def incoming_dir(upload_id: str) -> Path:
    """Where an upload is received and waits for its check: BACKUP_DIR/.incoming/<id>/ (never listed)."""
    if not re.fullmatch(r"[0-9a-f]{32}", upload_id):
        raise ValueError("not an upload id")
    return catalogue.directory() / ".incoming" / upload_id


def start_upload_check(actor: Actor, upload_id: str, original_name: str) -> Job:
    if not actor.roles.administrator:
        raise LookupError("administrators only")
    incoming_dir(upload_id)
    return job_start(
        actor=actor, kind=UPLOAD_JOB, params={"upload": upload_id, "original": original_name[:200]}
    )


def set_retention(actor: Actor, kind: str, keep_last: int, keep_days: int) -> None:
    if not actor.roles.administrator:
        raise LookupError("administrators only")
    rule, _created = Retention.objects.get_or_create(kind=kind)
    before = {"keep_last": rule.keep_last, "keep_days": rule.keep_days}
    rule.keep_last, rule.keep_days = keep_last, keep_days
    rule.save()
    audit_record(
        actor=actor,
        action="backup.retention",
        target=kind,
        before=before,
        after={"keep_last": keep_last, "keep_days": keep_days},
    )


def start_adopt(actor: Actor) -> Job:
    """Check the files copied into the catalogue directory by hand and list the good ones (a job: each is read
    whole)."""
    if not actor.roles.administrator:
        raise LookupError("administrators only")
    return job_start(actor=actor, kind=ADOPT_JOB, params={})
