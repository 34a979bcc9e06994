"""Forms of the Mail Folders pages.

Each field runs the allow-list the service runs again (mailadmin.imap_names), so a bad name or right is a
message under its field before anything is sent to Cyrus."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from mailadmin.directory import InvalidName, check_domain
from mailadmin.imap_names import (
    RIGHT_ORDER,
    RIGHT_SETS,
    check_acl_identifier,
    check_public_path,
    check_segment,
)

FOLDER_TYPE_CHOICES = [
    ("mail", _("Mail")),
    ("calendar", _("Calendar")),
    ("contacts", _("Contacts")),
    ("tasks", _("Tasks")),
    ("notes", _("Notes")),
    ("journal", _("Journal")),
]
RIGHT_LABELS = {
    "l": _("lookup (see the folder in the list)"),
    "r": _("read"),
    "s": _("keep seen/unseen"),
    "w": _("write (flags)"),
    "i": _("insert (copy/move messages in)"),
    "p": _("post (send mail to the folder)"),
    "k": _("create sub-folders"),
    "x": _("delete the folder"),
    "t": _("delete messages"),
    "e": _("expunge"),
    "a": _("administer (change permissions)"),
}
SET_LABELS = {
    "read": _("Read (lookup, read, keep seen)"),
    "post": _("Post (read + post)"),
    "append": _("Append (read + insert + post)"),
    "write": _("Write (everything but administer)"),
    "all": _("All (including administer)"),
}


def checked(check: Callable[[str], str], value: str) -> str:
    try:
        return check(value)
    except InvalidName as exc:
        raise forms.ValidationError(exc.message) from exc


def add_service_error(form: forms.Form, exc: Exception) -> None:
    field = getattr(exc, "field", "")
    form.add_error(field if field in form.fields else None, str(exc))


class CreateForm(forms.Form):
    parent = forms.CharField(
        strip=False,
        label=_("Place in the tree"),
        required=False,
        max_length=400,
        help_text=_("The folder to create it in; empty for the top level (a public folder)."),
    )
    domain = forms.CharField(
        strip=False,
        label=_("Domain"),
        required=False,
        max_length=253,
        help_text=_("Hosted companies: put it into this domain's public folders, seen by its users only."),
    )
    name = forms.CharField(
        strip=False,
        label=_("Folder name"),
        max_length=64,
        help_text=_("Letters, digits and underscore (_) only."),
    )
    folder_type = forms.ChoiceField(label=_("Folder type"), choices=FOLDER_TYPE_CHOICES, initial="mail")

    def clean_parent(self) -> str:
        value = self.cleaned_data["parent"]
        return checked(check_public_path, value) if value else ""

    def clean_domain(self) -> str:
        value = self.cleaned_data["domain"]
        return checked(check_domain, value) if value else ""

    def clean_name(self) -> str:
        return checked(check_segment, self.cleaned_data["name"])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        domain, parent = data.get("domain"), data.get("parent")
        if domain and parent and parent.split("/", 1)[0] != domain:
            # a parent inside the domain's root already says where it goes
            data["parent"] = f"{domain}/{parent}"
        elif domain and not parent:
            data["parent"] = domain
        return data


class RenameForm(forms.Form):
    name = forms.CharField(
        strip=False,
        label=_("New name"),
        max_length=64,
        help_text=_("Letters, digits and underscore (_) only."),
    )

    def clean_name(self) -> str:
        return checked(check_segment, self.cleaned_data["name"])


class PermissionForm(forms.Form):
    who = forms.CharField(
        strip=False,
        label=_("User"),
        required=False,
        max_length=400,
        help_text=_("A login name, or anyone."),
    )
    group = forms.CharField(
        strip=False,
        label=_("Group"),
        required=False,
        max_length=1024,
        help_text=_(
            "Or the DN of a domain, organization or group: all accounts inside it (as Cyrus sees them)."
        ),
    )
    preset = forms.ChoiceField(
        label=_("Rights"),
        required=False,
        choices=[("", _("— choose below —")), *SET_LABELS.items()],
    )
    rights = forms.MultipleChoiceField(
        label=_("Single rights"),
        required=False,
        choices=[(ch, RIGHT_LABELS[ch]) for ch in RIGHT_ORDER],
        widget=forms.CheckboxSelectMultiple,
    )

    def clean_who(self) -> str:
        value = self.cleaned_data["who"]
        return checked(check_acl_identifier, value) if value else ""

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if bool(data.get("who")) == bool(data.get("group")) and not self.errors:
            raise forms.ValidationError(_("Give either a user or a group."))
        preset = data.get("preset")
        letters = RIGHT_SETS[preset] if preset else "".join(data.get("rights") or [])
        if not letters and not self.errors:
            raise forms.ValidationError(_("Choose the rights to give (or remove the entry in the list)."))
        data["letters"] = letters
        return data
