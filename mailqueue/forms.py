"""Forms of the queue page: the filter (GET) and the actions (POST). Allow-lists, not escaping: a filter
value that is not plainly an address part, a domain or a line of text is refused with a message."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from mailadmin import postfix
from mailadmin.forms import FastSelect
from mailqueue.selectors import QUEUES, QueueFilter
from mailqueue.services import MAX_IDS, QueueAction

_ADDRESS_PART = re.compile(r"[A-Za-z0-9@._+=-]{1,200}\Z")
_DOMAIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?\Z")
_LINE = re.compile(r"[^\x00-\x1f\x7f]{1,200}\Z")
_ID_SEPARATORS = re.compile(r"[\s,;]+")

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


class QueueIdsForm(forms.Form):
    """Queue ids someone already has — from a log, from `mailq`, from another tool — and what to do with them.
    Every token must be a queue id (the `*` and `!` that `mailq` puts after active and held ones may stay);
    anything else refuses the whole list, naming the first offender."""

    action = forms.ChoiceField(label=_("Action"), choices=list(ACTION_LABELS.items()), widget=FastSelect)
    ids = forms.CharField(
        label=_("Queue IDs"),
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false", "autocomplete": "off"}),
        max_length=MAX_IDS * 32,
    )
    skip_missing = forms.BooleanField(
        label=_("Leave out IDs that are no longer in the queue"),
        required=False,
        help_text=_("Otherwise one ID that has left the queue stops the whole list, and nothing runs."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["ids"].help_text = gettext(
            "One per line, or separated by spaces or commas; at most %(n)d."
        ) % {"n": MAX_IDS}

    def clean_ids(self) -> list[str]:
        tokens = [t for t in _ID_SEPARATORS.split(self.cleaned_data["ids"]) if t]
        ids = list(dict.fromkeys(t[:-1] if t[-1:] in ("*", "!") else t for t in tokens))
        if not ids:
            raise ValidationError(_("Enter at least one queue ID."))
        if len(ids) > MAX_IDS:
            raise ValidationError(gettext("At most %(n)d IDs at a time.") % {"n": MAX_IDS})
        for qid in ids:
            if not postfix.valid_queue_id(qid):
                raise ValidationError(gettext("Not a queue ID: %(id)s") % {"id": qid[:40]})
        return ids
