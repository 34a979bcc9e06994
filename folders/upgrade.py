"""Rewrite ACL entries of the earlier `group:<container DN>` form to `group:<entryUUID>` (decision 0007).

Once imapd.conf names groups by entryUUID, ptloader no longer reports DN groups, so entries written before
stop matching: run `manage.py folder_groups_upgrade` right after deploying the new imapd.conf. Each entry
whose DN is still a domain, organization or group gets the same rights under the container's uuid (merged
with any it has already), then the old entry goes; an entry whose DN no longer exists is listed and left
alone (remove it on the folder's permissions page). Safe to run again: a second run finds nothing.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field

from folders.services import audited_change
from mailadmin import directory, imap
from mailadmin.actor import Actor
from mailadmin.directory import dit
from mailadmin.imap_names import (
    GROUP_PREFIX,
    RIGHT_ORDER,
    check_acl_identifier,
    group_identifier,
    group_uuid,
)

_GROUP_CLASSES = ("mailDomain", "mailContainer")


@dataclass
class GroupsUpgrade:
    converted: list[tuple[str, str, str]] = field(default_factory=list)  # (mailbox, old who, new who)
    unresolved: list[tuple[str, str]] = field(default_factory=list)  # (mailbox, old who): no such container
    failed: list[tuple[str, str, str]] = field(default_factory=list)  # (mailbox, old who, error)


def _uuid_group_of(dn: str) -> str | None:
    """`group:<uuid>` of the container at `dn` now, or None if there is none."""
    if not directory.valid_dn(dn):
        return None
    entry = directory.get_entry(dn, ["objectClass", "entryUUID"])
    if entry is None or not any(entry.has_object_class(c) for c in _GROUP_CLASSES):
        return None
    value = entry.get("entryUUID")
    return group_identifier(value) if value else None


def _merged(a: str, b: str) -> str:
    return "".join(ch for ch in RIGHT_ORDER if ch in a or ch in b)


def folder_groups_upgrade(
    *, actor: Actor, dry_run: bool = False, say: Callable[[str], None] = lambda _line: None
) -> GroupsUpgrade:
    """Every mailbox's `group:<DN>` entries → `group:<entryUUID>`; one audit row per entry rewritten."""
    report = GroupsUpgrade()
    targets: dict[str, str | None] = {}  # old identifier → new one (None: not a container any more)
    with imap.folders_session() as f:
        for mailbox in f.all_names():
            if mailbox.startswith("DELETED/"):  # delayed-delete area: gone for users already
                continue
            acl = {e.who: e.rights for e in f.acl(mailbox)}
            for who, rights in acl.items():
                if not who.startswith(GROUP_PREFIX) or group_uuid(who) is not None:
                    continue
                if who not in targets:
                    targets[who] = _uuid_group_of(who[len(GROUP_PREFIX) :])
                new = targets[who]
                if new is None:
                    report.unresolved.append((mailbox, who))
                    say(f"{mailbox}: {who} names no container any more; left as it is")
                    continue
                wanted = _merged(rights, acl.get(new, ""))
                say(f"{mailbox}: {who} -> {new} ({wanted})")
                if dry_run:
                    report.converted.append((mailbox, who, new))
                    continue
                domains = dit.domains_of(who[len(GROUP_PREFIX) :])
                change = {"from": who, "to": new, "rights": wanted}
                rewrite = functools.partial(_rewrite, f, mailbox, who, new, wanted)
                try:
                    audited_change(actor, "folder_acl_upgrade", mailbox, domains, change, rewrite)
                except (imap.ImapError, directory.InvalidName) as exc:
                    report.failed.append((mailbox, who, str(exc)))
                    continue
                report.converted.append((mailbox, who, new))
    return report


def _rewrite(f: imap.Folders, mailbox: str, old: str, new: str, rights: str) -> None:
    f.set_acl(mailbox, new, rights)  # first the new entry: nobody is ever without access
    f.set_acl(mailbox, check_acl_identifier(old, allow_dn_group=True), "")
