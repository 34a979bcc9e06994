"""Group rights survive renaming and moving the group's container (FLD-04, docs/decisions/0007).

Cyrus names a group `group:<entryUUID>`; ptloader finds an account's groups in slapd. Proven with the real
daemons: a member logs in over IMAP before and after the container gets a new DN, after Cyrus's group cache
(ptscache, 2 s in the test stack) has demonstrably expired — a second account moved out of the group at the
same moment loses the folder, so Cyrus has asked ptloader again — and still opens the folder.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import pytest
from django.test import Client

from accounts.services.containers import container_delete, container_rename, entry_move, group_create
from folders.groups import Group, groups_named
from mailadmin import directory
from mailadmin.directory import dit
from mailadmin.imap_names import check_acl_identifier, group_identifier, group_uuid
from tests.folders.conftest import ACTOR, Company, acl_of, can_select, folder_name, listed
from tests.folders.test_folders import create, remove_rights, set_rights

pytestmark = pytest.mark.django_db
CACHE_WAIT = 20.0  # seconds; ptscache_timeout is 2 s in the test stack


def entry_uuid(dn: str) -> str:
    entry = directory.get_entry(dn, ["entryUUID"])
    assert entry is not None
    return entry.first("entryUUID")


def wait_until(check: Callable[[], bool], timeout: float = CACHE_WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "Cyrus did not ask ptloader again in time"
        time.sleep(0.25)


def group_folder(admin_client: Client, team: str) -> str:
    """A public folder only `team` may read (anyone removed)."""
    name = folder_name("Grp")
    create(admin_client, name)
    remove_rights(admin_client, name, "anyone")
    set_rights(admin_client, name, group=team, preset="read")
    return name


def page(admin_client: Client, folder: str) -> str:
    response = admin_client.get("/folders/permissions/", {"folder": folder})
    assert response.status_code == 200
    return response.content.decode()


def test_the_acl_names_the_group_by_entryuuid(
    admin_client: Client, company: Callable[[], Company], group: Callable[[str], str]
) -> None:
    firm = company()
    team = group(firm.org_dn)
    name = group_folder(admin_client, team)
    ident = f"group:{entry_uuid(team)}"
    assert acl_of(name).get(ident) == "lrs"
    assert not any(who.startswith("group:") and "=" in who for who in acl_of(name))
    assert group_uuid(ident) == entry_uuid(team)


@pytest.mark.parametrize("how", ["rename", "move"])
def test_a_member_keeps_the_folder_when_the_group_is_renamed_or_moved(
    admin_client: Client,
    company: Callable[[], Company],
    account: Callable[..., str],
    group: Callable[[str], str],
    how: str,
) -> None:
    firm = company()
    team = group(firm.org_dn)
    member, leaver = account(team), account(team)
    name = group_folder(admin_client, team)
    old_label = dit.rdn_value(team)
    # The member logs in first, so its cached group list is older than the leaver's (see the module doc).
    assert can_select(member, name)
    assert can_select(leaver, name)

    entry_move(actor=ACTOR, dn=dit.account_dn(team, leaver), new_parent_dn=firm.org_dn)
    if how == "rename":
        new_name = f"renamed{uuid.uuid4().hex[:6]}"
        new_dn = container_rename(actor=ACTOR, dn=team, new_name=new_name)
    else:
        other = group_create(actor=ACTOR, parent_dn=firm.org_dn, name=f"dept{uuid.uuid4().hex[:6]}")
        new_dn = entry_move(actor=ACTOR, dn=team, new_parent_dn=other)
        new_name = dit.rdn_value(other)
    assert not dit.same_dn(new_dn, team)

    wait_until(lambda: not can_select(leaver, name))  # Cyrus has asked ptloader again since the change
    assert can_select(member, name)
    assert name in listed(member)

    html = page(admin_client, name)
    assert new_name in html
    assert f"{firm.domain} / {firm.domain} / " in html
    if how == "rename":
        assert old_label not in html


def test_a_deleted_groups_entry_is_shown_and_can_be_removed(
    admin_client: Client, company: Callable[[], Company], group: Callable[[str], str]
) -> None:
    firm = company()
    team = group(firm.org_dn)
    name = group_folder(admin_client, team)
    ident = f"group:{entry_uuid(team)}"
    container_delete(actor=ACTOR, dn=team)

    html = page(admin_client, name)
    assert f"deleted group ({ident[6:]})" in html
    assert ident in acl_of(name)
    remove_rights(admin_client, name, ident)
    assert ident not in acl_of(name)


def test_a_sub_folder_does_not_inherit_a_deleted_groups_entry(
    admin_client: Client, company: Callable[[], Company], group: Callable[[str], str]
) -> None:
    """A dead entry is not copied: Cyrus refuses a SETACL for a uuid that is no container (once its cache of
    the group has expired), which would fail the create.

    A typed folder is made elsewhere and renamed into place, so it gets its parent's ACL from the console
    (a mail folder inherits Cyrus's copy as it is; the dead entry there is inert and shown as deleted)."""
    firm = company()
    team, kept = group(firm.org_dn), group(firm.org_dn)
    name = group_folder(admin_client, team)
    set_rights(admin_client, name, group=kept, preset="post")
    gone = f"group:{entry_uuid(team)}"
    container_delete(actor=ACTOR, dn=team)
    create(admin_client, "Sub", parent=name, folder_type="calendar")
    sub_acl = acl_of(f"{name}/Sub")
    assert gone not in sub_acl
    assert sub_acl.get(f"group:{entry_uuid(kept)}") == "lrsp"


def test_cyrus_refuses_a_uuid_that_is_no_container(
    admin_client: Client, company: Callable[[], Company], account: Callable[..., str]
) -> None:
    """ldap_group_filter looks the uuid up: an account's uuid or an unknown one is "Invalid identifier"."""
    firm = company()
    user = account(firm.org_dn)
    name = folder_name("Bad")
    create(admin_client, name)
    before = acl_of(name)
    for who in (f"group:{uuid.uuid4()}", f"group:{entry_uuid(dit.account_dn(firm.org_dn, user))}"):
        response = admin_client.post(
            "/folders/permissions/", {"folder": name, "who": who, "preset": "read", "set": "1"}
        )
        assert response.status_code == 200
        assert 'role="alert"' in response.content.decode()
    assert acl_of(name) == before


def test_groups_of_a_page_are_resolved_with_one_search(
    company: Callable[[], Company], group: Callable[[str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    firm = company()
    teams = [group(firm.org_dn) for _ in range(3)]
    idents = [group_identifier(entry_uuid(t)) for t in teams]
    gone = f"group:{uuid.uuid4()}"
    calls: list[str] = []
    real = directory.search

    def counting(*args: object, **kwargs: object) -> object:
        calls.append(str(args[1]))
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(directory, "search", counting)
    found = groups_named([*idents, gone, "anyone", "ursula", "group:o=x,dc=y"])
    assert len(calls) == 1
    for ident, team in zip(idents, teams, strict=True):
        assert found[ident].dn is not None and dit.same_dn(found[ident].dn or "", team)
    assert found[gone] == Group(gone, gone[6:], None) and found[gone].deleted
    assert found["group:o=x,dc=y"].legacy
    assert "anyone" not in found


def test_group_identifiers_are_checked() -> None:
    u = str(uuid.uuid4())
    assert group_identifier(u.upper()) == f"group:{u}"
    assert check_acl_identifier(f"group:{u}") == f"group:{u}"
    for bad in (f"group:{u}x", f"group:{u[:-1]}", f"group:{u})(x", "group:", "group:o=a.test,dc=x"):
        with pytest.raises(directory.InvalidName):
            check_acl_identifier(bad)
    # the earlier DN form may be named for removal only
    assert check_acl_identifier("group:o=a.test,dc=x", allow_dn_group=True) == "group:o=a.test,dc=x"
