"""The olcAccess rules of the directory's database: rendered into the bootstrap LDIF (slapd.py) and written
live by the directory gateway (mailadmin/directory/acl.py), so a restart and a change in the console give
slapd the same rules."""

from __future__ import annotations

import re
from collections.abc import Sequence

from mailadmin.configfiles import values as v

PEERCRED_ROOT = "gidNumber=0+uidNumber=0,cn=peercred,cn=external,cn=auth"
# attribute types, one or several separated by commas (also the form of an olcDbIndex attribute list)
ATTRIBUTE_LIST = re.compile(r"[A-Za-z][A-Za-z0-9-]*(?:,[A-Za-z][A-Za-z0-9-]*)*")

# Operational attributes of slapo-ppolicy (2.5) that the service accounts may read: saslauthd and the console
# need to see a lockout; nobody else needs them.
PPOLICY_STATE_ATTRS = (
    "pwdChangedTime",
    "pwdAccountLockedTime",
    "pwdFailureTime",
    "pwdHistory",
    "pwdGraceUseTime",
    "pwdReset",
    "pwdPolicySubentry",
    "pwdStartTime",
    "pwdEndTime",
    "pwdLastSuccess",
)


# A DN as `acl_dn` spells it: attribute types, and values of letters, digits, `.`, `_`, `-` or \\XX escapes.
# No quote, space, comma-in-a-value or parenthesis can appear, so the DN cannot end the quoted clause early.
_ACL_VALUE = r"(?:[A-Za-z0-9._-]|\\[0-9a-f]{2})+"
_ACL_RDN = rf"[A-Za-z][A-Za-z0-9-]*={_ACL_VALUE}"
_ACL_DN = re.compile(rf"{_ACL_RDN}(?:,{_ACL_RDN})*")
_ACL_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")


def acl_dn(rdns: Sequence[tuple[str, str]]) -> str:
    """Spell a parsed DN (one `(type, value)` per RDN, values unescaped) for an olcAccess `dn.*="..."`.

    Every byte of a value outside [A-Za-z0-9._-] becomes an RFC 4514 `\\XX` escape. slapd normalises the DN
    when it parses the rule, so the rule matches the entry however its name is spelled elsewhere, and a value
    like `x" by * write` stays one harmless value.
    """
    if not rdns:
        raise v.ConfigValueError("acl_dn", "must have at least one RDN")
    parts = []
    for i, (attr, value) in enumerate(rdns):
        v.text(f"acl_dn[{i}].type", attr, pattern=ATTRIBUTE_LIST)
        if "," in attr or not isinstance(value, str) or not value:
            raise v.ConfigValueError(f"acl_dn[{i}]", "must be one attribute type and a non-empty value", attr)
        escaped = "".join(
            ch if ch in _ACL_SAFE else "".join(f"\\{b:02x}" for b in ch.encode("utf-8")) for ch in value
        )
        parts.append(f"{attr}={escaped}")
    return ",".join(parts)


def _acl_dn_checked(name: str, dn: str) -> str:
    checked = v.text(name, dn, max_length=2048)
    if not _ACL_DN.fullmatch(checked):
        raise v.ConfigValueError(name, "must be a DN spelled by acl_dn (letters, digits, ._- and \\XX)", dn)
    return checked


def access_rules(*, service_dns: Sequence[str], private_containers: Sequence[str] = ()) -> list[str]:
    """The mdb database's olcAccess list, in order, without the {n} prefixes.

    The same function feeds the bootstrap LDIF and the live rewrite (mailadmin.directory.acl), so a restart
    and a change made in the console give slapd the same rules.

    A private container gets `to dn.subtree=C by <services> read by dn.subtree=C read by * none`: the service
    accounts and everyone bound inside C read it; anybody else gets `none`, which also hides the entries'
    existence (no `disclose`: a base read answers noSuchObject). The manager is the rootDN and bypasses ACLs.
    Deeper containers come first, because slapd stops at the first rule whose `to` matches: a private group
    inside a private organization is visible to the group only, the rest of the organization to the
    organization (which includes the group). userPassword and the ppolicy rules come before all of them, so
    binds and password changes work as before for members of private containers.
    """
    services = [v.dn(f"service_dns[{i}]", dn) for i, dn in enumerate(service_dns)]
    readers = "".join(f'by dn.exact="{dn}" read ' for dn in services)
    rules = [
        # local root over ldapi (EXTERNAL) may do anything; everyone else falls through to the next rules
        f'to * by dn.exact="{PEERCRED_ROOT}" manage by * break',
        "to attrs=userPassword by self write by anonymous auth by * none",
        f"to attrs={','.join(PPOLICY_STATE_ATTRS)} {readers}by self read by * none",
    ]
    # Lower case: every naming attribute of the tree compares case-insensitively, and one spelling per
    # container keeps the list stable (the console compares it with the live one before rewriting it).
    containers = {
        _acl_dn_checked(f"private_containers[{i}]", dn).lower() for i, dn in enumerate(private_containers)
    }
    # Values hold no literal comma (acl_dn escapes it), so the comma count is the depth.
    for dn in sorted(containers, key=lambda d: (-d.count(","), d)):
        rules.append(f'to dn.subtree="{dn}" {readers}by dn.subtree="{dn}" read by * none')
    rules.append(f"to * {readers}by users read by * none")
    return rules


_PRIVATE_RULE = re.compile(
    rf'to dn\.subtree="({_ACL_DN.pattern})" (?:by dn\.exact="[^"]*" read )*'
    r'by dn\.subtree="\1" read by \* none'
)


def private_rule_container(rule: str) -> str | None:
    """The container DN of a rule `access_rules` wrote for a private container, else None."""
    match = _PRIVATE_RULE.fullmatch(rule)
    return match.group(1) if match else None
