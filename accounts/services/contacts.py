"""External contacts (ACC-11): address-book entries without a mailbox, readable by the users' address books.

A contact is `inetOrgPerson + mailContact` named `cn=<full name>` inside an organization or group; two
contacts of the same name in one container get "Name (2)", "Name (3)"... Its address must be external:
mail to a hosted domain belongs to an account or an alias, never to a contact.

Changing a contact's address or deleting it changes the aliases that list it too (membership.py); both run
journaled (accounts/services/journal.py), so a crash between the writes leaves a row the drift check
finishes or undoes.
"""

from __future__ import annotations

from django.conf import settings

from accounts.selectors import get_kind
from accounts.services import ensure
from accounts.services.common import MAX_PERSON_NAME, get_mail_container
from accounts.services.containers import check_description, check_phone
from accounts.services.journal import Data, Journal, Step, journal_kind
from aliases.services import membership
from mailadmin import directory
from mailadmin.actor import Actor
from mailadmin.audit.services import audited
from mailadmin.directory import (
    DirectoryConflict,
    DirectoryNotFound,
    InvalidName,
    check_address,
    check_container_name,
    check_value,
    dit,
    escape_dn,
    filter_eq,
    filter_or,
)
from mailadmin.permissions import Kind

MAX_SAME_NAME = 50
CONTACT_ATTRS = (
    "cn",
    "sn",
    "givenName",
    "mail",
    "o",
    "title",
    "telephoneNumber",
    "mobile",
    "facsimileTelephoneNumber",
    "description",
)


# --- how each step is finished or undone after a crash (accounts/services/journal.py) --------------------


def _renamed(data: Data, _actor: Actor) -> None:
    ensure.renamed(data["dn"], data["new_dn"], data["rdn"])


def _renamed_back(data: Data, _actor: Actor) -> None:
    ensure.renamed(data["new_dn"], data["dn"], data["old_rdn"])


def _entry_gone(data: Data, _actor: Actor) -> None:
    ensure.deleted(data["dn"])


_ALIASES = Step(redo=membership.journal_apply, undo=membership.journal_restore)
CONTACT_UPDATE = journal_kind(
    "contact_update",
    {
        "attributes": Step(redo=ensure.attributes_after, undo=ensure.attributes_before),
        "aliases": _ALIASES,
        "rename": Step(redo=_renamed, undo=_renamed_back),
    },
)
CONTACT_DELETE = journal_kind(
    "contact_delete", {"aliases": _ALIASES, "entry": Step(redo=_entry_gone, undo=None)}, remakes=True
)


def check_external_address(value: str, field: str = "mail") -> str:
    """A valid address whose domain this server does not host (nor its internal mailbox domain)."""
    address = check_address(value, field)
    domain = address.rpartition("@")[2]
    hosted = domain == str(settings.MAILBOX_DOMAIN).lower() or bool(
        directory.search(
            dit.domains_dn(),
            filter_or(filter_eq("dc", domain), filter_eq("mailDomainAlias", domain)),
            directory.NO_ATTRS,
            scope="one",
        )
    )
    if hosted:
        raise InvalidName(
            f"{domain} is a domain of this server: an address there belongs to a user or an alias, "
            "not to an external contact.",
            field,
        )
    return address


def _names(last_name: str, first_name: str) -> tuple[str, str, str]:
    last = check_value(last_name, "last_name", max_length=MAX_PERSON_NAME, required=True).strip()
    first = check_value(first_name, "first_name", max_length=MAX_PERSON_NAME).strip()
    full = f"{first} {last}".strip()
    # The full name becomes the entry's RDN: the container-name allow-list keeps DN specials and markup out.
    check_container_name(full, "last_name" if not first else "first_name")
    return last, first, full


def _fields(
    mail: str, company: str, title: str, phone: str, mobile: str, fax: str, description: str
) -> dict[str, str]:
    return {
        "mail": check_external_address(mail),
        "o": check_value(company, "company", max_length=MAX_PERSON_NAME).strip(),
        "title": check_value(title, "title", max_length=MAX_PERSON_NAME).strip(),
        "telephoneNumber": check_phone(phone, "phone"),
        "mobile": check_phone(mobile, "mobile"),
        "facsimileTelephoneNumber": check_phone(fax, "fax"),
        "description": check_description(description),
    }


def _free_rdn(container_dn: str, full: str, *, keep: str | None = None) -> str:
    """`cn=<full>` or `cn=<full> (n)`: the first that no other entry of the container uses."""
    for n in range(1, MAX_SAME_NAME + 1):
        cn = full if n == 1 else f"{full} ({n})"
        rdn = f"cn={escape_dn(cn)}"
        candidate = f"{rdn},{container_dn}"
        if (keep and dit.same_dn(candidate, keep)) or not directory.exists(candidate):
            return rdn
    raise DirectoryConflict(f"There are already {MAX_SAME_NAME} contacts named {full} here.")


def get_contact(dn: str) -> directory.Entry:
    entry, kind = get_kind(dn, CONTACT_ATTRS)
    if kind is not Kind.CONTACT:
        raise DirectoryNotFound(f"There is no contact {dn}.")
    return entry


def contact_create(
    *,
    actor: Actor,
    container_dn: str,
    last_name: str,
    mail: str,
    first_name: str = "",
    company: str = "",
    title: str = "",
    phone: str = "",
    mobile: str = "",
    fax: str = "",
    description: str = "",
) -> str:
    """An external contact in an organization or group. Returns its DN."""
    last, first, full = _names(last_name, first_name)
    fields = _fields(mail, company, title, phone, mobile, fax, description)
    get_mail_container(container_dn)
    dn = f"{_free_rdn(container_dn, full)},{container_dn}"
    attrs: dict[str, str | list[str]] = {
        "objectClass": ["inetOrgPerson", "mailContact"],
        "cn": dit.rdn_value(dn),
        "sn": last,
    }
    if first:
        attrs["givenName"] = first
    attrs.update({name: value for name, value in fields.items() if value})
    audited(
        actor,
        "contact_create",
        dn,
        {"cn": attrs["cn"], "mail": fields["mail"]},
        lambda: directory.add(dn, attrs),
    )
    return dn


def contact_update(
    *,
    actor: Actor,
    dn: str,
    last_name: str,
    mail: str,
    first_name: str = "",
    company: str = "",
    title: str = "",
    phone: str = "",
    mobile: str = "",
    fax: str = "",
    description: str = "",
) -> str:
    """Change a contact; a new name renames the entry (refint follows). Returns the (possibly new) DN."""
    last, first, full = _names(last_name, first_name)
    fields = _fields(mail, company, title, phone, mobile, fax, description)
    entry = get_contact(dn)
    wanted: dict[str, str | None] = {"sn": last, "givenName": first or None}
    wanted.update({name: value or None for name, value in fields.items()})
    before = {name: entry.get(name) for name in wanted}
    parent = dit.parent_dn(dn)
    old_full = " ".join(filter(None, [entry.first("givenName"), entry.first("sn")]))
    new_rdn = _free_rdn(parent, full, keep=dn) if full != old_full else None
    # Aliases listing the old address list the new one instead (aliases/services/membership.py).
    aliases = membership.plan_rename(entry.first("mail"), fields["mail"], holder_dn=dn)
    rename = new_rdn is not None and not dit.same_dn(f"{new_rdn},{parent}", dn)
    steps = ["attributes", *(["aliases"] if aliases else []), *(["rename"] if rename else [])]
    data = {
        "dn": dn,
        "after": wanted,
        "before": before,
        "aliases": membership.changes_to_json(aliases),
        "rdn": new_rdn if rename else None,
        "new_dn": f"{new_rdn},{parent}" if rename else dn,
        "old_rdn": f"cn={escape_dn(dit.rdn_value(dn))}",
    }
    result = [dn]

    def work() -> None:
        with Journal.begin(actor, CONTACT_UPDATE, dn, steps, data) as journal:
            journal.step(
                "attributes",
                lambda: directory.modify(dn, [directory.replace(n, v) for n, v in wanted.items()]),
            )
            if aliases:
                journal.step(
                    "aliases", lambda: membership.members_apply(actor=actor, changes=aliases, holder_dn=dn)
                )
            if rename and new_rdn:
                result[0] = journal.step("rename", lambda: directory.rename(dn, new_rdn))

    audited(actor, "contact_update", dn, wanted, work, before=before)
    return result[0]


def contact_delete(*, actor: Actor, dn: str) -> list[membership.MemberChange]:
    """Delete a contact; its address leaves every alias's members unless another entry still has it
    (aliases/services/membership.py). Returns the aliases changed."""
    entry = get_contact(dn)
    aliases = membership.plan_remove(entry.values("mail"), holder_dn=dn)

    steps = [*(["aliases"] if aliases else []), "entry"]
    data = {"dn": dn, "aliases": membership.changes_to_json(aliases)}

    def work() -> None:
        with Journal.begin(actor, CONTACT_DELETE, dn, steps, data) as journal:
            if aliases:
                journal.step(
                    "aliases", lambda: membership.members_apply(actor=actor, changes=aliases, holder_dn=dn)
                )
            journal.step("entry", lambda: directory.delete(dn))

    after = {"cn": entry.first("cn"), "mail": entry.first("mail"), "aliases": membership.audit_names(aliases)}
    audited(actor, "contact_delete", dn, after, work)
    return aliases
