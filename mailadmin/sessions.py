"""What the console keeps in a login session, in one place."""

from __future__ import annotations

from mailadmin.actor import Roles

SESSION_DN = "mailadmin.dn"
SESSION_ROLES = "mailadmin.roles"
SESSION_ROLES_AT = "mailadmin.roles_at"
SESSION_EPOCH = "mailadmin.epoch"
MUST_CHANGE_PASSWORD = "must_change_password"  # noqa: S105 — a session key


def load_roles(dn: str) -> Roles:
    from mailadmin.directory import roles_for

    return roles_for(dn)
