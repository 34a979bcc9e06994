"""The disclaimer form. Sanitising and resolving the owner are the service's job; the form checks sizes."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from mailqueue.disclaimers.sanitize import MAX_HTML, MAX_TEXT


class DisclaimerForm(forms.Form):
    owner = forms.CharField(
        label=_("User, group, organization or domain"),
        max_length=1024,
        help_text=_("A domain name (example.com), a login, an e-mail address, or the object's DN."),
    )
    text = forms.CharField(
        label=_("Disclaimer text"),
        required=False,
        max_length=MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("Added to plain-text mail. Left empty, it is made from the HTML."),
    )
    html = forms.CharField(
        label=_("Disclaimer HTML"),
        required=False,
        max_length=MAX_HTML,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=_(
            "Added to HTML mail. Basic formatting, links and images (http, https or inline PNG, GIF, JPEG); "
            "anything else is removed. Left empty, it is made from the text."
        ),
    )
    outbound_only = forms.BooleanField(
        label=_("Outbound only"),
        required=False,
        help_text=_("Only mail leaving for domains that are not hosted on this server gets the disclaimer."),
    )

    def clean_owner(self) -> str:
        value: str = self.cleaned_data["owner"]
        if "\x00" in value or "\n" in value or "\r" in value:
            raise forms.ValidationError(_("Enter one name on one line."))
        return value.strip()
