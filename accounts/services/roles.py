"""Roles: administrators (ACC-12), domain administrators (ACC-13), group administrators (ACC-14)."""

from __future__ import annotations

from accounts.services.common import audited, get_account, get_group
from mailadmin import directory
from mailadmin.actor import Actor
from mailadmin.directory import (
    InvalidName,
    dit,
)


def _add_dn_value(actor: Actor, action: str, target: str, attr: str, account_dn: str) -> None:
    get_account(account_dn)
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


def domain_admin_add(*, actor: Actor, domain: str, account_dn: str) -> None:
    """Make an account a domain administrator (mailAdministrator on the domain entry)."""
    _add_dn_value(actor, "domain_admin_add", dit.domain_dn(domain), "mailAdministrator", account_dn)


def domain_admin_remove(*, actor: Actor, domain: str, account_dn: str) -> None:
    _remove_dn_value(actor, "domain_admin_remove", dit.domain_dn(domain), "mailAdministrator", account_dn)


def group_admin_add(*, actor: Actor, group_dn: str, account_dn: str) -> None:
    """Make an account a group administrator (mailAdministrator on the group entry)."""
    get_group(group_dn)
    _add_dn_value(actor, "group_admin_add", group_dn, "mailAdministrator", account_dn)


def group_admin_remove(*, actor: Actor, group_dn: str, account_dn: str) -> None:
    get_group(group_dn)
    _remove_dn_value(actor, "group_admin_remove", group_dn, "mailAdministrator", account_dn)


def administrator_add(*, actor: Actor, account_dn: str) -> None:
    """Make an account an administrator (member of cn=administrators,ou=roles)."""
    _add_dn_value(actor, "administrator_add", dit.administrators_group_dn(), "member", account_dn)


def administrator_remove(*, actor: Actor, account_dn: str) -> None:
    _remove_dn_value(actor, "administrator_remove", dit.administrators_group_dn(), "member", account_dn)
