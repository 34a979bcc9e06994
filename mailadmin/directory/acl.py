"""slapd's access rules for private containers (ACC-03), rewritten live in cn=config.

The rules are derived from the data: every domain, organization or group with `mailPrivate: TRUE` gets one
rule (rendered by `mailadmin.configfiles.slapd_acl.access_rules`, the same function that writes the bootstrap
LDIF). A change replaces the mdb database's whole `olcAccess` list in ONE modify, so slapd switches from the
old list to the new one with no moment in between.

The console reaches cn=config on its own connection: `LDAP_CONFIG_URI` (the stack's `ldapi://` socket, where
root authenticates by SASL EXTERNAL) or, with `LDAP_CONFIG_DN`/`LDAP_CONFIG_PASSWORD`, a simple bind.
"""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import ldap
import ldap.dn
from django.conf import settings
from ldap.ldapobject import LDAPObject

from mailadmin.configfiles import ConfigValueError, slapd_acl
from mailadmin.directory import dit
from mailadmin.directory.connection import open_connection
from mailadmin.directory.errors import DirectoryError, DirectoryRefused, DirectoryUnavailable, translate
from mailadmin.directory.search import NO_ATTRS, filter_eq, search

PRIVATE_FILTER = "(&(mailPrivate=TRUE)(|(objectClass=mailDomain)(objectClass=mailContainer)))"
# Each private container is one more rule slapd walks for every entry it returns; far beyond this the
# directory would be slow for everyone, so the console says so instead of writing the list.
MAX_PRIVATE_CONTAINERS = 1000


class AclMismatch(DirectoryRefused):
    """The server's olcAccess list is not the one the console renders: it is not overwritten."""


@dataclass(frozen=True)
class AccessState:
    database_dn: str
    live: list[str]
    wanted: list[str]

    @property
    def in_sync(self) -> bool:
        return self.live == self.wanted


def service_dns() -> list[str]:
    return [str(dn) for dn in settings.LDAP_SERVICE_DNS]


def acl_dn(dn: str, *, domains_dn: str = "") -> str:
    """A private container's DN, checked and spelled for a rule (every special byte hex-escaped).

    The DN comes from the directory, but it is still checked: it must parse, sit strictly inside ou=domains
    and have single-valued RDNs. Escaping then makes any value (quotes, commas, parentheses) inert.
    `domains_dn` is for callers without Django settings (the private stack, before the console runs).
    """
    domains = domains_dn or dit.domains_dn()
    if not dit.is_inside(dn, domains, strict=True):
        raise DirectoryRefused(f"{dn!r} is not a container inside {domains}.")
    parsed = ldap.dn.str2dn(dn)
    if any(len(rdn) != 1 for rdn in parsed):
        raise DirectoryRefused(f"{dn!r} has a multi-valued RDN; private containers never do.")
    try:
        return slapd_acl.acl_dn([(attr, value) for ((attr, value, _flags),) in parsed])
    except ConfigValueError as exc:
        raise DirectoryRefused(f"{dn!r} cannot be written into an access rule: {exc}") from exc


def private_containers() -> list[str]:
    """DNs of every private domain, organization and group, as the server spells them, sorted."""
    entries = search(dit.domains_dn(), PRIVATE_FILTER, NO_ATTRS, limit=MAX_PRIVATE_CONTAINERS)
    return sorted({entry.dn for entry in entries}, key=str.lower)


def relocated(dn: str, old_base: str, new_base: str) -> str:
    """Where `dn` (at or below `old_base`) lands when `old_base` is renamed or moved to `new_base`."""
    if not dit.is_inside(dn, old_base):
        raise DirectoryRefused(f"{dn!r} is not inside {old_base!r}.")
    parsed = ldap.dn.str2dn(dn)
    keep = len(parsed) - len(ldap.dn.str2dn(old_base))
    return str(ldap.dn.dn2str([*parsed[:keep], *ldap.dn.str2dn(new_base)]))


def private_containers_from_ldif(text: str) -> list[str]:
    """The DNs in `slapcat` output (how the private stack learns them while slapd is still stopped)."""
    found = []
    for line in text.splitlines():
        if line.startswith("dn:: "):
            found.append(base64.b64decode(line[5:].strip()).decode("utf-8"))
        elif line.startswith("dn: "):
            found.append(line[4:].strip())
    return sorted(set(found), key=str.lower)


def access_list(private_dns: Iterable[str]) -> list[str]:
    """The whole olcAccess list for these private containers (no {n} prefixes)."""
    try:
        return slapd_acl.access_rules(
            service_dns=service_dns(), private_containers=[acl_dn(dn) for dn in private_dns]
        )
    except ConfigValueError as exc:
        raise DirectoryRefused(f"The access rules cannot be rendered: {exc}") from exc


@contextmanager
def config_connection() -> Iterator[LDAPObject]:
    """A connection allowed to change cn=config (never pooled: it carries the server's highest rights)."""
    uri = str(settings.LDAP_CONFIG_URI or "")
    if not uri:
        raise DirectoryUnavailable(
            "LDAP_CONFIG_URI is not set, so the console cannot apply the access rules of private "
            "containers (see docs/deploy.md).",
            permanent=True,
        )
    try:
        conn = open_connection(uri, timeout=float(settings.LDAP_TIMEOUT), starttls=False)
        if settings.LDAP_CONFIG_DN:
            conn.simple_bind_s(str(settings.LDAP_CONFIG_DN), str(settings.LDAP_CONFIG_PASSWORD or ""))
        else:
            conn.sasl_non_interactive_bind_s("EXTERNAL")
    except ldap.INVALID_CREDENTIALS as exc:
        raise DirectoryUnavailable(
            "The console cannot log in to cn=config: LDAP_CONFIG_DN or LDAP_CONFIG_PASSWORD is wrong.",
            permanent=True,
        ) from exc
    except ldap.LDAPError as exc:
        raise translate(exc, what="cn=config login") from exc
    try:
        yield conn
    finally:
        with contextlib.suppress(ldap.LDAPError):  # already gone: nothing to close
            conn.unbind_ext_s()


def _strip_index(value: bytes) -> str:
    text = value.decode("utf-8")
    if text.startswith("{"):
        text = text[text.index("}") + 1 :]
    return text


def _database(conn: LDAPObject) -> tuple[str, list[str]]:
    """DN of the database holding LDAP_BASE_DN and its olcAccess list, in order."""
    base = dit.base_dn()
    try:
        found = conn.search_ext_s(
            "cn=config", ldap.SCOPE_ONELEVEL, filter_eq("olcSuffix", base), ["olcAccess"], sizelimit=2
        )
    except ldap.LDAPError as exc:
        raise translate(exc, what="cn=config search") from exc
    found = [(dn, attrs) for dn, attrs in found if dn]
    if len(found) != 1:
        raise DirectoryError(f"cn=config has {len(found)} databases for {base}; expected one.")
    dn, attrs = found[0]
    values = attrs.get("olcAccess", [])

    # X-ORDERED values come back in order with their {n}; sort by n anyway rather than trust transport.
    def index(raw: bytes) -> int:
        return int(raw[1 : raw.index(b"}")]) if raw.startswith(b"{") else 0

    return dn, [_strip_index(raw) for raw in sorted(values, key=index)]


def access_state(private_dns: Iterable[str] | None = None) -> AccessState:
    """The live list next to the wanted one (for the drift check and the reconcile page)."""
    wanted = access_list(private_containers() if private_dns is None else private_dns)
    with config_connection() as conn:
        dn, live = _database(conn)
    return AccessState(dn, live, wanted)


def _check_ours(live: list[str], wanted: list[str]) -> None:
    """Refuse to overwrite rules the console did not write: everything but the private-container rules
    must be what it renders. (An operator's own rules would otherwise vanish without a word.)"""
    base_live = [rule for rule in live if slapd_acl.private_rule_container(rule) is None]
    base_wanted = [rule for rule in wanted if slapd_acl.private_rule_container(rule) is None]
    if base_live != base_wanted:
        raise AclMismatch(
            "The access rules (olcAccess) of the directory database are not the ones the console writes "
            "(edited by hand, or LDAP_SERVICE_DNS differs from the server); they were left as they are. "
            "See docs/deploy.md, 'Private containers'."
        )


def access_apply(private_dns: Iterable[str]) -> bool:
    """Make slapd's olcAccess list the one for `private_dns`. Returns False when it was already that.

    One modify replaces the whole list: slapd applies it atomically (the old list stays if it refuses).
    """
    wanted = access_list(private_dns)
    with config_connection() as conn:
        dn, live = _database(conn)
        if live == wanted:
            return False
        _check_ours(live, wanted)
        values = [f"{{{i}}}{rule}".encode() for i, rule in enumerate(wanted)]
        try:
            conn.modify_ext_s(dn, [(ldap.MOD_REPLACE, "olcAccess", values)])
        except ldap.LDAPError as exc:
            raise translate(exc, what="access rule change", dn=dn) from exc
    return True


def access_modify_ldif(private_dns: Iterable[str] | None = None, *, database_dn: str = "") -> str:
    """The LDIF an operator applies once (`ldapmodify -Y EXTERNAL -H ldapi:///`) to install the rules the
    console then maintains. `database_dn` defaults to `olcDatabase={1}mdb,cn=config`."""
    wanted = access_list(private_containers() if private_dns is None else private_dns)
    lines = [
        f"dn: {database_dn or 'olcDatabase={1}mdb,cn=config'}",
        "changetype: modify",
        "replace: olcAccess",
    ]
    lines += [f"olcAccess: {{{i}}}{rule}" for i, rule in enumerate(wanted)]
    return "\n".join(lines) + "\n"


__all__ = [
    "MAX_PRIVATE_CONTAINERS",
    "PRIVATE_FILTER",
    "AccessState",
    "AclMismatch",
    "access_apply",
    "access_list",
    "access_modify_ldif",
    "access_state",
    "acl_dn",
    "config_connection",
    "private_containers",
    "private_containers_from_ldif",
    "relocated",
]
