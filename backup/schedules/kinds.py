"""What a scheduled task can start: the manual's backups (configuration, LDAP, mail store, one domain), log
rotation, temp clean-up, and "custom" — any console job kind its owner marked schedulable, with the parameters
that kind's own checker accepts. A task is always a registered job kind with checked JSON parameters, never a
command line.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from backup.schedules.logrotate import ROTATE_LOGS, check_rotate
from backup.schedules.tempclean import CLEAN_TEMP, check_clean
from mailadmin import directory
from mailadmin.directory import InvalidName, check_domain, dit
from mailadmin.jobs.services import job_kind_get, schedulable_kinds

if TYPE_CHECKING:
    from django_stubs_ext import StrPromise

BACKUP_KIND = "backup.create"
COMPRESSIONS = ("zstd", "gzip", "xz")
MAX_PARAMS = 4096  # characters of a custom task's JSON parameters


class ParamsError(Exception):
    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True)
class TaskType:
    key: str
    label: StrPromise
    kind: str  # the job kind it starts; "" for custom (the form names it)
    backup: str = ""  # the backup's "what"


TASK_TYPES: tuple[TaskType, ...] = (
    TaskType("backup_cfg", gettext_lazy("Backup configuration"), BACKUP_KIND, "cfg"),
    TaskType("backup_ldap", gettext_lazy("Backup LDAP"), BACKUP_KIND, "ldap"),
    TaskType("backup_mail", gettext_lazy("Backup mail store"), BACKUP_KIND, "mail"),
    TaskType("backup_domain", gettext_lazy("Backup one domain"), BACKUP_KIND, "domain"),
    TaskType("rotate_logs", gettext_lazy("Rotate log files"), ROTATE_LOGS),
    TaskType("clean_temp", gettext_lazy("Clean up temporary files"), CLEAN_TEMP),
    TaskType("custom", gettext_lazy("Custom"), ""),
)
BY_KEY = {t.key: t for t in TASK_TYPES}


@dataclass(frozen=True)
class Task:
    """A checked task: the type chosen on the page, the job kind it starts and that job's parameters."""

    type: str
    kind: str
    params: dict[str, Any]
    domains: tuple[str, ...] = field(default=())

    @property
    def label(self) -> str:
        if self.type == "custom":
            spec = job_kind_get(self.kind)
            return f"{_('Custom')}: {_(spec.title) if spec else self.kind}"
        known = BY_KEY.get(self.type)
        return str(known.label) if known else self.kind


def custom_choices() -> list[tuple[str, str]]:
    return [(k.kind, _(k.title)) for k in schedulable_kinds()]


def _domain(value: object) -> str:
    try:
        name = check_domain(str(value or "").strip())
    except InvalidName as exc:
        raise ParamsError(_("Give the name of one of the console's domains."), "domain") from exc
    if not directory.exists(dit.domain_dn(name)):
        raise ParamsError(_("The console has no domain %(name)s.") % {"name": name}, "domain")
    return name


def _backup(task: TaskType, data: Mapping[str, Any]) -> Task:
    compression = str(data.get("compression") or "")
    if compression not in COMPRESSIONS:
        raise ParamsError(_("Choose zstd, gzip or xz."), "compression")
    domain = _domain(data.get("domain")) if task.backup == "domain" else ""
    params = {"what": task.backup, "domain": domain, "compression": compression}
    spec = job_kind_get(BACKUP_KIND)
    if spec is not None and spec.check is not None:
        params = _kind_check(spec.check, params, "task")
    return Task(task.key, BACKUP_KIND, params, (domain,) if domain else ())


def _kind_check(check: Any, params: dict[str, Any], field_name: str) -> dict[str, Any]:
    try:
        cleaned: dict[str, Any] = check(dict(params))
    except (InvalidName, ValueError, TypeError) as exc:
        raise ParamsError(str(exc) or _("These parameters are not accepted."), field_name) from exc
    return cleaned


def parse_json_params(text: str) -> dict[str, Any]:
    text = (text or "").strip() or "{}"
    if len(text) > MAX_PARAMS:
        raise ParamsError(_("The parameters are too long."), "custom_params")
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise ParamsError(_("The parameters must be a JSON object, like {}."), "custom_params") from exc
    if not isinstance(value, dict):
        raise ParamsError(_("The parameters must be a JSON object, like {}."), "custom_params")
    return value


def custom_task(kind: str, params: dict[str, Any]) -> Task:
    """A schedulable kind with parameters its checker accepts (no checker: no parameters)."""
    spec = job_kind_get(kind)
    if spec is None or not spec.schedulable:
        raise ParamsError(_("Choose one of the listed jobs."), "custom_kind")
    if spec.check is None:
        if params:
            raise ParamsError(_("This job takes no parameters: leave them empty."), "custom_params")
        return Task("custom", kind, {})
    return Task("custom", kind, _kind_check(spec.check, params, "custom_params"))


def task_build(task_type: str, data: Mapping[str, Any]) -> Task:
    """The task a form's values describe, checked; ParamsError names the field that is wrong."""
    task = BY_KEY.get(task_type)
    if task is None:
        raise ParamsError(_("Choose a task."), "task")
    if task.kind == BACKUP_KIND:
        return _backup(task, data)
    if task.kind == ROTATE_LOGS:
        rotate: dict[str, Any] = {"daemons": bool(data.get("daemons"))}
        if data.get("keep") is not None:
            rotate["keep"] = data["keep"]
        return Task(task.key, ROTATE_LOGS, _kind_check(check_rotate, rotate, "keep"))
    if task.kind == CLEAN_TEMP:
        clean = {} if data.get("older_than_hours") is None else {"older_than_hours": data["older_than_hours"]}
        return Task(task.key, CLEAN_TEMP, _kind_check(check_clean, clean, "older_than_hours"))
    custom = data.get("custom_params")
    return custom_task(str(data.get("custom_kind") or ""), custom if isinstance(custom, dict) else {})


def task_recheck(task_type: str, kind: str, params: dict[str, Any]) -> Task:
    """A stored task checked again (at each run): the domain may be gone, a kind's rules may have changed."""
    task = BY_KEY.get(task_type)
    if task is None:
        raise ParamsError(_("Choose a task."), "task")
    if task.kind == BACKUP_KIND:
        return _backup(task, params)
    if task.kind in (ROTATE_LOGS, CLEAN_TEMP):
        check = check_rotate if task.kind == ROTATE_LOGS else check_clean
        return Task(task.key, task.kind, _kind_check(check, params, "task"))
    return custom_task(kind, params)


def form_values(task: Task) -> dict[str, Any]:
    """The form's initial values for a stored task (the inverse of task_build)."""
    values: dict[str, Any] = {"task": task.type}
    if task.kind == BACKUP_KIND:
        values.update(domain=task.params.get("domain", ""), compression=task.params.get("compression"))
    elif task.type == "rotate_logs":
        values.update(keep=task.params.get("keep"), daemons=task.params.get("daemons"))
    elif task.type == "clean_temp":
        values.update(older_than_hours=task.params.get("older_than_hours"))
    else:
        values.update(custom_kind=task.kind, custom_params=json.dumps(task.params, sort_keys=True))
    return values
