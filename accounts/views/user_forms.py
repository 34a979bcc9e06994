"""Forms of the user and resource pages. Each field runs the same allow-list the service runs, so a bad
value is a message next to its field before anything reaches the directory; the service checks again."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.services.folders import LANGUAGES
from accounts.services.person import PERSON_FIELDS, RESOURCE_KINDS, check_person_field
from mailadmin.directory import InvalidName, check_address, check_login, check_value
from mailadmin.imap_names import MAX_QUOTA_KIB

MAX_QUOTA_MIB = MAX_QUOTA_KIB // 1024
PERSON_KEYS = tuple(f.key for f in PERSON_FIELDS)
# The service's field names where the form calls them differently.
SERVICE_FIELDS = {"quota": "quota_mib", "new_password": "password", "container": None, "dn": None}


def _checked(check: Callable[[str], str], value: str) -> str:
    try:
        return check(value)
    except InvalidName as exc:
        raise forms.ValidationError(str(exc)) from exc


def add_service_error(form: forms.Form, exc: Exception) -> None:
    """Show a service's refusal next to the field it names (or above the form)."""
    field = getattr(exc, "field", "") or ""
    name = SERVICE_FIELDS.get(field, field)
    form.add_error(name if name in form.fields else None, str(exc))


def _person_fields() -> dict[str, forms.Field]:
    return {
        f.key: forms.CharField(label=f.label, required=False, max_length=f.max_length + 16)
        for f in PERSON_FIELDS
    }


class _PersonMixin(forms.Form):
    def person(self) -> dict[str, str]:
        return {key: self.cleaned_data.get(key, "") for key in PERSON_KEYS}

    def _clean_person(self) -> None:
        for key in PERSON_KEYS:
            if key in self.cleaned_data:
                try:
                    self.cleaned_data[key] = check_person_field(key, self.cleaned_data[key])
                except InvalidName as exc:
                    self.add_error(key, str(exc))


def _names(form: forms.Form) -> None:
    for name, required in (("last_name", True), ("first_name", False), ("initials", False)):
        if name in form.cleaned_data:
            try:
                limit = 16 if name == "initials" else 64
                form.cleaned_data[name] = check_value(
                    form.cleaned_data[name], name, max_length=limit, required=required
                ).strip()
            except InvalidName as exc:
                form.add_error(name, str(exc))


class UserCreateForm(_PersonMixin):
    uid = forms.CharField(label=_("Login/User name"), max_length=80, strip=False)
    password = forms.CharField(label=_("Password"), max_length=256, strip=False, widget=forms.PasswordInput)
    password2 = forms.CharField(
        label=_("Password (again)"), max_length=256, strip=False, widget=forms.PasswordInput
    )
    last_name = forms.CharField(label=_("Last name"), max_length=80)
    first_name = forms.CharField(label=_("First name"), max_length=80, required=False)
    initials = forms.CharField(label=_("Initials"), max_length=32, required=False)
    mail = forms.CharField(label=_("Primary address"), max_length=300, required=False, strip=False)
    create_mailbox = forms.BooleanField(label=_("Create mailbox"), required=False, initial=True)
    quota_mib = forms.IntegerField(
        label=_("Set quota"),
        required=False,
        min_value=0,
        max_value=MAX_QUOTA_MIB,
        help_text=_("In MiB. Empty: no limit."),
    )
    groupware_folders = forms.BooleanField(label=_("Create Outlook folders"), required=False)
    folder_language = forms.ChoiceField(
        label=_("Folder language"), choices=LANGUAGES, initial="en", required=False
    )
    web_access = forms.BooleanField(label=_("Access WebClient"), required=False)
    send_local_only = forms.BooleanField(label=_("Send only local mail"), required=False)
    receive_local_only = forms.BooleanField(label=_("Receive only local mail"), required=False)

    ACCOUNT = ("uid", "password", "password2", "mail")
    NAMES = ("last_name", "first_name", "initials")
    OPTIONS = (
        "create_mailbox",
        "quota_mib",
        "groupware_folders",
        "folder_language",
        "web_access",
        "send_local_only",
        "receive_local_only",
    )

    def __init__(self, *args: Any, domain: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields.update(_person_fields())
        self.domain = domain
        self.fields["mail"].help_text = _("Empty: the login name @ %(domain)s. Must be in that domain.") % {
            "domain": domain
        }
        self.fields["folder_language"].help_text = _('Names of the folders made by "Create Outlook folders".')

    def clean_uid(self) -> str:
        return _checked(check_login, self.cleaned_data["uid"])

    def clean_mail(self) -> str:
        value: str = self.cleaned_data["mail"]
        if not value:
            return ""
        address = _checked(check_address, value)
        if self.domain and address.rpartition("@")[2] != self.domain:
            raise forms.ValidationError(
                _("The primary address must be in the domain %(d)s.") % {"d": self.domain}
            )
        return address

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        _names(self)
        self._clean_person()
        if data.get("password") and data.get("password2") and data["password"] != data["password2"]:
            self.add_error("password2", _("The two passwords differ."))
        if data.get("groupware_folders") and not data.get("create_mailbox"):
            self.add_error(
                "groupware_folders",
                _('Groupware folders need a mailbox: tick "Create mailbox" too.'),
            )
        return data

    def service_kwargs(self) -> dict[str, Any]:
        d = self.cleaned_data
        quota = d.get("quota_mib")
        return {
            "uid": d["uid"],
            "password": d["password"],
            "last_name": d["last_name"],
            "first_name": d.get("first_name", ""),
            "initials": d.get("initials", ""),
            "mail": d.get("mail") or None,
            "person": {k: v for k, v in self.person().items() if v},
            "create_mailbox": bool(d.get("create_mailbox")),
            "quota_kib": None if quota is None else quota * 1024,
            "groupware_folders": bool(d.get("groupware_folders")),
            "folder_language": d.get("folder_language") or "en",
            "web_access": bool(d.get("web_access")),
            "send_local_only": bool(d.get("send_local_only")),
            "receive_local_only": bool(d.get("receive_local_only")),
        }


class ResourceCreateForm(forms.Form):
    uid = forms.CharField(label=_("Login/User name"), max_length=80, strip=False)
    last_name = forms.CharField(label=_("Name"), max_length=80, help_text=_("What people see: “Room 2.14”."))
    resource_kind = forms.ChoiceField(label=_("Kind of resource"), choices=RESOURCE_KINDS)
    mail = forms.CharField(label=_("Primary address"), max_length=300, required=False, strip=False)
    password = forms.CharField(
        label=_("Password"),
        max_length=256,
        strip=False,
        required=False,
        widget=forms.PasswordInput,
        help_text=_("Empty: a random one nobody knows (reset it later to log in as the resource)."),
    )
    quota_mib = UserCreateForm.base_fields["quota_mib"]
    description = forms.CharField(label=_("Description"), max_length=1040, required=False)

    def __init__(self, *args: Any, domain: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.domain = domain
        self.fields["mail"].help_text = _("Empty: the login name @ %(domain)s.") % {"domain": domain}

    clean_uid = UserCreateForm.clean_uid
    clean_mail = UserCreateForm.clean_mail

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        _names(self)
        if "description" in data:
            try:
                data["description"] = check_person_field("description", data["description"])
            except InvalidName as exc:
                self.add_error("description", str(exc))
        return data


class UserEditForm(_PersonMixin):
    last_name = UserCreateForm.base_fields["last_name"]
    first_name = UserCreateForm.base_fields["first_name"]
    initials = UserCreateForm.base_fields["initials"]
    mail = forms.CharField(label=_("Primary address"), max_length=300, strip=False)
    send_local_only = UserCreateForm.base_fields["send_local_only"]
    receive_local_only = UserCreateForm.base_fields["receive_local_only"]

    def __init__(self, *args: Any, domain: str = "", resource: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields.update(_person_fields())
        self.domain = domain
        if resource:
            self.fields["resource_kind"] = forms.ChoiceField(
                label=_("Kind of resource"), choices=RESOURCE_KINDS
            )

    clean_mail = UserCreateForm.clean_mail

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        _names(self)
        self._clean_person()
        return data


class QuotaForm(forms.Form):
    quota_mib = UserCreateForm.base_fields["quota_mib"]


class DeleteForm(forms.Form):
    delete_mailbox = forms.BooleanField(required=False)
