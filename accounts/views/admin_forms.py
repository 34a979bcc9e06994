"""Forms and small helpers shared by the role pages (administrators, domain and group administrators)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.selectors import role_holder_entries
from mailadmin import directory
from mailadmin.actor import Actor
from mailadmin.directory import InvalidName, dit


def page_number(request: HttpRequest) -> int:
    raw = request.GET.get("page", "1")
    return int(raw) if raw.isdigit() and 0 < len(raw) < 7 and int(raw) > 0 else 1


class LoginForm(forms.Form):
    """Pick an existing account by its login name."""

    # Not stripped or lower-cased: a login name with a stray space or capital is refused, never guessed.
    login = forms.CharField(label=gettext_lazy("Login/User name"), max_length=64, strip=False)

    def clean_login(self) -> str:
        try:
            return directory.check_login(str(self.cleaned_data["login"]), "login")
        except InvalidName as exc:
            raise forms.ValidationError(str(exc)) from exc


class AdministratorCreateForm(forms.Form):
    uid = forms.CharField(label=gettext_lazy("Login/User name"), max_length=64, strip=False)
    password = forms.CharField(
        label=gettext_lazy("Password"), max_length=256, strip=False, widget=forms.PasswordInput
    )
    last_name = forms.CharField(label=gettext_lazy("Last name"), max_length=64)
    first_name = forms.CharField(label=gettext_lazy("First name"), max_length=64, required=False)

    def clean_uid(self) -> str:
        try:
            return directory.check_login(str(self.cleaned_data["uid"]), "uid")
        except InvalidName as exc:
            raise forms.ValidationError(str(exc)) from exc

    def _text(self, name: str, required: bool) -> str:
        try:
            return directory.check_value(
                str(self.cleaned_data[name]), name, max_length=64, required=required
            ).strip()
        except InvalidName as exc:
            raise forms.ValidationError(str(exc)) from exc

    def clean_last_name(self) -> str:
        return self._text("last_name", True)

    def clean_first_name(self) -> str:
        return self._text("first_name", False)


@dataclass(frozen=True)
class Row:
    dn: str
    uid: str
    name: str
    missing: bool
    note: str
    may_remove: bool


def account_rows(
    actor: Actor, dns: list[str], may_remove: Callable[[str], bool], manager: str = ""
) -> list[Row]:
    """One row per role holder (a handful per list: one read each)."""
    rows = []
    for dn, entry in role_holder_entries(dns=dns):
        note = ""
        if manager and dit.same_dn(dn, manager):
            note = _("manager")
        elif actor.dn and dit.same_dn(dn, actor.dn):
            note = _("you")
        rows.append(
            Row(
                dn=dn,
                uid=entry.first("uid") if entry is not None else "",
                name=entry.first("cn") if entry is not None else "",
                missing=entry is None,
                note=note,
                may_remove=may_remove(dn),
            )
        )
    return sorted(rows, key=lambda r: (r.uid or r.dn).lower())


def account_param(request: HttpRequest) -> str:
    """The account DN a role form names; 404 for anything that is not a DN."""
    dn = request.POST.get("account", "")
    if not dn or len(dn) > 1024 or not dit.valid_dn(dn):
        raise Http404("No such account.")
    return dn


def confirm_self(request: HttpRequest, *, title: str, text: str, fields: dict[str, str]) -> HttpResponse:
    """The page that asks before someone gives up their own role (nobody does it by one click)."""
    context = {"title": title, "text": text, "fields": fields, "action": request.path}
    return render(request, "accounts/admins_confirm.html", context)
