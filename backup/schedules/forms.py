"""The scheduled task form: what to run (a task type and its few parameters) and when (five crontab fields,
each "every" until set, or one of the manual's presets). The checks are the services' own (kinds, crontab);
the form only maps their messages onto its fields. No field strips input: "5\\n" is refused, not mended."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from backup.schedules.crontab import FIELDS, PRESET_CHOICES, Crontab, CrontabError, crontab_check, with_preset
from backup.schedules.kinds import (
    COMPRESSIONS,
    MAX_PARAMS,
    TASK_TYPES,
    ParamsError,
    custom_choices,
    parse_json_params,
    task_build,
)
from backup.schedules.logrotate import MAX_KEEP
from backup.schedules.services import MAX_LABEL, ScheduleInput
from backup.schedules.tempclean import MAX_HOURS

CRON_NAMES = tuple(spec.name for spec in FIELDS)


class ScheduleForm(forms.Form):
    label = forms.CharField(
        label=_("Name"),
        required=False,
        strip=False,
        max_length=MAX_LABEL,
        help_text=_("Shown in the list; left empty, the task's name."),
    )
    task = forms.ChoiceField(label=_("Task"), choices=[(t.key, t.label) for t in TASK_TYPES])
    compression = forms.ChoiceField(
        label=_("Compression"), required=False, choices=[(c, c) for c in COMPRESSIONS]
    )
    domain = forms.CharField(
        label=_("Domain"),
        required=False,
        strip=False,
        max_length=253,
        help_text=_("For “Backup one domain”: the domain whose directory entries and mail are saved."),
    )
    keep = forms.IntegerField(
        label=_("Generations kept"),
        required=False,
        min_value=1,
        max_value=MAX_KEEP,
        help_text=_("For “Rotate log files”: how many compressed old copies of each log stay."),
    )
    daemons = forms.BooleanField(
        label=_("Also the mail system's daemon logs"),
        required=False,
        help_text=_("For “Rotate log files”: the logs of OpenLDAP, Postfix, Cyrus and the other daemons."),
    )
    older_than_hours = forms.IntegerField(
        label=_("Older than (hours)"),
        required=False,
        min_value=1,
        max_value=MAX_HOURS,
        help_text=_(
            "For “Clean up temporary files”: leftovers of imports and unfinished backups untouched this long "
            "are removed."
        ),
    )
    custom_kind = forms.ChoiceField(label=_("Job"), required=False, choices=())
    custom_params = forms.CharField(
        label=_("Parameters (JSON)"),
        required=False,
        strip=False,
        max_length=MAX_PARAMS,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("For “Custom”: the job's parameters as a JSON object; {} for none. Checked by the job."),
    )
    preset = forms.ChoiceField(
        label=_("Preset"),
        required=False,
        choices=[("", _("(keep the fields)")), *PRESET_CHOICES],
        help_text=_("Fills the five fields below (Disabled switches the task off)."),
    )
    minute = forms.CharField(label=FIELDS[0].label, required=False, strip=False, max_length=100)
    hour = forms.CharField(label=FIELDS[1].label, required=False, strip=False, max_length=100)
    day_of_month = forms.CharField(label=FIELDS[2].label, required=False, strip=False, max_length=100)
    month_of_year = forms.CharField(label=FIELDS[3].label, required=False, strip=False, max_length=100)
    day_of_week = forms.CharField(label=FIELDS[4].label, required=False, strip=False, max_length=100)
    enabled = forms.BooleanField(label=_("Enabled"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["custom_kind"].choices = [("", "—"), *custom_choices()]  # type: ignore[attr-defined]
        for spec in FIELDS:
            self.fields[spec.name].help_text = spec.help
            self.fields[spec.name].widget.attrs.update(placeholder="*", size="8", autocomplete="off")
        self.spec: ScheduleInput | None = None

    def _crontab(self, data: dict[str, Any]) -> Crontab | None:
        values = {name: data.get(name) or "" for name in CRON_NAMES}
        preset = data.get("preset") or ""
        if preset == "disabled":
            data["enabled"] = False
        elif preset:
            values = with_preset(Crontab(), preset).as_dict()
        try:
            return crontab_check(values)
        except CrontabError as exc:
            self.add_error(exc.field if exc.field in self.fields else None, str(exc.message))
            return None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        cron = self._crontab(data)
        values = {k: v for k, v in data.items() if v is not None}
        try:
            if data.get("task") == "custom":
                values["custom_params"] = parse_json_params(data.get("custom_params") or "")
            task = task_build(str(data.get("task")), values)
        except ParamsError as exc:
            self.add_error(exc.field if exc.field in self.fields else None, exc.message)
            return data
        if cron is not None:
            label = data.get("label") or ""
            self.spec = ScheduleInput(label=label, task=task, crontab=cron, enabled=bool(data.get("enabled")))
        return data


def initial_values() -> dict[str, Any]:
    default = settings.BACKUP_COMPRESSION if settings.BACKUP_COMPRESSION in COMPRESSIONS else "zstd"
    return {
        "task": "backup_cfg",
        "compression": default,
        "keep": 7,
        "daemons": True,
        "older_than_hours": 24,
        "custom_params": "{}",
        "enabled": True,
        **with_preset(Crontab(), "daily").as_dict(),
    }


def filled_in(post: Any) -> dict[str, Any]:
    """ "Fill in" pressed: the form as typed, with the preset's fields in place (nothing saved)."""
    values: dict[str, Any] = {name: post.get(name, "") for name in ScheduleForm.base_fields}
    values["enabled"] = post.get("enabled") in ("on", "true", "1")
    values["daemons"] = post.get("daemons") in ("on", "true", "1")
    preset = post.get("preset", "")
    if preset == "disabled":
        values["enabled"] = False
    elif preset in dict(PRESET_CHOICES):
        current = Crontab(**{name: str(post.get(name, "")) or "*" for name in CRON_NAMES})
        values.update(with_preset(current, preset).as_dict())
    values["preset"] = ""
    return values
