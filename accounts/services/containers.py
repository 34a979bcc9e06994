"""Domains, organizations, groups (ACC-02, ACC-05, ACC-06)."""

from __future__ import annotations

from accounts.services.common import Undo, audited, get_mail_container
from mailadmin import directory
from mailadmin.actor import Actor
from mailadmin.directory import (
    check_domain,
    dit,
)


def domain_create(*, actor: Actor, name: str) -> str:
    """A mail domain: its entry, its organization of the same name, and its ou=aliases. Returns the DN."""
    domain = check_domain(name)
    domain_dn = dit.domain_dn(domain)
    org_dn = dit.organization_dn(domain, domain)
    aliases_dn = dit.aliases_dn(domain)
    undo = Undo("domain_create", domain_dn)

    def work() -> None:
        try:
            directory.add(domain_dn, {"objectClass": ["domain", "mailDomain"], "dc": domain})
            undo.push("domain entry", lambda: directory.delete(domain_dn))
            directory.add(org_dn, {"objectClass": ["organization", "mailContainer"], "o": domain})
            undo.push("organization", lambda: directory.delete(org_dn))
            directory.add(aliases_dn, {"objectClass": ["organizationalUnit"], "ou": "aliases"})
        except Exception:
            undo.run()
            raise

    audited(actor, "domain_create", domain_dn, {"name": domain}, work)
    return domain_dn


def group_create(*, actor: Actor, parent_dn: str, name: str) -> str:
    """A group (organizationalUnit + mailContainer) in an organization or another group. Returns the DN."""
    dn = dit.group_dn(parent_dn, name)
    get_mail_container(parent_dn)
    audited(
        actor,
        "group_create",
        dn,
        {"name": name},
        lambda: directory.add(dn, {"objectClass": ["organizationalUnit", "mailContainer"], "ou": name}),
    )
    return dn
