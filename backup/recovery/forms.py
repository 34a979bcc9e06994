"""The form of the Cyrus recovery page: which mailboxes, and the confirmation that the warning was read."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

ALL = "all"
USERS = "users"
_SPLIT = re.compile(r"[\s,;]+")


class RecoveryForm(forms.Form):
    scope = forms.ChoiceField(
        label=_("Mailboxes"),
        choices=[(ALL, _("All mailboxes")), (USERS, _("Only the mailboxes of these users"))],
        widget=forms.RadioSelect,
        initial=ALL,
    )
    users = forms.CharField(
        label=_("Login/User names"),
        required=False,
        max_length=8000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Separated by spaces, commas or new lines."),
    )
    confirm = forms.BooleanField(
        label=_("I have read the warning and made a backup of the mail."),
        error_messages={"required": _("Confirm that you have read the warning.")},
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("scope") == USERS:
            names = [n for n in _SPLIT.split(data.get("users") or "") if n]
            if not names:
                self.add_error("users", _("Name at least one user, or choose all mailboxes."))
            data["logins"] = names
        else:
            data["logins"] = None
        return data
