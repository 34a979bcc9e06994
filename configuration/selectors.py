"""Reads of the Configuration menu: the services, each parameter with its default, running and stored value,
the history, hand edits of the managed files, and the help browser's search (CFG-06)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from configuration.models import ConfigChange
from configuration.services import Unavailable, target
from mailadmin.configfiles import store
from mailadmin.configfiles.change import diff
from mailadmin.configfiles.registry import Kind, Param, Registry
from mailadmin.configfiles.registry.catalog import REGISTRIES, every_param, registry
from mailadmin.configfiles.registry.postfix_uce import UCE
from mailadmin.stack import StackError


@dataclass(frozen=True)
class Field:
    param: Param
    default: str | None
    running: str | None  # None: not set in the file, so the default applies
    stored: str | None  # what the menu set; None: the renderer's value or the daemon's default

    @property
    def shown_running(self) -> str | None:
        return diff.HIDDEN if self.param.secret and self.running else self.running


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    fields: list[Field]


@dataclass(frozen=True)
class ServicePage:
    registry: Registry
    version: int
    sections: list[Section]
    hand_edits: dict[str, str]  # file -> diff of the edit (what the menu last wrote -> what is on disk)

    @property
    def shown_names(self) -> set[str]:
        """The parameters with a field on the page (an error for any other is shown above the form)."""
        return {f.param.name for s in self.sections for f in s.fields}


def services() -> list[Registry]:
    return list(REGISTRIES.values())


def known(service: str) -> Registry | None:
    return registry(service)


def service_page(service: str) -> ServicePage:
    svc, reg, menu = target(service)
    stored = store.load(menu, service)
    defaults = dict(getattr(svc, "defaults", dict)())
    running = dict(getattr(svc, "values_of", lambda _d: {})(None))
    sections = []
    for group in reg.groups:
        fields = [
            Field(
                param=p,
                default=defaults.get(p.name),
                running=running.get(p.name),
                stored=stored.values.get(p.name),
            )
            for p in reg.in_group(group.key)
            if p.kind is not Kind.RULES  # the checks tables have their own pages (views/checks.py)
        ]
        if not fields:
            continue
        sections.append(Section(key=group.key, title=str(group.title), fields=fields))
    return ServicePage(
        registry=reg, version=stored.version, sections=sections, hand_edits=hand_edits(service)
    )


def hand_edits(service: str) -> dict[str, str]:
    """Each managed file that differs from what the stored values render: somebody edited it by hand (or
    the stack's start kept such an edit aside). Shown, never silently overwritten."""
    svc, _reg, menu = target(service)
    rendered = svc.render(store.values(menu, service))
    out = {}
    for name, text in rendered.items():
        try:
            on_disk = svc.config_path(name).read_text(encoding="utf-8")
        except FileNotFoundError:
            continue
        if on_disk != text:
            out[name] = diff.file_diff(name, text, on_disk).replace("(running)", "(written by the console)")
    return out


def history(service: str) -> QuerySet[ConfigChange]:
    return ConfigChange.objects.filter(service=service)


def change(service: str, pk: int) -> ConfigChange | None:
    return ConfigChange.objects.filter(service=service, pk=pk).first()


@dataclass(frozen=True)
class Hit:
    registry: Registry
    param: Param
    group_title: str


def search_help(query: str, *, limit: int = 200) -> list[Hit]:
    """Parameters of every service whose name or help contains every word of `query` (case-insensitive)."""
    words = [w for w in query.casefold().split() if w][:10]
    hits = []
    for reg, param in every_param():
        haystack = f"{param.name} {param.help} {param.example} {param.unit}".casefold()
        if all(w in haystack for w in words):
            title = next((str(g.title) for g in reg.groups if g.key == param.group), param.group)
            hits.append(Hit(registry=reg, param=param, group_title=title))
            if len(hits) >= limit:
                break
    return hits


def current_version(service: str) -> int | None:
    """The stored version running now (None when the service cannot be reached)."""
    try:
        return store.load(target(service)[2], service).version
    except Unavailable:
        return None


@dataclass(frozen=True)
class Restriction:
    name: str
    written: str  # as main.cf has it
    expanded: str  # with every $parameter replaced, as smtpd walks it


def uce_page() -> tuple[ServicePage, list[Restriction], str]:
    """The UCE controls of the Postfix service (their own group) and the restriction lists they end up in,
    read from the running configuration by postconf; the third item says why the lists could not be read
    (postconf warns about a hand edit, say) and is empty otherwise."""
    page = service_page("postfix")
    only = [s for s in page.sections if s.key == UCE]
    svc, _reg, _menu = target("postfix")
    problem = ""
    try:
        lists: list[tuple[str, str, str]] = getattr(svc, "restrictions", lambda: [])()
    except StackError as exc:
        lists, problem = [], str(exc)
    return (
        ServicePage(registry=page.registry, version=page.version, sections=only, hand_edits=page.hand_edits),
        [Restriction(name, written, expanded) for name, written, expanded in lists],
        problem,
    )
