"""Account services (menu Accounts): every write to domains, containers, accounts and roles goes through here.

Keyword-only, named `<entity>_<action>`, each writes an audit row. Permission checks belong to the views
(`mailadmin.permissions`); these functions check only what keeps the tree well-formed (names, placement).
A user is an LDAP entry, a password and a mailbox: no transaction spans slapd and Cyrus, so every service
that writes more than once runs journaled (journal.py): a row with the planned steps, each step marked done,
the done ones undone in reverse order when a later step fails (then the original error is re-raised), and
what a crashed process left finished or undone by the drift check (journal_repair.py).
Errors: InvalidName (bad input, nothing sent), DirectoryError subclasses, ImapError subclasses.
"""

from accounts.services.containers import domain_create, group_create
from accounts.services.roles import (
    administrator_add,
    administrator_remove,
    domain_admin_add,
    domain_admin_remove,
    group_admin_add,
    group_admin_remove,
)
from accounts.services.users import user_create, user_delete, user_set_password

__all__ = [
    "administrator_add",
    "administrator_remove",
    "domain_admin_add",
    "domain_admin_remove",
    "domain_create",
    "group_admin_add",
    "group_admin_remove",
    "group_create",
    "user_create",
    "user_delete",
    "user_set_password",
]
