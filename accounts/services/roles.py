"""Roles: administrators (ACC-12), domain administrators (ACC-13), group administrators (ACC-14).

The rank rule lives here as well as in the views, on purpose: granting roles is where a console lets someone
raise themselves (the Mailu #2685 class of bug), so every role service asks `may_*` for its actor before it
writes, whoever calls it (a view, a job, a command). Views ask the same functions first to answer 404 or a
clear message; these checks are the second line, not the only one.

Rules (ranks: administrator 3 > domain administrator 2 > group administrator 1 > user 0):
- nobody grants a role above their own, nor edits or removes someone of an equal or higher rank, except
  that domain administrators appoint and remove the other domain administrators of their own domains
  (never an administrator's role there);
- administrators add administrators; only the manager account `admin` removes other administrators;
  anyone may drop their own role after confirming; the last administrator and the manager stay;
- a domain administrator is an account inside the domain (administrators may also pick a console-only
  account from ou=admins); a group administrator is an account inside the group (the pages offer only
  those; the service holds domain administrators to it, administrators are not limited there).
"""

from __future__ import annotations

from accounts.selectors.people import account_rank
from accounts.services import ensure
from accounts.services.common import MAX_PERSON_NAME, check_new_password, get_group
from accounts.services.journal import Data, Journal, Step, journal_kind
from accounts.services.users import user_create
from mailadmin import directory
from mailadmin.actor import Actor
from mailadmin.audit.services import audited
from mailadmin.directory import (
    DirectoryNotFound,
    DirectoryRefused,
    InvalidName,
    check_login,
    check_value,
    dit,
    filter_and,
    filter_eq,
)
from mailadmin.permissions import Verb, can

MANAGER_UID = dit.MANAGER_UID


class RoleRefused(DirectoryRefused):
    """The console refuses a role change (rank rule, last administrator, unconfirmed self-removal)."""


# --- selectors -------------------------------------------------------------------------------------------


def manager_dn() -> str:
    """The manager account made at installation (ACC-15): `uid=admin,ou=admins`."""
    return dit.manager_dn()


def is_manager(actor: Actor) -> bool:
    """The console itself (system actor) counts as the manager; so does `uid=admin,ou=admins`."""
    if actor.is_system:
        return actor.roles.administrator
    return bool(actor.dn) and actor.roles.administrator and dit.same_dn(actor.dn, manager_dn())


def rank_of(dn: str) -> int:
    return account_rank(dn=dn)


def account_by_login(login: str, *, base: str) -> directory.Entry | None:
    """The account with login name `login` below `base` (uid is unique server-wide, so 0 or 1 entry).
    Resources (rooms, projectors) are accounts too, but administer nothing: they are not found here."""
    uid = check_login(login, "login")
    found = directory.search(
        base,
        filter_and(filter_eq("uid", uid), "(objectClass=inetOrgPerson)", "(!(objectClass=mailResource))"),
        ["uid", "cn", "objectClass"],
    )
    accounts = [e for e in found if directory.is_account(e)]
    return accounts[0] if len(accounts) == 1 else None


def _is_self(actor: Actor, account_dn: str) -> bool:
    return bool(actor.dn) and dit.same_dn(actor.dn, account_dn)


def may_add_administrator(actor: Actor, account_dn: str) -> bool:
    # Equal rank is the highest there is: an administrator may make another one, nobody else may.
    return actor.roles.administrator and dit.valid_dn(account_dn)


def may_remove_administrator(actor: Actor, account_dn: str) -> bool:
    if not actor.roles.administrator or dit.same_dn(account_dn, manager_dn()):
        return False
    return is_manager(actor) or _is_self(actor, account_dn)


def may_manage_domain_admins(actor: Actor, domain: str) -> bool:
    return can(actor, Verb.MANAGE_ADMINS, dit.domain_dn(domain))


def _domain_admin_placement_ok(actor: Actor, domain_dn: str, account_dn: str) -> bool:
    if dit.is_inside(account_dn, domain_dn, strict=True):
        return True
    return actor.roles.administrator and dit.is_inside(account_dn, dit.admins_dn(), strict=True)


def may_grant_domain_admin(actor: Actor, domain: str, account_dn: str, account_rank: int) -> bool:
    domain_dn = dit.domain_dn(domain)
    if not _domain_admin_placement_ok(actor, domain_dn, account_dn):
        return False
    if _is_self(actor, account_dn) and not actor.roles.administrator:
        return False  # a domain administrator already holds the role where they may grant it
    return can(actor, Verb.MANAGE_ADMINS, domain_dn, target_rank=account_rank)


def may_revoke_domain_admin(actor: Actor, domain: str, account_dn: str, account_rank: int) -> bool:
    # can() caps target_rank at 2 for domain administrators: an administrator's role there is not theirs.
    return can(actor, Verb.MANAGE_ADMINS, dit.domain_dn(domain), target_rank=account_rank)


def may_manage_group_admins(actor: Actor, group_dn: str) -> bool:
    """Administrators, and the domain administrators of the group's domain (not group administrators)."""
    if not dit.valid_dn(group_dn) or dit.domain_of(group_dn) is None:
        return False
    if actor.roles.administrator:
        return True
    return any(dit.is_inside(group_dn, d, strict=True) for d in actor.roles.domains)


def may_grant_group_admin(actor: Actor, group_dn: str, account_dn: str, account_rank: int) -> bool:
    if not may_manage_group_admins(actor, group_dn):
        return False
    if actor.roles.administrator:
        # Nobody outranks them, so placement is a matter of the page (it offers the group's members only);
        # scripts and older callers may appoint an account of the same domain.
        return dit.valid_dn(account_dn)
    if not dit.is_inside(account_dn, group_dn, strict=True) or _is_self(actor, account_dn):
        return False
    return account_rank < actor.roles.rank


def may_revoke_group_admin(actor: Actor, group_dn: str, account_dn: str, account_rank: int) -> bool:
    if not may_manage_group_admins(actor, group_dn):
        return False
    if actor.roles.administrator or _is_self(actor, account_dn):
        return True
    return account_rank < actor.roles.rank


# --- how each step of the administrator role is finished or undone (accounts/services/journal.py) --------
# The role is membership of cn=administrators and the administrators' password policy (decision 0011): an
# account must never keep that policy without the role, nor the role without it.


def _role_given(data: Data, _actor: Actor) -> None:
    ensure.values(dit.administrators_group_dn(), "member", present=[data["dn"]], dn_valued=True)


def _role_taken(data: Data, _actor: Actor) -> None:
    ensure.values(dit.administrators_group_dn(), "member", absent=[data["dn"]], dn_valued=True)


def _admin_policy(data: Data, _actor: Actor) -> None:
    directory.admin_policy_ensure()
    directory.policy_assign(data["dn"], administrator=True)


def _default_policy(data: Data, _actor: Actor) -> None:
    directory.policy_assign(data["dn"], administrator=False)


def _administrator(data: Data, actor: Actor) -> None:
    _role_given(data, actor)
    _admin_policy(data, actor)


def _account_gone(data: Data, _actor: Actor) -> None:
    ensure.deleted(data["dn"])  # refint takes its role with it


ADMINISTRATOR_ADD = journal_kind(
    "administrator_add",
    {
        "role": Step(redo=_role_given, undo=_role_taken),
        "policy": Step(redo=_admin_policy, undo=_default_policy),
    },
)
ADMINISTRATOR_REMOVE = journal_kind(
    "administrator_remove",
    {
        "policy": Step(redo=_default_policy, undo=_admin_policy),
        "role": Step(redo=_role_taken, undo=_role_given),
    },
)
ADMINISTRATOR_CREATE = journal_kind(
    "administrator_create",
    {
        # user_create's own row (a child of this one) has the entry's steps; its password is never stored.
        "account": Step(redo=None, undo=_account_gone),
        "administrator": Step(redo=_administrator, undo=_role_taken),
    },
    remakes=True,
)


# --- services --------------------------------------------------------------------------------------------


def _refuse_unless(allowed: bool, message: str) -> None:
    if not allowed:
        raise RoleRefused(message)


def _confirm_self(actor: Actor, account_dn: str, confirmed: bool) -> None:
    if _is_self(actor, account_dn) and not confirmed:
        raise RoleRefused("Confirm that you want to give up your own role: you lose its rights at once.")


def _add_dn_value(actor: Actor, action: str, target: str, attr: str, account_dn: str) -> None:
    directory.get_account(account_dn)
    # A second grant is refused by slapd (DirectoryConflict: the entry already has this value).
    audited(
        actor,
        action,
        target,
        {attr: account_dn},
        lambda: directory.modify(target, [directory.add_values(attr, account_dn)]),
    )


def _remove_dn_value(actor: Actor, action: str, target: str, attr: str, account_dn: str) -> None:
    if not dit.valid_dn(account_dn):
        raise InvalidName("This is not a valid directory name (DN).", "account_dn")
    audited(
        actor,
        action,
        target,
        {attr: account_dn},
        lambda: directory.modify(target, [directory.delete_values(attr, account_dn)]),
    )


def _holds(values: list[str], account_dn: str) -> bool:
    return any(dit.same_dn(v, account_dn) for v in values)


def domain_admin_add(*, actor: Actor, domain: str, account_dn: str) -> None:
    """Make an account a domain administrator (mailAdministrator on the domain entry)."""
    domain_dn = dit.domain_dn(domain)
    _refuse_unless(
        may_grant_domain_admin(actor, domain, account_dn, rank_of(account_dn)),
        "You may appoint as domain administrator only an account inside this domain that does not "
        "outrank you.",
    )
    _add_dn_value(actor, "domain_admin_add", domain_dn, "mailAdministrator", account_dn)


def domain_admin_remove(*, actor: Actor, domain: str, account_dn: str, confirmed: bool = False) -> None:
    domain_dn = dit.domain_dn(domain)
    _refuse_unless(
        may_revoke_domain_admin(actor, domain, account_dn, rank_of(account_dn)),
        "You may not remove the role of an account that outranks you.",
    )
    if not _holds(directory.domain_admins(domain), account_dn):
        raise DirectoryNotFound("This account is not a domain administrator of this domain.")
    _confirm_self(actor, account_dn, confirmed)
    _remove_dn_value(actor, "domain_admin_remove", domain_dn, "mailAdministrator", account_dn)


def group_admin_add(*, actor: Actor, group_dn: str, account_dn: str) -> None:
    """Make an account a group administrator (mailAdministrator on the group entry)."""
    get_group(group_dn)
    _refuse_unless(
        may_grant_group_admin(actor, group_dn, account_dn, rank_of(account_dn)),
        "You may appoint as group administrator only an account inside this group that you outrank.",
    )
    _add_dn_value(actor, "group_admin_add", group_dn, "mailAdministrator", account_dn)


def group_admin_remove(*, actor: Actor, group_dn: str, account_dn: str, confirmed: bool = False) -> None:
    get_group(group_dn)
    _refuse_unless(
        may_revoke_group_admin(actor, group_dn, account_dn, rank_of(account_dn)),
        "You may not remove the role of an account that you do not outrank.",
    )
    if not _holds(directory.group_admins(group_dn), account_dn):
        raise DirectoryNotFound("This account is not a group administrator of this group.")
    _confirm_self(actor, account_dn, confirmed)
    _remove_dn_value(actor, "group_admin_remove", group_dn, "mailAdministrator", account_dn)


def administrator_add(*, actor: Actor, account_dn: str) -> None:
    """Make an account an administrator: member of cn=administrators,ou=roles, and under the no-lockout
    policy (decision 0011). Journaled: without the policy the role is taken back."""
    _refuse_unless(may_add_administrator(actor, account_dn), "Only administrators appoint administrators.")
    account = directory.get_account(account_dn)
    group = dit.administrators_group_dn()
    data = {"dn": account.dn}

    def work() -> None:
        with Journal.begin(actor, ADMINISTRATOR_ADD, account_dn, ["role", "policy"], data) as journal:
            # A second grant is refused by slapd (DirectoryConflict: the entry already has this value).
            journal.step(
                "role", lambda: directory.modify(group, [directory.add_values("member", account_dn)])
            )
            journal.step("policy", lambda: _admin_policy(data, actor))

    audited(actor, "administrator_add", group, {"member": account_dn}, work)


def administrator_remove(*, actor: Actor, account_dn: str, confirmed: bool = False) -> None:
    """Take the administrator role away. Only the manager removes others; the last one always stays."""
    _refuse_unless(
        may_remove_administrator(actor, account_dn),
        "Only the manager account admin removes other administrators, and its own role stays.",
    )
    current = directory.administrators()
    if not _holds(current, account_dn):
        raise DirectoryNotFound("This account is not an administrator.")
    if not [a for a in current if not dit.same_dn(a, account_dn)]:
        raise RoleRefused("This is the last administrator: appoint another one first.")
    _confirm_self(actor, account_dn, confirmed)
    if not dit.valid_dn(account_dn):
        raise InvalidName("This is not a valid directory name (DN).", "account_dn")
    group = dit.administrators_group_dn()
    data = {"dn": account_dn}

    def work() -> None:
        # Back under the default policy (lockout) first: an account must never keep the administrators'
        # policy without the role.
        with Journal.begin(actor, ADMINISTRATOR_REMOVE, account_dn, ["policy", "role"], data) as journal:
            journal.step("policy", lambda: _default_policy(data, actor))
            journal.step(
                "role", lambda: directory.modify(group, [directory.delete_values("member", account_dn)])
            )

    audited(actor, "administrator_remove", group, {"member": account_dn}, work)


def administrator_create(
    *, actor: Actor, uid: str, password: str, last_name: str, first_name: str = ""
) -> str:
    """A console-only administrator: an account in ou=admins (no address, no mailbox) with the role.

    Two steps (the entry, then the role), journaled: if the role cannot be given, the new entry is deleted
    again so no orphan login is left behind. Returns the DN."""
    _refuse_unless(actor.roles.administrator, "Only administrators appoint administrators.")
    check_value(last_name, "last_name", max_length=MAX_PERSON_NAME, required=True)
    check_new_password(password)  # refused input writes no journal row
    dn = dit.account_dn(dit.admins_dn(), check_login(uid))
    data = {"dn": dn}
    with Journal.begin(actor, ADMINISTRATOR_CREATE, dn, ["account", "administrator"], data) as journal:
        journal.step(
            "account",
            lambda: user_create(
                actor=actor,
                container_dn=dit.admins_dn(),
                uid=uid,
                password=password,
                last_name=last_name,
                first_name=first_name,
                create_mailbox=False,
            ),
        )
        journal.step("administrator", lambda: administrator_add(actor=actor, account_dn=dn))
    return dn
