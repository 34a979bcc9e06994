"""The import form: the file(s) of one kind of import, where the accounts go, and the account options of
"Create User" that apply where the file says nothing."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _

from accounts.services.folders import LANGUAGES
from mailadmin.actor import Actor
from mailadmin.directory import InvalidName, dit
from mailadmin.imap_names import MAX_QUOTA_KIB
from migration.parsers import Parser
from migration.pipeline import Options
from migration.selectors import may_import_into

MAX_DN = 1024


class ImportForm(forms.Form):
    container = forms.CharField(label=_("Import into"), max_length=MAX_DN)
    ignore_places = forms.BooleanField(
        label=_("Put every account into this container"),
        required=False,
        help_text=_(
            "Otherwise each entry goes where the file places it (its DN), which must be inside the chosen "
            "container."
        ),
    )
    create_mailbox = forms.BooleanField(label=_("Create mailbox"), required=False, initial=True)
    quota_mib = forms.IntegerField(
        label=_("Set quota"),
        required=False,
        min_value=0,
        max_value=MAX_QUOTA_KIB // 1024,
        help_text=_("In MiB. Empty: no limit. A quota in the file (mailQuota) wins."),
    )
    groupware_folders = forms.BooleanField(label=_("Create Outlook folders"), required=False)
    folder_language = forms.ChoiceField(
        label=_("Folder language"), choices=LANGUAGES, initial="en", required=False
    )
    web_access = forms.BooleanField(label=_("Access WebClient"), required=False)
    send_local_only = forms.BooleanField(label=_("Send only local mail"), required=False)
    receive_local_only = forms.BooleanField(label=_("Receive only local mail"), required=False)

    OPTIONS = (
        "ignore_places",
        "create_mailbox",
        "quota_mib",
        "groupware_folders",
        "folder_language",
        "web_access",
        "send_local_only",
        "receive_local_only",
    )

    def __init__(
        self,
        *args: Any,
        parser: Parser,
        actor: Actor,
        containers: list[str] | None,
        too_big: int = 0,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.parser, self.actor, self.too_big = parser, actor, too_big
        if containers is not None:
            self.fields["container"] = forms.ChoiceField(
                label=_("Import into"), choices=[(dn, dn) for dn in containers]
            )
        else:
            self.fields["container"].help_text = _(
                "The DN of an organization or group you may create users in."
            )
        for slot in parser.slots:
            self.fields[slot.name] = forms.FileField(
                label=slot.label, required=slot.required and not too_big, allow_empty_file=False
            )
        self.parser_fields = parser.fields()
        self.fields.update(self.parser_fields)

    def clean_container(self) -> str:
        dn = str(self.cleaned_data["container"]).strip()
        if not dit.valid_dn(dn) or not may_import_into(self.actor, dn):
            raise forms.ValidationError(_("Choose an organization or group you may create users in."))
        return dn

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.too_big:
            first = self.parser.slots[0].name
            self.add_error(
                first,
                _t("The upload is larger than %(mib)d MiB; nothing was kept. Split the file.")
                % {"mib": self.too_big // (1024 * 1024)},
            )
        if data.get("groupware_folders") and not data.get("create_mailbox"):
            self.add_error(
                "groupware_folders", _('Groupware folders need a mailbox: tick "Create mailbox" too.')
            )
        if not self.errors:
            try:
                self.options()
            except InvalidName as exc:
                self.add_error(None, str(exc))
        return data

    def options(self) -> Options:
        """The options of a valid form, checked like the job checks them."""
        d = self.cleaned_data
        quota = d.get("quota_mib")
        return Options(
            container_dn=d["container"],
            ignore_places=bool(d.get("ignore_places")),
            create_mailbox=bool(d.get("create_mailbox")),
            quota_kib=None if quota is None else quota * 1024,
            groupware_folders=bool(d.get("groupware_folders")),
            folder_language=d.get("folder_language") or "en",
            web_access=bool(d.get("web_access")),
            send_local_only=bool(d.get("send_local_only")),
            receive_local_only=bool(d.get("receive_local_only")),
            params={name: d.get(name) for name in self.parser_fields},
        ).checked()
