"""The parameter registries of the Configuration menu (CFG-01, CFG-06): one per service, in code.

A `Param` says what a parameter is (its kind, range, choices, whether `$name` expansion is allowed), where the
menu shows it (its group) and what it does (help in our own words, with its unit and an example). `check`
turns what an administrator typed into the exact text written to the file, or raises ConfigValueError with a
message for the form. Defaults are not stored here: each service asks its daemon (`postconf -d`,
`cyr_info conf-default`, slapd's schema defaults), so the registry never drifts from the installed version.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from django.utils.functional import Promise

from mailadmin.configfiles import values as v
from mailadmin.configfiles.values import tr as _

# A value longer than this is refused before any other check (a 10 kB paste is a mistake, not a setting).
MAX_VALUE = 2048
_NUMBER = re.compile(r"[0-9]{1,12}")
_TABLE = re.compile(r"(?P<type>[a-z][a-z0-9_]*):(?P<path>/\S+)")
_LIST_ITEM = re.compile(r"[A-Za-z0-9_.:/@=+\-\[\]\{\}]+")


class Kind(enum.StrEnum):
    TEXT = "text"  # one line of free text (still no newline, comment, continuation or, unless allowed, $)
    NUMBER = "number"  # an integer in [minimum, maximum]
    SIZE = "size"  # an integer amount of `unit` (bytes unless the help says otherwise)
    TIME = "time"  # a duration: a number with an optional unit letter from `time_units`
    BOOLEAN = "boolean"  # one of `bool_words` (true spelling, false spelling)
    CHOICE = "choice"  # one of `choices`
    TABLES = "tables"  # lookup tables: type:/path, separated by ", " (Postfix)
    LIST = "list"  # words separated by ", " or " " (mechanisms, networks, names); `pattern` per item
    DN = "dn"  # an LDAP distinguished name without escapes
    PATH = "path"  # an absolute path inside one of the service's allowed directories
    HOST = "host"  # a host name or IPv4 address
    SECRET = "secret"  # noqa: S105 - a password: never shown, never in an error message or a diff
    RULES = "rules"  # a header/body checks table: its rules as JSON (postfix/checks.py), never a main.cf line


@dataclass(frozen=True)
class Group:
    key: str
    title: str | Promise


@dataclass(frozen=True)
class Param:
    name: str
    kind: Kind
    group: str  # a Group.key of the same registry
    help: str | Promise  # what it does, its unit and an example, in our own words
    unit: str = ""  # shown beside the field: "bytes", "seconds", "KiB", ...
    example: str = ""
    minimum: int | None = None
    maximum: int | None = None
    choices: tuple[str, ...] = ()
    bool_words: tuple[str, str] = ("yes", "no")
    time_units: str = "smhdw"  # Postfix: s m h d w; "" means a bare number of `unit`
    pattern: re.Pattern[str] | None = None  # TEXT: the whole value; LIST: each item
    dollar: bool = False  # the value may name other parameters as $name (Postfix only)
    empty: bool = False  # an empty value is meaningful (Postfix: "none")
    table_types: tuple[str, ...] = ()  # TABLES: allowed lookup types; () = the service's default set
    # Shown in the menu and the help browser, never editable: why (for example, the stack's mail flow
    # depends on it). A fixed parameter is refused by `check`.
    fixed: str | Promise = ""
    # Needs a restart of the daemon rather than a reload to take effect (shown next to the field).
    restart: bool = False
    # slapd: the cn=config entry the attribute lives in ("global", "frontend", "mdb", "ppolicy", ...).
    target: str = ""
    # Characters the file this parameter is written into gives a meaning of its own (e.g. "%" in an ldap:
    # table, which expands it), refused by `check` so the form says so rather than the renderer.
    forbid: str = ""

    @property
    def secret(self) -> bool:
        return self.kind is Kind.SECRET


@dataclass(frozen=True)
class Registry:
    service: str  # "postfix", "cyrus", "slapd", "nginx", "proftpd"
    title: str | Promise
    file: str  # what the menu says it changes: "main.cf", "imapd.conf", "cn=config", ...
    groups: Sequence[Group]
    params: Sequence[Param]
    _index: dict[str, Param] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index = {p.name: p for p in self.params}
        if len(index) != len(self.params):
            raise ValueError(f"{self.service}: a parameter is listed twice")
        keys = {g.key for g in self.groups}
        stray = sorted(p.name for p in self.params if p.group not in keys)
        if stray:
            raise ValueError(f"{self.service}: parameters in no group: {', '.join(stray)}")
        object.__setattr__(self, "_index", index)

    def __contains__(self, name: object) -> bool:
        return name in self._index

    def __getitem__(self, name: str) -> Param:
        return self._index[name]

    def get(self, name: str) -> Param | None:
        return self._index.get(name)

    def in_group(self, key: str) -> list[Param]:
        return [p for p in self.params if p.group == key]

    def editable(self) -> list[Param]:
        return [p for p in self.params if not p.fixed]


def check(param: Param, raw: object, *, allowed_dirs: Iterable[str] = (), forbid: str = "") -> str:
    """The text to write for `raw`, or ConfigValueError naming the parameter and the problem.

    `allowed_dirs`: the absolute directories a PATH or a table's file may lie in. `forbid`: characters the
    service's file format gives a meaning of its own (checked for every kind).
    """
    name = param.name
    forbid += param.forbid
    if param.fixed:
        raise v.ConfigValueError(name, _("is set by the console and cannot be changed here"))
    if not isinstance(raw, str):
        raise v.ConfigValueError(name, _("must be text"), None, secret=True)
    if param.kind is Kind.RULES:
        # checked as a whole by its own module (rule by rule, with a larger length cap)
        from mailadmin.configfiles.postfix import checks

        return checks.canonical(checks.parse(name, raw))
    if len(raw) > MAX_VALUE:
        raise v.ConfigValueError(name, _("is longer than %(n)s characters") % {"n": MAX_VALUE})
    if raw == "" and param.empty:
        return ""
    kind = param.kind
    if kind is Kind.SECRET:
        return v.text(name, raw, forbid=forbid + " ", secret=True, max_length=512)
    text = v.text(name, raw, allow_dollar=param.dollar, forbid=forbid, max_length=MAX_VALUE)
    if kind is Kind.TEXT:
        if param.pattern is not None and not param.pattern.fullmatch(text):
            shape = param.example or param.pattern.pattern
            raise v.ConfigValueError(name, _("must look like %(shape)s") % {"shape": shape}, raw)
        return text
    if kind in (Kind.NUMBER, Kind.SIZE):
        if not _NUMBER.fullmatch(text):
            raise v.ConfigValueError(name, _number(param), raw)
        return str(v.integer(name, int(text), minimum=param.minimum, maximum=param.maximum))
    if kind is Kind.TIME:
        return _time(param, text)
    if kind is Kind.BOOLEAN:
        words = {w.lower(): w for w in param.bool_words}
        if text.lower() not in words:
            yes, no = param.bool_words[0], param.bool_words[1]
            raise v.ConfigValueError(name, _("must be %(yes)s or %(no)s") % {"yes": yes, "no": no}, raw)
        return words[text.lower()]
    if kind is Kind.CHOICE:
        return v.choice(name, text, param.choices)
    if kind is Kind.DN:
        return v.dn(name, text)
    if kind is Kind.HOST:
        return v.host(name, text)
    if kind is Kind.PATH:
        return inside(name, v.path(name, text), allowed_dirs)
    if kind is Kind.TABLES:
        return _tables(param, text, allowed_dirs)
    if kind is Kind.LIST:
        return _list(param, text)
    raise v.ConfigValueError(name, f"has an unknown kind {kind!r}")  # pragma: no cover - enum is closed


def inside(name: str, path: str, allowed_dirs: Iterable[str]) -> str:
    roots = [PurePosixPath(d) for d in allowed_dirs]
    candidate = PurePosixPath(path)
    if ".." in candidate.parts or not any(candidate == r or r in candidate.parents for r in roots):
        shown = ", ".join(str(r) for r in roots) or "(none)"
        raise v.ConfigValueError(
            name, _("must be a file or directory under %(dirs)s") % {"dirs": shown}, path
        )
    return path


def _number(param: Param) -> str:
    if param.unit:
        return _("must be a whole number of %(unit)s") % {"unit": param.unit}
    return _("must be a whole number")


def _time(param: Param, text: str) -> str:
    units = re.escape(param.time_units)
    shape = re.compile(rf"[0-9]{{1,9}}[{units}]?" if units else r"[0-9]{1,9}")
    if not shape.fullmatch(text):
        problem = _number(param)
        if param.time_units:
            problem += _(", optionally followed by one of %(units)s") % {"units": param.time_units}
        raise v.ConfigValueError(param.name, problem, text)
    number = int(text.rstrip(param.time_units) if param.time_units else text)
    v.integer(param.name, number, minimum=param.minimum, maximum=param.maximum)
    return text


def _tables(param: Param, text: str, allowed_dirs: Iterable[str]) -> str:
    dirs = tuple(allowed_dirs)
    items = [item for item in re.split(r"[,\s]+", text) if item]
    if not items:
        raise v.ConfigValueError(param.name, _("must name at least one table (type:/path) or be empty"))
    allowed_types = param.table_types or ("hash", "lmdb", "cidr", "pcre", "regexp", "ldap", "texthash")
    out = []
    for i, item in enumerate(items):
        match = _TABLE.fullmatch(item)
        if not match:
            raise v.ConfigValueError(f"{param.name}[{i}]", _("must be a table like hash:/path/to/file"), item)
        if match["type"] not in allowed_types:
            raise v.ConfigValueError(
                f"{param.name}[{i}]",
                _("lookup type must be one of %(types)s") % {"types": ", ".join(allowed_types)},
                item,
            )
        inside(f"{param.name}[{i}]", v.path(f"{param.name}[{i}]", match["path"]), dirs)
        out.append(item)
    return ", ".join(out)


def _list(param: Param, text: str) -> str:
    items = [item for item in re.split(r"[,\s]+", text) if item]
    if not items:
        raise v.ConfigValueError(param.name, _("must have at least one entry"), text)
    item_shape = param.pattern or _LIST_ITEM
    for i, item in enumerate(items):
        if not item_shape.fullmatch(item) or ("$" in item and not param.dollar):
            raise v.ConfigValueError(f"{param.name}[{i}]", "is not an allowed entry", item)
    return ", ".join(items) if "," in text else " ".join(items)


def by_name(params: Sequence[Param]) -> dict[str, Param]:
    return {p.name: p for p in params}
