"""Person fields of users and resources: the inetOrgPerson attributes the console edits, and their checks.

Each field has an allow-list: free text may not hold control characters (no NUL, no line breaks) and is
bounded; phone numbers are the characters slapd's telephoneNumber syntax takes. Values are stored as given
(trimmed) and always shown escaped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.services.common import MAX_PERSON_NAME
from mailadmin.directory import InvalidName, check_value

if TYPE_CHECKING:
    from django_stubs_ext import StrPromise

_PHONE_RE = re.compile(r"\+?[0-9][0-9 ()./-]{0,31}")
RESOURCE_KINDS: tuple[tuple[str, StrPromise], ...] = (
    ("room", _("Room")),
    ("projector", _("Projector")),
    ("car", _("Car")),
    ("other", _("Other")),
)


@dataclass(frozen=True)
class PersonField:
    key: str  # form field and `person` mapping key
    attr: str  # LDAP attribute
    label: StrPromise
    max_length: int = 128
    phone: bool = False


# The person fields of the manual's LDIF list (TLS-03) that inetOrgPerson carries; the list has no country.
PERSON_FIELDS: tuple[PersonField, ...] = (
    PersonField("display_name", "displayName", _("Display name")),
    PersonField("title", "title", _("Title")),
    PersonField("department", "departmentNumber", _("Department")),
    PersonField("phone", "telephoneNumber", _("Phone"), 32, phone=True),
    PersonField("mobile", "mobile", _("Mobile"), 32, phone=True),
    PersonField("fax", "facsimileTelephoneNumber", _("Fax"), 32, phone=True),
    PersonField("street", "street", _("Street")),
    PersonField("postal_code", "postalCode", _("Postal code"), 40),
    PersonField("city", "l", _("City")),
    PersonField("state", "st", pgettext_lazy("postal address", "State")),
    PersonField("post_office_box", "postOfficeBox", _("Post office box"), 40),
    PersonField("home_phone", "homePhone", _("Home phone"), 32, phone=True),
    PersonField("pager", "pager", _("Pager"), 32, phone=True),
    PersonField("room", "roomNumber", _("Room")),
    PersonField("office", "physicalDeliveryOfficeName", _("Office")),
    PersonField("employee_number", "employeeNumber", _("Employee number"), 64),
    PersonField("employee_type", "employeeType", _("Employee type")),
    PersonField("business_category", "businessCategory", _("Business category")),
    PersonField("web_page", "labeledURI", _("Web page"), 256),
    PersonField("preferred_language", "preferredLanguage", _("Preferred language"), 32),
    PersonField("description", "description", _("Description"), 1024),
)
PERSON_ATTRS = tuple(f.attr for f in PERSON_FIELDS)
KEY_BY_ATTR = {f.attr: f.key for f in PERSON_FIELDS}  # LDAP attribute -> `person` mapping key (imports)
_BY_KEY = {f.key: f for f in PERSON_FIELDS}


def check_person_field(key: str, value: str) -> str:
    """The trimmed value, or InvalidName naming the field."""
    field = _BY_KEY.get(key)
    if field is None:
        raise InvalidName("Unknown person field.", key)
    value = check_value(value, key, max_length=field.max_length).strip()
    if value and field.phone and not _PHONE_RE.fullmatch(value):
        raise InvalidName(
            "A phone number may hold digits, spaces and + ( ) . / - (at most 32 characters).", key
        )
    return value


def check_person(person: Mapping[str, str] | None) -> dict[str, str]:
    """{LDAP attribute: trimmed value} for the given fields; empty values map to "" (remove)."""
    return {_BY_KEY[key].attr: check_person_field(key, value) for key, value in (person or {}).items()}


def check_names(last_name: str, first_name: str, initials: str) -> tuple[str, str, str]:
    last = check_value(last_name, "last_name", max_length=MAX_PERSON_NAME, required=True).strip()
    first = check_value(first_name, "first_name", max_length=MAX_PERSON_NAME).strip()
    init = check_value(initials, "initials", max_length=16).strip()
    return last, first, init


def check_resource_kind(kind: str) -> str:
    if kind not in dict(RESOURCE_KINDS):
        raise InvalidName("Choose one of the offered kinds of resource.", "resource_kind")
    return kind


def common_name(first: str, last: str) -> str:
    return f"{first} {last}".strip()
