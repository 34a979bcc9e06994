"""The backup pages' forms. They check shape only; who may do what is checked by backup.services."""

from __future__ import annotations

import re
from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from backup.models import Backup

_LOGINS = re.compile(r"[A-Za-z0-9._@+-]+")


class CreateForm(forms.Form):
    what = forms.ChoiceField(
        label=_("What"),
        choices=[
            ("cfg", _("Configuration")),
            ("ldap", _("LDAP directory")),
            ("mail", _("Mail")),
            ("domain", _("Domain set (directory and mail of one domain)")),
        ],
        initial="mail",
    )
    domain = forms.ChoiceField(
        label=_("Domain"), required=False, help_text=_("Mail: empty means every mailbox.")
    )
    users = forms.CharField(
        label=_("Only these users"),
        required=False,
        max_length=4000,
        help_text=_("Mail only: login names, separated by spaces or commas."),
    )
    compression = forms.ChoiceField(
        label=_("Compression"),
        choices=[("zstd", "zstd"), ("gzip", "gzip"), ("xz", "xz")],
        initial="zstd",
    )

    def __init__(self, *args: Any, domains: list[str], administrator: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [(d, d) for d in domains]
        every: list[tuple[str, Any]] = [("", _("— every domain —"))] if administrator else []
        cast(forms.ChoiceField, self.fields["domain"]).choices = every + choices
        if not administrator:
            cast(forms.ChoiceField, self.fields["what"]).choices = [("mail", _("Mail"))]

    def clean_users(self) -> list[str]:
        text = self.cleaned_data.get("users") or ""
        parts = [p for p in re.split(r"[\s,;]+", text) if p]
        bad = [p for p in parts if not _LOGINS.fullmatch(p) or len(p) > 255]
        if bad:
            raise forms.ValidationError(_("Not a login name: %(name)s") % {"name": bad[0][:60]})
        if len(parts) > 500:
            raise forms.ValidationError(_("At most 500 users at once."))
        return parts


class RestoreForm(forms.Form):
    users = forms.MultipleChoiceField(label=_("Users"), required=False, widget=forms.CheckboxSelectMultiple)
    mode = forms.ChoiceField(
        label=_("Where the mail goes"),
        choices=[
            ("folder", _("Into a new folder “Restored <date>” in each mailbox (nothing current is touched)")),
            ("in_place", _("Back into the folders it came from (only messages that are missing are added)")),
        ],
        initial="folder",
        widget=forms.RadioSelect,
    )
    confirm = forms.BooleanField(label=_("I have read the warning above"), required=False)

    def __init__(self, *args: Any, backup: Backup, users: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.backup = backup
        cast(forms.ChoiceField, self.fields["users"]).choices = [
            (u, f"{u} ({d})" if d else u) for u, d in users
        ]
        if backup.kind in (Backup.Kind.CONFIG, Backup.Kind.LDAP):
            del self.fields["users"], self.fields["mode"]
        elif backup.kind == Backup.Kind.MAIL:
            del self.fields["confirm"]  # additive or into a new folder: nothing to warn about
        elif backup.kind == Backup.Kind.DOMAIN:
            del self.fields["users"]
            self.fields["mode"].initial = "in_place"

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.backup.kind == Backup.Kind.MAIL and not data.get("users"):
            self.add_error("users", _("Choose the users whose mail is restored."))
        if self.backup.kind != Backup.Kind.MAIL and not data.get("confirm"):
            self.add_error("confirm", _("Confirm that you have read the warning."))
        return data


class RetentionForm(forms.Form):
    kind = forms.ChoiceField(choices=Backup.Kind.choices)
    keep_last = forms.IntegerField(label=_("Keep the last"), min_value=0, max_value=10000, initial=0)
    keep_days = forms.IntegerField(
        label=_("and all from the last days"), min_value=0, max_value=36500, initial=0
    )


class UploadForm(forms.Form):
    backup = forms.FileField(label=_("Backup file"))
