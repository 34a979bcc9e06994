from __future__ import annotations

import re
from typing import Any

from django import forms
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

LOGIN_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


class LoginForm(forms.Form):
    username = forms.CharField(label=_("Login/User name"), max_length=64, strip=True)
    password = forms.CharField(label=_("Password"), max_length=256, strip=False, widget=forms.PasswordInput)

    def clean_username(self) -> str:
        value = self.cleaned_data["username"].lower()
        if not LOGIN_RE.match(value):
            raise forms.ValidationError(_("Enter a login name: letters, digits, dot, dash or underscore."))
        return str(value)


class PasswordChangeForm(forms.Form):
    old_password = forms.CharField(
        label=_("Current password"), max_length=256, strip=False, widget=forms.PasswordInput
    )
    new_password = forms.CharField(
        label=_("New password"), max_length=256, strip=False, widget=forms.PasswordInput
    )
    new_password2 = forms.CharField(
        label=_("New password (again)"), max_length=256, strip=False, widget=forms.PasswordInput
    )

    def __init__(self, *args: object, min_length: int = 8, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.min_length = min_length

    def clean_new_password(self) -> str:
        value: str = self.cleaned_data["new_password"]
        if len(value) < self.min_length:
            raise forms.ValidationError(
                _("The password must have at least %(n)d characters.") % {"n": self.min_length}
            )
        if any(ord(c) < 32 or ord(c) == 127 for c in value):
            raise forms.ValidationError(_("The password must not contain control characters."))
        return value

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        new, again = data.get("new_password"), data.get("new_password2")
        if new and again and new != again:
            self.add_error("new_password2", _("The two new passwords differ."))
        if new and new == data.get("old_password"):
            self.add_error("new_password", _("The new password must differ from the current one."))
        return data


class FastSelect(forms.Select):
    """A <select> rendered in Python. Django renders every <option> through its own template include and
    builds option dicts first; on the search page that was a third of the time."""

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        selected = {str(v) for v in self.format_value(value)}

        def options(choices: Any) -> SafeString:
            return format_html_join(
                "",
                "{}",
                (
                    (
                        format_html('<optgroup label="{}">{}</optgroup>', key, options(label))
                        if isinstance(label, (list, tuple))
                        else format_html(
                            '<option value="{}"{}>{}</option>',
                            key,
                            " selected" if str(key) in selected else "",
                            label,
                        ),
                    )
                    for key, label in choices
                ),
            )

        final = self.build_attrs(self.attrs, attrs)
        return format_html('<select name="{}"{}>{}</select>', name, flatatt(final), options(self.choices))
