"""Forms of the container pages: domains, organizations, groups, contacts, and the move form.

Each field runs the same allow-list the service runs (`directory.check_*`), so a bad value is a message
under its field before anything is sent to slapd; the service checks again (it is called by jobs too).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.services.contacts import check_external_address
from accounts.services.containers import (
    MAX_DESCRIPTION,
    check_description,
    check_phone,
    postal_address_value,
)
from mailadmin.directory import InvalidName, check_container_name, check_domain, check_value

MAX_NAME = 64
PRIVATE_LABEL = _("Make private from rest of directory")


def checked(check: Callable[[str], str], value: str) -> str:
    try:
        return check(value)
    except InvalidName as exc:
        raise forms.ValidationError(exc.message) from exc


def add_service_error(form: forms.Form, exc: Exception) -> None:
    """Show an error of a service under the field it names, else above the form."""
    field = getattr(exc, "field", "")
    form.add_error(field if field in form.fields else None, str(exc))


class _Described(forms.Form):
    description = forms.CharField(label=_("Description"), required=False, max_length=MAX_DESCRIPTION)
    private = forms.BooleanField(label=PRIVATE_LABEL, required=False)

    def clean_description(self) -> str:
        return checked(check_description, self.cleaned_data["description"])


class DomainForm(_Described):
    name = forms.CharField(label=_("Domain name"), max_length=253, help_text=_("For example example.com."))
    field_order = ["name", "description", "private"]

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if editing:
            del self.fields["name"]  # a domain is not renamed: every address in it would change

    def clean_name(self) -> str:
        return checked(check_domain, self.cleaned_data["name"])


class OrganizationForm(_Described):
    name = forms.CharField(label=_("Name"), max_length=MAX_NAME)
    postal_address = forms.CharField(
        label=_("Postal address"),
        required=False,
        max_length=800,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Up to six lines."),
    )
    phone = forms.CharField(label=_("Phone"), required=False, max_length=32)
    field_order = ["name", "postal_address", "phone", "description", "private"]

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if editing:
            del self.fields["name"]

    def clean_name(self) -> str:
        return checked(lambda v: check_container_name(v, "name"), self.cleaned_data["name"])

    def clean_postal_address(self) -> str:
        value: str = self.cleaned_data["postal_address"]
        checked(postal_address_value, value)
        return value

    def clean_phone(self) -> str:
        return checked(check_phone, self.cleaned_data["phone"])


class GroupForm(_Described):
    name = forms.CharField(label=_("Name"), max_length=MAX_NAME)
    field_order = ["name", "description", "private"]

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if editing:
            del self.fields["name"]

    def clean_name(self) -> str:
        return checked(lambda v: check_container_name(v, "name"), self.cleaned_data["name"])


class RenameForm(forms.Form):
    name = forms.CharField(label=_("New name"), max_length=MAX_NAME)

    def clean_name(self) -> str:
        return checked(lambda v: check_container_name(v, "name"), self.cleaned_data["name"])


class ContactForm(forms.Form):
    last_name = forms.CharField(label=_("Last name"), max_length=MAX_NAME)
    first_name = forms.CharField(label=_("First name"), required=False, max_length=MAX_NAME)
    mail = forms.CharField(
        label=_("E-mail address"), max_length=254, help_text=_("An address outside this server's domains.")
    )
    company = forms.CharField(label=_("Company"), required=False, max_length=MAX_NAME)
    title = forms.CharField(label=_("Title"), required=False, max_length=MAX_NAME)
    phone = forms.CharField(label=_("Phone"), required=False, max_length=32)
    mobile = forms.CharField(label=_("Mobile"), required=False, max_length=32)
    fax = forms.CharField(label=_("Fax"), required=False, max_length=32)
    description = forms.CharField(label=_("Description"), required=False, max_length=MAX_DESCRIPTION)

    def _text(self, name: str) -> str:
        return checked(lambda v: check_value(v, name, max_length=MAX_NAME), self.cleaned_data[name])

    def clean_last_name(self) -> str:
        return self._text("last_name")

    def clean_first_name(self) -> str:
        return self._text("first_name")

    def clean_company(self) -> str:
        return self._text("company")

    def clean_title(self) -> str:
        return self._text("title")

    def clean_mail(self) -> str:
        return checked(check_external_address, self.cleaned_data["mail"])

    def clean_phone(self) -> str:
        return checked(check_phone, self.cleaned_data["phone"])

    def clean_mobile(self) -> str:
        return checked(check_phone, self.cleaned_data["mobile"])

    def clean_fax(self) -> str:
        return checked(check_phone, self.cleaned_data["fax"])

    def clean_description(self) -> str:
        return checked(check_description, self.cleaned_data["description"])


class MoveForm(forms.Form):
    target = forms.ChoiceField(label=_("Move to"), required=False)
    target_dn = forms.CharField(
        label=_("Or another organization or group (its DN)"),
        required=False,
        max_length=1024,
        help_text=_("For example ou=sales,o=example.com,dc=example.com,ou=domains,…"),
    )

    def __init__(self, *args: Any, choices: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["target"]).choices = [("", "—"), *choices]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("target") and not data.get("target_dn"):
            raise forms.ValidationError(_("Choose where to move it."))
        return data

    @property
    def destination(self) -> str:
        return str(self.cleaned_data.get("target_dn") or self.cleaned_data.get("target") or "")
