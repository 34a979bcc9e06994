"""Where an account stands right now: does it exist, is it disabled, when did its password change, what
does it administer. Read on every request of a console session, so a disabled account, a reset password or a
role taken away takes effect at the next click (not after a cache expires).

One round trip: the three searches are sent together on the pooled connection and their answers read after.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ldap
from ldap.ldapobject import LDAPObject

from mailadmin.actor import Roles
from mailadmin.directory import dit
from mailadmin.directory.connection import run
from mailadmin.directory.entries import Entry
from mailadmin.directory.roles import ADMINISTERED_FILTER, roles_from
from mailadmin.directory.search import filter_and, filter_eq

# ppolicy's "locked by an administrator until unlocked" (draft-behera-ldap-password-policy 5.3.3): how the
# console disables an account that has no mailEnabled (a console-only administrator in ou=admins).
LOCKED_FOREVER = "000001010000Z"
STANDING_ATTRS = ["objectClass", "mailEnabled", "pwdAccountLockedTime", "pwdChangedTime"]


@dataclass(frozen=True)
class Standing:
    exists: bool
    disabled: bool = False
    password_changed: str = ""  # ppolicy's pwdChangedTime ("" when the server keeps none)
    roles: Roles = Roles()

    @property
    def may_log_in(self) -> bool:
        return self.exists and not self.disabled


def entry_disabled(entry: Entry) -> bool:
    """Disabled in the console's sense: mailEnabled FALSE (mail accounts: IMAP, SMTP AUTH and delivery stop
    too) or locked by an administrator (ppolicy: every bind is refused)."""
    return (
        entry.first("mailEnabled").upper() == "FALSE" or entry.first("pwdAccountLockedTime") == LOCKED_FOREVER
    )


def _collect(conn: LDAPObject, msgid: int) -> list[Entry]:
    try:
        _type, data, _msgid, _ctrls = conn.result3(msgid)
    except ldap.NO_SUCH_OBJECT:
        return []
    return [Entry.from_ldap(dn, raw) for dn, raw in data if dn is not None]


def standing_for(dn: str) -> Standing:
    """The account `dn` as the console must treat it on this request (see the module doc)."""
    if not dn or not dit.valid_dn(dn) or dit.same_dn(dn, dit.base_dn()):
        return Standing(exists=False)

    def op(conn: LDAPObject) -> tuple[list[Entry], list[Entry], list[Entry]]:
        sent: list[Any] = [
            conn.search_ext(dn, ldap.SCOPE_BASE, "(objectClass=*)", STANDING_ATTRS, sizelimit=1),
            conn.search_ext(
                dit.administrators_group_dn(), ldap.SCOPE_BASE, filter_eq("member", dn), ["1.1"], sizelimit=1
            ),
            conn.search_ext(
                dit.domains_dn(),
                ldap.SCOPE_SUBTREE,
                filter_and(filter_eq("mailAdministrator", dn), ADMINISTERED_FILTER),
                ["objectClass"],
            ),
        ]
        # Every answer is read even when one fails, so none is left waiting on the pooled connection.
        results: list[list[Entry]] = []
        failure: ldap.LDAPError | None = None
        for msgid in sent:
            try:
                results.append(_collect(conn, msgid))
            except ldap.LDAPError as exc:
                failure = failure or exc
                results.append([])
        if failure is not None:
            raise failure
        return results[0], results[1], results[2]

    entry, admin_group, administered = run(op, what="read", dn=dn)
    if not entry:
        return Standing(exists=False)
    account = entry[0]
    roles = roles_from(administrator=bool(admin_group), administered=administered)
    return Standing(
        exists=True,
        disabled=entry_disabled(account),
        password_changed=account.first("pwdChangedTime"),
        roles=roles,
    )
