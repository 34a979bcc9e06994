"""One entry of an import as the account it becomes: every value checked with the checks "Create User" runs
(accounts.services), the form's options applied where the file is silent. The check and the creation job
both go through `plan_entry`, so what the report accepted is what the job creates.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from accounts.services.common import check_quota
from accounts.services.person import PERSON_FIELDS, check_names, check_person
from accounts.services.users import check_mail_in_domain
from aliases.services.addresses import MAX_ADDRESSES, MAX_FORWARDS, check_addresses
from mailadmin.directory import InvalidName, check_login, check_password, check_password_hash, dit
from migration.entries import ImportEntry
from migration.pipeline import Options

LABELS: dict[str, str] = {
    "uid": "login name",
    "last_name": "last name (sn)",
    "first_name": "first name (givenName)",
    "initials": "initials",
    "mail": "primary address (mail)",
    "aliases": "extra addresses (mailAlias)",
    "forwards": "forwarding (mailForward)",
    "password": "password (userPassword)",
    "password_hash": "password hash (userPassword)",
    "quota": "quota (mailQuota)",
    "container": "container",
    **{f.key: f"{f.attr}" for f in PERSON_FIELDS},
}


def reason_of(exc: InvalidName) -> str:
    """A refusal as one report line: the field, then the rule it broke."""
    label = LABELS.get(exc.field, exc.field)
    return f"{label}: {exc.message}" if label else exc.message


@dataclass(frozen=True)
class Plan:
    uid: str
    container_dn: str
    dn: str
    password: str  # never logged, never stored
    password_hash: str  # "{SCHEME}...", kept as it is (slapd verifies the scheme)
    aliases: tuple[str, ...]
    forwards: tuple[str, ...]
    disabled: bool
    kwargs: Mapping[str, Any]  # the rest of user_create's arguments

    def __repr__(self) -> str:  # a plan must never print its password
        return f"Plan({self.dn})"


def plan_entry(entry: ImportEntry, options: Options, *, min_password: int) -> Plan:
    """The account `entry` becomes, or InvalidName naming the field that is wrong."""
    uid = check_login(entry.uid)
    last, first, initials = check_names(entry.last_name, entry.first_name, entry.initials)
    check_person(entry.person)
    container = (
        entry.container_dn if entry.container_dn and not options.ignore_places else options.container_dn
    )
    if not dit.valid_dn(container) or dit.domain_of(container) is None:
        raise InvalidName("the entry's place is not inside a domain of this server", "container")
    domain = dit.domain_of(container)
    mail = check_mail_in_domain(entry.mail or f"{uid}@{domain}", domain)
    aliases = check_addresses(entry.aliases, "aliases", limit=MAX_ADDRESSES)
    for address in aliases:
        if address.rpartition("@")[2] != domain:
            raise InvalidName(f"every extra address must be in the domain {domain}", "aliases")
        if address == mail:
            raise InvalidName(f"{address} is the primary address already", "aliases")
    forwards = check_addresses(entry.forwards, "forwards", limit=MAX_FORWARDS)
    if {mail, *aliases} & set(forwards):
        raise InvalidName("an entry cannot forward to its own address", "forwards")
    password, password_hash = _password(entry, min_password)
    quota = check_quota(entry.quota_kib if entry.quota_kib is not None else options.quota_kib)
    create_mailbox = options.create_mailbox
    if quota is not None and not create_mailbox:
        quota = None  # a quota belongs to a mailbox; the form's choice not to make one wins
    kwargs: dict[str, Any] = {
        "container_dn": container,
        "uid": uid,
        "last_name": last,
        "first_name": first,
        "initials": initials,
        "mail": mail,
        "create_mailbox": create_mailbox,
        "quota_kib": quota,
        "person": dict(entry.person),
        "groupware_folders": options.groupware_folders and create_mailbox,
        "folder_language": options.folder_language,
        "web_access": _either(entry.web_access, options.web_access),
        "send_local_only": _either(entry.send_local_only, options.send_local_only),
        "receive_local_only": _either(entry.receive_local_only, options.receive_local_only),
        "disabled": entry.disabled,
    }
    return Plan(
        uid=uid,
        container_dn=container,
        dn=dit.account_dn(container, uid),
        password=password,
        password_hash=password_hash,
        aliases=tuple(aliases),
        forwards=tuple(forwards),
        disabled=entry.disabled,
        kwargs=kwargs,
    )


def _either(from_file: bool | None, from_form: bool) -> bool:
    return from_form if from_file is None else from_file


def _password(entry: ImportEntry, min_password: int) -> tuple[str, str]:
    """(clear password, hash): one of them, or neither for an entry created disabled (user_create then
    sets no password at all: the account cannot log in until someone gives it one and enables it)."""
    if entry.password and entry.password_hash:
        raise InvalidName("give either a password or a hash, not both", "password")
    if entry.password:
        check_password(entry.password)
        if len(entry.password) < min_password:
            raise InvalidName(f"must be at least {min_password} characters long", "password")
        return entry.password, ""
    if entry.password_hash:
        return "", check_password_hash(entry.password_hash)
    if entry.disabled:
        return "", ""
    raise InvalidName("the entry has no password", "password")
