"""Forms of the Aliases pages (ALI-01 … ALI-04). They only shape input; the services check the rules."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from aliases.selectors import FLAGS, MATCHES, SORTS
from mailadmin.forms import FastSelect

_SPLIT = re.compile(r"[\s,;]+")
MAX_LIST_TEXT = 64 * 1024


def split_list(text: str) -> list[str]:
    """Members or owners as typed: one per line or separated by commas, semicolons or spaces."""
    return [part for part in _SPLIT.split(text) if part]


class AliasForm(forms.Form):
    domain = forms.CharField(label=_("Domain"), max_length=253, help_text=_("For example example.com."))
    name = forms.CharField(
        label=_("Alias name"), max_length=64, strip=False, help_text=_("The part before the @, like sales.")
    )
    members = forms.CharField(
        label=_("Members"),
        required=False,
        max_length=MAX_LIST_TEXT,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_(
            "Addresses that receive the alias's mail, one per line: users, contacts, other aliases or "
            "external addresses."
        ),
    )
    owners = forms.CharField(
        label=_("Owners"),
        required=False,
        max_length=4096,
        help_text=_("Login names of users of this domain who may change the alias, separated by commas."),
    )
    open_membership = forms.BooleanField(
        label=_("Open Membership"),
        required=False,
        help_text=_("Senders of other domains, on the internet too, may write to the alias."),
    )
    restricted = forms.BooleanField(
        label=_("Restricted"),
        required=False,
        help_text=_("Only senders of the alias's own domain may write to it."),
    )
    description = forms.CharField(label=_("Description"), required=False, max_length=256)

    def __init__(self, *args: Any, editing: bool = False, owner_only: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if editing:
            # the address is the alias's name in the directory: delete and create to change it
            del self.fields["domain"]
            del self.fields["name"]
        if owner_only:
            del self.fields["owners"]

    def clean_members(self) -> list[str]:
        return split_list(self.cleaned_data.get("members") or "")

    def clean_owners(self) -> list[str]:
        return split_list(self.cleaned_data.get("owners") or "")


class FindForm(forms.Form):
    scope = forms.ChoiceField(label=_("Domain"), widget=FastSelect)
    text = forms.CharField(label=_("Alias name"), required=False, max_length=254)
    match = forms.ChoiceField(
        label=_("Match"), choices=list(MATCHES.items()), required=False, widget=FastSelect
    )
    member = forms.CharField(label=_("Member"), required=False, max_length=254)
    owner = forms.CharField(label=_("Owner (login name)"), required=False, max_length=64)
    flag = forms.ChoiceField(
        label=_("Flags"), choices=[(k, v[0]) for k, v in FLAGS.items()], required=False, widget=FastSelect
    )
    sort = forms.ChoiceField(
        label=_("Sort by"), choices=list(SORTS.items()), required=False, widget=FastSelect
    )

    def __init__(self, data: Any, scopes: list[tuple[str, str]]) -> None:
        super().__init__(data)
        field = self.fields["scope"]
        if isinstance(field, forms.ChoiceField):
            field.choices = scopes


class DeleteByNameForm(forms.Form):
    address = forms.CharField(
        label=_("Alias"), max_length=254, help_text=_("The whole address, like sales@example.com.")
    )
