"""`folder_groups_upgrade`: ACL entries of the earlier `group:<DN>` form become `group:<entryUUID>`.

The running Cyrus names groups by entryUUID and so refuses to SETACL a `group:<DN>` entry ("Invalid
identifier"): an old entry cannot be made on demand. The tests therefore fake only that — GETACL of one folder
also reports an old-form entry until it is deleted (marker `fault`) — and everything else is real: the new
entry is set in Cyrus, the old one deleted with DELETEACL, and a member logs in over IMAP and opens it.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator

import pytest
from django.core.management import call_command
from django.test import Client

from folders.upgrade import folder_groups_upgrade
from mailadmin import directory, imap
from mailadmin.audit.models import AuditEntry
from mailadmin.imap_names import AclEntry
from tests.folders.conftest import ACTOR, Company, acl_of, can_select, folder_name
from tests.folders.test_folders import create, remove_rights

pytestmark = [pytest.mark.django_db, pytest.mark.fault]


def entry_uuid(dn: str) -> str:
    entry = directory.get_entry(dn, ["entryUUID"])
    assert entry is not None
    return entry.first("entryUUID")


@pytest.fixture
def old_entries(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[tuple[str, str], str]]:
    """(mailbox, old who) → rights that GETACL reports in addition to Cyrus's own, until DELETEACL'd."""
    fake: dict[tuple[str, str], str] = {}
    real_acl, real_set = imap.Folders.acl, imap.Folders.set_acl

    def acl(self: imap.Folders, mailbox: str) -> list[AclEntry]:
        extra = [AclEntry(who, rights) for (box, who), rights in fake.items() if box == mailbox]
        return real_acl(self, mailbox) + extra

    def set_acl(self: imap.Folders, mailbox: str, who: str, rights: str) -> None:
        real_set(self, mailbox, who, rights)  # the real DELETEACL of the old name must succeed
        if not rights:
            fake.pop((mailbox, who), None)

    imap.drop_pooled_sessions()
    monkeypatch.setattr(imap.Folders, "acl", acl)
    monkeypatch.setattr(imap.Folders, "set_acl", set_acl)
    yield fake


def test_fault_old_dn_entries_are_rewritten_to_the_containers_uuid(
    admin_client: Client,
    company: Callable[[], Company],
    account: Callable[..., str],
    group: Callable[[str], str],
    old_entries: dict[tuple[str, str], str],
) -> None:
    firm = company()
    team = group(firm.org_dn)
    member = account(team)
    name = folder_name("Old")
    create(admin_client, name)
    remove_rights(admin_client, name, "anyone")
    assert not can_select(member, name)
    old = "group:" + team.lower()
    gone = "group:ou=gone,o=nowhere.test,dc=nowhere.test,ou=domains,dc=mailadmin"
    old_entries[(name, old)] = "lrsip"
    old_entries[(name, gone)] = "lrs"

    out = io.StringIO()
    with pytest.raises(SystemExit):  # an entry naming no container is left: exit status 1
        call_command("folder_groups_upgrade", "--dry-run", stdout=out)
    assert f"{name}: {old} -> group:{entry_uuid(team)} (lrsip)" in out.getvalue()
    assert f"group:{entry_uuid(team)}" not in acl_of(name)  # a dry run changes nothing

    report = folder_groups_upgrade(actor=ACTOR)
    new = f"group:{entry_uuid(team)}"
    assert (name, old, new) in report.converted
    assert (name, gone) in report.unresolved
    assert not [f for f in report.failed if f[0] == name]
    assert acl_of(name).get(new) == "lrsip"  # what Cyrus holds now
    assert (name, old) not in old_entries  # deleted with a real DELETEACL
    assert (name, gone) in old_entries  # left alone
    assert can_select(member, name)
    assert AuditEntry.objects.filter(action="folder_acl_upgrade", target=f"imap:{name}", ok=True).count() == 1

    again = folder_groups_upgrade(actor=ACTOR)
    assert not [c for c in again.converted if c[0] == name]
