"""The rule form and the tester's envelope form."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mailadmin import directory
from mailadmin.directory import InvalidName
from mailadmin.forms import FastSelect
from mailqueue.relayrules.engine import Action, Event, PatternError, Rule

EVENT_HELP = {
    Event.SUBMIT: gettext_lazy("A message is submitted from a host matching the pattern."),
    Event.ANONYMOUS: gettext_lazy("A message is sent without authentication (or after a failed one)."),
    Event.AUTH_SUCCESS: gettext_lazy("A message is sent after a successful authentication."),
    Event.AUTH_MISMATCH: gettext_lazy(
        "A message is sent after authentication, but the login does not own the sender address."
    ),
    Event.RELAY: gettext_lazy(
        "A message from a host matching the pattern is to be relayed to another server."
    ),
    Event.ORIGINATOR: gettext_lazy("The sender address matches the pattern (e.g. *@*.spam.net)."),
    Event.RECIPIENT: gettext_lazy("A recipient address matches the pattern."),
}
ACTION_HELP = {
    Action.ACCEPT: gettext_lazy("The message is accepted and processed normally; later rules are not tried."),
    Action.DEFER: gettext_lazy("The message is deferred with a 4xx code; the sender tries again later."),
    Action.DISCARD: gettext_lazy("The message is accepted, then discarded without telling the sender."),
    Action.HEADER: gettext_lazy("The message is accepted with an extra X- header naming the event."),
    Action.REJECT: gettext_lazy("The message is rejected with a 5xx code."),
}


class RuleForm(forms.Form):
    event = forms.ChoiceField(
        label=gettext_lazy("Event"), choices=[(e.value, e.value) for e in Event], widget=FastSelect
    )
    pattern = forms.CharField(
        label=gettext_lazy("Pattern"),
        max_length=255,
        strip=False,
        help_text=gettext_lazy(
            "Host events: *, an IP address, a network (192.0.2.0/24) or a host name (*.example.com). "
            "ORIGINATOR and RECIPIENT: an e-mail address pattern (*@*.spam.net)."
        ),
    )
    action = forms.ChoiceField(
        label=gettext_lazy("Action"), choices=[(a.value, a.value) for a in Action], widget=FastSelect
    )
    text = forms.CharField(
        label=gettext_lazy("Text"),
        max_length=300,
        required=False,
        strip=False,
        help_text=gettext_lazy("Optional reply text for Defer and Reject (one line, printable ASCII)."),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if "event" in data and "pattern" in data:
            try:
                Rule.make(
                    id=0,
                    position=0,
                    event=data["event"],
                    pattern=data["pattern"],
                    action=data.get("action") or Action.ACCEPT.value,
                    text="",
                )
            except PatternError as exc:
                self.add_error("pattern", str(exc))
        if "text" in data:
            try:
                Rule.make(id=0, position=0, event="SUBMIT", pattern="*", action="Accept", text=data["text"])
            except PatternError as exc:
                self.add_error("text", str(exc))
        return data

    def rule(self, *, id: int = 0, position: int = 0) -> Rule:  # noqa: A002
        d = self.cleaned_data
        return Rule.make(
            id=id,
            position=position,
            event=d["event"],
            pattern=d["pattern"],
            action=d["action"],
            text=d["text"],
        )


_HOST = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,253}[A-Za-z0-9])?")
_ADDRESS = re.compile(r"[A-Za-z0-9._%+=-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9.-]{0,253}[A-Za-z0-9])?")
PORTS = (("smtp", "SMTP (port 25)"), ("submission", gettext_lazy("Submission with SMTP AUTH")))


class EnvelopeForm(forms.Form):
    """A sample envelope for the tester. Nothing is sent; it is only evaluated."""

    port = forms.ChoiceField(label=gettext_lazy("Port"), choices=PORTS, initial="smtp", widget=FastSelect)
    client_address = forms.CharField(label=gettext_lazy("Client address"), max_length=45, strip=False)
    client_name = forms.CharField(
        label=gettext_lazy("Client host name"), max_length=255, required=False, strip=False
    )
    sasl_username = forms.CharField(
        label=gettext_lazy("Authenticated user"),
        max_length=64,
        required=False,
        strip=False,
        help_text=gettext_lazy("The login name used with SMTP AUTH; empty for an anonymous client."),
    )
    sender = forms.CharField(
        label=gettext_lazy("Sender"), max_length=255, required=False, strip=False,
        help_text=gettext_lazy("MAIL FROM; empty for the null sender <>."),
    )  # fmt: skip
    recipient = forms.CharField(label=gettext_lazy("Recipient"), max_length=255, strip=False)

    def clean_client_address(self) -> str:
        raw = self.cleaned_data["client_address"]
        try:
            return str(ipaddress.ip_address(raw))
        except ValueError as exc:
            raise forms.ValidationError(_("Enter an IPv4 or IPv6 address.")) from exc

    def clean_client_name(self) -> str:
        raw = self.cleaned_data["client_name"]
        if raw and not _HOST.fullmatch(raw):
            raise forms.ValidationError(_("Enter a host name such as mail.example.com, or leave it empty."))
        return str(raw).lower()

    def clean_sasl_username(self) -> str:
        raw = self.cleaned_data["sasl_username"]
        if not raw:
            return ""
        try:
            return directory.check_login(str(raw), "sasl_username")
        except InvalidName as exc:
            raise forms.ValidationError(str(exc)) from exc

    def _address(self, field: str, *, required: bool) -> str:
        raw = self.cleaned_data[field]
        if not raw and not required:
            return ""
        if not _ADDRESS.fullmatch(raw):
            raise forms.ValidationError(_("Enter an e-mail address such as user@example.com."))
        return str(raw).lower()

    def clean_sender(self) -> str:
        return self._address("sender", required=False)

    def clean_recipient(self) -> str:
        return self._address("recipient", required=True)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("port") == "smtp" and data.get("sasl_username"):
            self.add_error(
                "sasl_username", _("Port 25 offers no SMTP AUTH here; choose the submission port.")
            )
        return data
