"""Aliases of a domain as names: the objectClasses, the attributes the pages read, the limits, and where an
alias lives in the tree (`cn=<name>,ou=aliases,dc=<domain>,ou=domains,$BASE`). Pure: no directory access."""

from __future__ import annotations

from mailadmin.directory import InvalidName, check_address, check_domain, dit, escape_dn

ALIAS_CLASSES = ("nisMailAlias", "mailAliasEntry")
ALIAS_FILTER = "(objectClass=mailAliasEntry)"
ALIAS_ATTRS = (
    "objectClass",
    "cn",
    "mail",
    "rfc822MailMember",
    "mailAliasOwner",
    "mailAliasOpen",
    "mailAliasRestricted",
    "description",
)
MAX_MEMBERS = 1000
MAX_OWNERS = 50
MAX_DESCRIPTION = 256
MAX_NESTING_LOOKUPS = 2000  # aliases looked at while searching for a loop; more is refused, not guessed


def check_alias_address(name: str, domain: str) -> str:
    """`name@domain`, lower-case; the name is a conservative local part (no `*`, quotes, `@`, spaces)."""
    domain = check_domain(domain)
    if not isinstance(name, str) or not name or "@" in name:
        raise InvalidName(
            "An alias name is the part before the @: letters, digits, '.', '_', '+' and '-'.", "name"
        )
    try:
        return check_address(f"{name}@{domain}", "name")
    except InvalidName as exc:
        raise InvalidName(
            "An alias name is the part before the @: letters, digits, '.', '_', '+' and '-' "
            "(no leading, trailing or double dots).",
            "name",
        ) from exc


def alias_dn(domain: str, name: str) -> str:
    address = check_alias_address(name, domain)
    return f"cn={escape_dn(address.partition('@')[0])},{dit.aliases_dn(domain)}"


def is_alias_dn(dn: str) -> bool:
    """Shape only: `cn=...,ou=aliases,dc=<domain>,ou=domains,$BASE`."""
    domain = dit.domain_of(dn)
    if not domain or not dit.valid_dn(dn):
        return False
    parent = dit.parent_dn(dn)
    return dit.same_dn(parent, dit.aliases_dn(domain)) and dn.lower().startswith("cn=")
