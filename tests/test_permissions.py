"""The permission matrix of `mailadmin.permissions.can`, case by case (no server needed)."""

from __future__ import annotations

import pytest

from mailadmin.actor import Actor, Roles
from mailadmin.permissions import Kind, Verb, can

BASE = "ou=domains,dc=mailadmin"
A = f"dc=a.test,{BASE}"
B = f"dc=b.test,{BASE}"
AA = f"dc=aa.test,{BASE}"
SALES = f"ou=sales,o=a.test,{A}"
ALICE = f"uid=alice,o=a.test,{A}"
BOB = f"uid=bob,{SALES}"
BERT = f"uid=bert,o=b.test,{B}"

admin = Actor("root", "uid=root,ou=admins,dc=mailadmin", Roles(administrator=True))
dom_a = Actor("dana", f"uid=dana,o=a.test,{A}", Roles(domains=frozenset({A})))
grp = Actor("gary", f"uid=gary,{SALES}", Roles(groups=frozenset({SALES})))
user = Actor("bob", BOB, Roles())


@pytest.mark.parametrize("verb", list(Verb))
def test_admin_may_do_everything_below_their_rank(verb: Verb) -> None:
    assert can(admin, verb, BERT, kind=Kind.USER, target_rank=2)


MANAGER = "uid=admin,ou=admins,dc=mailadmin"
OTHER_ADMIN = "uid=other,ou=admins,dc=mailadmin"
manager = Actor("admin", MANAGER, Roles(administrator=True))


@pytest.mark.parametrize("verb", [Verb.CHANGE, Verb.DELETE, Verb.MOVE, Verb.SET_QUOTA, Verb.SET_PASSWORD])
def test_only_the_manager_acts_on_another_administrators_account(verb: Verb) -> None:
    assert can(manager, verb, OTHER_ADMIN, kind=Kind.USER, target_rank=3)
    assert not can(admin, verb, OTHER_ADMIN, kind=Kind.USER, target_rank=3)
    assert not can(admin, verb, MANAGER, kind=Kind.USER, target_rank=3)


def test_nobody_deletes_the_manager_or_their_own_account_or_resets_the_managers_password() -> None:
    assert not can(manager, Verb.DELETE, MANAGER, kind=Kind.USER, target_rank=3)
    assert not can(manager, Verb.SET_PASSWORD, MANAGER, kind=Kind.USER, target_rank=3)
    assert not can(admin, Verb.DELETE, admin.dn, kind=Kind.USER, target_rank=3)
    assert can(admin, Verb.CHANGE, admin.dn, kind=Kind.USER, target_rank=3)  # own name and details
    assert can(Actor.system("tests"), Verb.DELETE, OTHER_ADMIN, kind=Kind.USER, target_rank=3)


def test_domain_admin_changes_users_and_resources_only_with_their_kind_given() -> None:
    assert can(dom_a, Verb.CHANGE, ALICE, kind=Kind.RESOURCE)
    assert not can(dom_a, Verb.CHANGE, ALICE)  # a view that forgets the kind is refused
    assert not can(dom_a, Verb.SET_PASSWORD, ALICE, kind=Kind.CONTACT)


def test_domain_admin_sees_own_domain_only() -> None:
    assert can(dom_a, Verb.VIEW, ALICE)
    assert can(dom_a, Verb.VIEW, A)
    assert not can(dom_a, Verb.VIEW, BERT)
    assert not can(dom_a, Verb.VIEW, B)


def test_domain_admin_scope_is_by_rdn_not_by_string_suffix() -> None:
    # "dc=aa.test" ends with "a.test" as a string, but is another domain.
    assert not can(dom_a, Verb.VIEW, f"uid=x,o=aa.test,{AA}")
    assert not can(dom_a, Verb.VIEW, f"uid=x\\,dc=a.test,{BASE}")


@pytest.mark.parametrize("kind", [Kind.USER, Kind.GROUP, Kind.RESOURCE])
def test_domain_admin_creates_users_groups_resources(kind: Kind) -> None:
    assert can(dom_a, Verb.CREATE, f"o=a.test,{A}", kind=kind)


@pytest.mark.parametrize("kind", [Kind.DOMAIN, Kind.ORGANIZATION, Kind.ALIAS, Kind.SERVER])
def test_domain_admin_creates_nothing_else(kind: Kind) -> None:
    assert not can(dom_a, Verb.CREATE, f"o=a.test,{A}", kind=kind)


def test_domain_admin_sets_quota_and_password_of_plain_users() -> None:
    assert can(dom_a, Verb.SET_QUOTA, ALICE, kind=Kind.USER)
    assert can(dom_a, Verb.SET_PASSWORD, ALICE, kind=Kind.USER)
    assert not can(dom_a, Verb.SET_PASSWORD, BERT, kind=Kind.USER)


def test_nobody_changes_an_equal_or_higher_rank() -> None:
    # Another domain admin of the same domain, or an administrator whose entry sits in the domain.
    assert not can(dom_a, Verb.SET_PASSWORD, ALICE, kind=Kind.USER, target_rank=2)
    assert not can(dom_a, Verb.DELETE, ALICE, kind=Kind.USER, target_rank=3)
    assert not can(grp, Verb.SET_PASSWORD, BOB, kind=Kind.USER, target_rank=1)


def test_domain_admin_manages_domain_admins_of_own_domain_only() -> None:
    assert can(dom_a, Verb.MANAGE_ADMINS, A, target_rank=2)
    assert not can(dom_a, Verb.MANAGE_ADMINS, A, target_rank=3)
    assert not can(dom_a, Verb.MANAGE_ADMINS, B, target_rank=0)


def test_domain_admin_cannot_touch_the_domain_entry_itself() -> None:
    assert not can(dom_a, Verb.DELETE, A, kind=Kind.DOMAIN)
    assert not can(dom_a, Verb.CHANGE, A, kind=Kind.DOMAIN)


def test_no_configuration_for_delegated_roles() -> None:
    for actor in (dom_a, grp, user):
        assert not can(actor, Verb.CONFIGURE, "cn=config")


def test_group_admin_creates_and_deletes_users_in_own_group_only() -> None:
    assert can(grp, Verb.CREATE, SALES, kind=Kind.USER)
    assert not can(grp, Verb.CREATE, SALES, kind=Kind.GROUP)
    assert can(grp, Verb.DELETE, BOB, kind=Kind.USER)
    assert not can(grp, Verb.DELETE, ALICE, kind=Kind.USER)
    assert not can(grp, Verb.DELETE, SALES, kind=Kind.GROUP)


def test_user_sees_self_and_changes_own_password_only() -> None:
    assert can(user, Verb.VIEW, BOB)
    assert can(user, Verb.CHANGE_OWN_PASSWORD, BOB)
    assert not can(user, Verb.CHANGE_OWN_PASSWORD, ALICE)
    assert not can(user, Verb.VIEW, ALICE)
    assert not can(user, Verb.SET_PASSWORD, BOB)
