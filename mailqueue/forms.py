"""Forms of the queue page: the filter (GET) and the actions (POST). Allow-lists, not escaping: a filter
value that is not plainly an address part, a domain or a line of text is refused with a message."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from mailadmin.forms import FastSelect
from mailqueue.selectors import QUEUES, QueueFilter
from mailqueue.services import QueueAction

_ADDRESS_PART = re.compile(r"[A-Za-z0-9@._+=-]{1,200}\Z")
_DOMAIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?\Z")
_LINE = re.compile(r"[^\x00-\x1f\x7f]{1,200}\Z")

QUEUE_LABELS = {
    "active": _("active"),
    "deferred": _("deferred"),
    "hold": _("hold"),
    "incoming": _("incoming"),
    "maildrop": _("maildrop"),
}
ACTION_LABELS = {
    QueueAction.DELETE.value: _("Delete"),
    QueueAction.HOLD.value: _("Hold"),
    QueueAction.RELEASE.value: _("Release"),
    QueueAction.REQUEUE.value: _("Requeue"),
    QueueAction.FLUSH.value: _("Flush"),
}


def _checked(value: str, pattern: re.Pattern[str], message: Any) -> str:
    if value and not pattern.match(value):
        raise ValidationError(message)
    return value


class QueueFilterForm(forms.Form):
    queue = forms.ChoiceField(
        label=_("Queue"),
        choices=[("", _("all queues")), *((q, QUEUE_LABELS[q]) for q in QUEUES)],
        required=False,
        widget=FastSelect,
    )
    sender = forms.CharField(label=_("Sender"), required=False, max_length=200, strip=False)
    recipient = forms.CharField(label=_("Recipient"), required=False, max_length=200, strip=False)
    domain = forms.CharField(label=_("Domain"), required=False, max_length=253, strip=False)
    older_than = forms.IntegerField(
        label=_("Older than (minutes)"), required=False, min_value=0, max_value=10_000_000
    )
    reason = forms.CharField(label=_("Reason contains"), required=False, max_length=200, strip=False)

    def clean_sender(self) -> str:
        return _checked(
            self.cleaned_data["sender"], _ADDRESS_PART, _("Use letters, digits and @ . _ + = - only.")
        )

    def clean_recipient(self) -> str:
        return _checked(
            self.cleaned_data["recipient"], _ADDRESS_PART, _("Use letters, digits and @ . _ + = - only.")
        )

    def clean_domain(self) -> str:
        return _checked(self.cleaned_data["domain"], _DOMAIN, _("Enter a domain name such as example.com."))

    def clean_reason(self) -> str:
        return _checked(
            self.cleaned_data["reason"], _LINE, _("Enter one line of text, without control characters.")
        )

    def to_filter(self) -> QueueFilter:
        return QueueFilter.from_params(self.cleaned_data)


class QueueActionForm(forms.Form):
    action = forms.ChoiceField(label=_("Action"), choices=list(ACTION_LABELS.items()))
    apply_to = forms.ChoiceField(
        label=_("Apply to"),
        choices=[("selected", _("Selected messages")), ("all", _("Everything matching this filter"))],
        required=False,
    )
