"""Reads for the backup pages: the catalogue as one person may see it, and the domains they may choose."""

from __future__ import annotations

from django.db.models import QuerySet

from backup.models import Backup, Retention
from backup.services import may_see, own_domains
from mailadmin import directory
from mailadmin.actor import Actor
from mailadmin.directory import dit


def visible_backups(actor: Actor) -> list[Backup]:
    rows: QuerySet[Backup] = Backup.objects.all()
    if not actor.roles.administrator:
        rows = rows.filter(kind=Backup.Kind.MAIL).exclude(domains="")
    return [b for b in rows if may_see(actor, b)]


def backup_get(actor: Actor, pk: int) -> Backup | None:
    backup = Backup.objects.filter(pk=pk).first()
    return backup if backup is not None and may_see(actor, backup) else None


def domain_choices(actor: Actor) -> list[str]:
    if not actor.roles.administrator:
        return sorted(own_domains(actor))
    found = directory.iter_paged(dit.domains_dn(), "(objectClass=*)", ["dc"], scope="one")
    return sorted(e.first("dc").lower() for e in found if e.first("dc"))


def retention_rules() -> dict[str, Retention]:
    return {r.kind: r for r in Retention.objects.all()}


def restorable_users(actor: Actor, backup: Backup) -> list[tuple[str, str]]:
    """(login, domain) of the mailboxes in a set that this person may restore."""
    users = backup.manifest.get("users") or {}
    if not isinstance(users, dict):
        return []
    mine = own_domains(actor)
    return sorted(
        (str(u), str(d)) for u, d in users.items() if actor.roles.administrator or (d and str(d) in mine)
    )
