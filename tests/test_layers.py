"""The layers hold, read from the source (ast), not from a running console.

- A view module (anything in a `views/` package, or a module named `*views.py` or `edit.py`) calls services
  for writes and selectors for reads. It does not import `ldap` or `imapclient`, takes nothing but names,
  errors and result types from `mailadmin.imap` (no session, no read), does not call the directory's reads
  (`search*`, `get_entry`, `count`, `roles_for`, ...), and does not build LDAP filters (`filter_eq/and/or`,
  or a literal like "(objectClass=x)").
- An app reaches another app only through its `services` and `selectors` (packages or modules), never its
  views or private modules.
- The core (`mailadmin/`) imports no app.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from mailadmin import imap, imap_names

ROOT = Path(__file__).resolve().parent.parent
CORE = "mailadmin"
APPS = sorted(p.parent.name for p in ROOT.glob("*/apps.py") if p.parent.name != CORE)

PROTOCOL_LIBRARIES = ("ldap", "imapclient")
DIRECTORY = "mailadmin.directory"
IMAP = "mailadmin.imap"
# What a view may take from the Cyrus gateway: the names, errors and result types it re-exports from
# mailadmin.imap_names. Anything else there opens a session to Cyrus.
IMAP_TYPES = frozenset(imap.__all__) & frozenset(vars(imap_names))
# What a view must not call on the directory gateway: its reads (selectors do) and its filter builders.
DIRECTORY_READS = frozenset(
    {
        "count",
        "counts",
        "exists",
        "get_account",
        "get_entry",
        "iter_paged",
        "roles_for",
        "administrators",
        "domain_admins",
        "group_admins",
    }
)
FILTER_BUILDERS = frozenset({"filter_eq", "filter_and", "filter_or"})
# "(objectClass=mailDomain)", "(&(...)(...))", "(uid=" ... : the start of an LDAP filter.
FILTER_LITERAL = re.compile(r"^\((?:[&|!]\(|[A-Za-z][\w;-]*[~<>]?=)")

# Modules of an app that another app may import besides its services and selectors, each with its reason.
# None today: every crossing goes through services or selectors. An entry must name an existing module.
PUBLIC_MODULES: dict[str, str] = {}

# View modules allowed one listed call, with why; each entry must still be needed (a fixed file fails).
KNOWN_EXCEPTIONS: dict[tuple[str, str], str] = {}


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.what}"


def source_files() -> Iterator[Path]:
    for package in (CORE, *APPS):
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.relative_to(ROOT).parts:
                yield path


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def is_view_module(path: Path) -> bool:
    parts = path.relative_to(ROOT).parts
    return "views" in parts[:-1] or path.name.endswith("views.py") or path.name == "edit.py"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path) -> Iterator[tuple[int, str]]:
    """(line, module) for every import, `from a import b` giving both `a` and `a.b` (b may be a module),
    relative imports resolved, and `import_module("...")` calls with a literal name."""
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package.pop()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package[: len(package) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            yield node.lineno, base
            for alias in node.names:
                yield node.lineno, f"{base}.{alias.name}"
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, (ast.Name, ast.Attribute))
            and (node.func.id if isinstance(node.func, ast.Name) else node.func.attr) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield node.lineno, node.args[0].value


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _literal_text(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):  # f"(dc={name}*)": the constant parts, a placeholder between
        return "".join(str(v.value) if isinstance(v, ast.Constant) else "x" for v in node.values)
    return None


def view_findings(source: str, name: str) -> list[Finding]:
    """What in the view module `source` (shown as `name`) talks to a protocol itself."""
    tree = ast.parse(source, name)
    found: list[Finding] = []
    # The names this module binds to the two gateways (`from mailadmin import directory`, `... as d`).
    bound: dict[str, set[str]] = {DIRECTORY: set(), IMAP: set()}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if any(_within(alias.name, lib) for lib in PROTOCOL_LIBRARIES):
                    found.append(Finding(name, node.lineno, f"imports {alias.name}"))
                if alias.name in bound and alias.asname:
                    bound[alias.name].add(alias.asname)
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                if any(_within(node.module, lib) for lib in PROTOCOL_LIBRARIES):
                    found.append(Finding(name, node.lineno, f"imports {full}"))
                elif full in bound:
                    bound[full].add(alias.asname or alias.name)
                elif _within(node.module, DIRECTORY) and _forbidden(alias.name):
                    found.append(Finding(name, node.lineno, f"imports directory.{alias.name}"))
                elif _within(node.module, IMAP) and (node.module != IMAP or alias.name not in IMAP_TYPES):
                    found.append(Finding(name, node.lineno, f"imports {full}"))
    # The constant parts of an f-string are judged with the whole string, not alone.
    parts = {id(v) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for v in node.values}
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if node.value.id in bound[DIRECTORY] and _forbidden(node.attr):
                found.append(Finding(name, node.lineno, f"directory.{node.attr}"))
            elif node.value.id in bound[IMAP] and node.attr not in IMAP_TYPES:
                found.append(Finding(name, node.lineno, f"imap.{node.attr}"))
        if isinstance(node, (ast.Constant, ast.JoinedStr)) and id(node) not in parts:
            text = _literal_text(node)
            if text is not None and FILTER_LITERAL.match(text):
                found.append(Finding(name, node.lineno, f"LDAP filter literal {text!r}"))
    return found


def _forbidden(name: str) -> bool:
    return name.startswith("search") or name in DIRECTORY_READS or name in FILTER_BUILDERS


def view_modules() -> list[Path]:
    return [p for p in source_files() if is_view_module(p)]


def test_the_walk_sees_the_view_modules() -> None:
    seen = {rel(p) for p in view_modules()}
    for expected in (
        "accounts/views/browser.py",
        "aliases/views/addresses.py",
        "folders/views/permissions.py",
        "mailqueue/views/queue.py",
        "mailqueue/disclaimers/views.py",
        "mailqueue/relayrules/edit.py",
        "mailadmin/views/system.py",
        "mailadmin/jobs/views.py",
    ):
        assert expected in seen
    assert "accounts/selectors/pages.py" not in seen and "aliases/services/aliases.py" not in seen
    assert {"accounts", "aliases", "folders", "mailqueue"} <= set(APPS)


def test_views_read_through_selectors_only() -> None:
    findings = [f for p in view_modules() for f in view_findings(p.read_text(), rel(p))]
    unexpected = [f for f in findings if (f.path, f.what) not in KNOWN_EXCEPTIONS]
    assert not unexpected, (
        "Views that talk to a protocol themselves (move the read to a selector):\n"
        + "\n".join(map(str, unexpected))
    )
    stale = set(KNOWN_EXCEPTIONS) - {(f.path, f.what) for f in findings}
    assert not stale, f"Exceptions no longer needed, remove them from KNOWN_EXCEPTIONS: {sorted(stale)}"


def test_the_checks_catch_what_they_name() -> None:
    """The walk itself: each kind of breach in a made-up view module is found, and nothing else."""
    sample = (
        "import ldap\n"
        "from mailadmin import directory as d, imap\n"
        "from mailadmin.directory import filter_and, get_entry\n"
        "d.search_window('b', '(objectClass=mailDomain)', [])\n"
        "d.roles_for('x')\n"
        "f = f'(dc={1}*)'\n"
        "ok = d.valid_dn('x') and d.check_domain('a.test') and '(optional)'\n"
        "from mailadmin.imap import ImapError, mailbox_summary\n"
        "with imap.admin_session() as s:\n"
        "    pass\n"
        "except_these = (imap.ImapError, imap.MailboxNotFound, imap.MAX_QUOTA_KIB)\n"
    )
    found = sorted((f.line, f.what) for f in view_findings(sample, "views.py"))
    assert found == [
        (1, "imports ldap"),
        (3, "imports directory.filter_and"),
        (3, "imports directory.get_entry"),
        (4, "LDAP filter literal '(objectClass=mailDomain)'"),
        (4, "directory.search_window"),
        (5, "directory.roles_for"),
        (6, "LDAP filter literal '(dc=x*)'"),
        (8, "imports mailadmin.imap.mailbox_summary"),
        (9, "imap.admin_session"),
    ]


def _app_of(module: str) -> str | None:
    top = module.split(".")[0]
    return top if top in APPS else None


def _public(module: str, app: str) -> bool:
    if any(_within(module, f"{app}.{layer}") for layer in ("services", "selectors")):
        return True
    return any(_within(module, public) for public in PUBLIC_MODULES)


def test_apps_meet_through_services_and_selectors_only() -> None:
    findings: list[Finding] = []
    for path in source_files():
        here = module_name(path)
        own = _app_of(here)
        if own is None:
            continue
        for line, module in imported_modules(path):
            other = _app_of(module)
            if other is None or other == own or module == other:
                continue  # `from accounts import services` also yields "accounts": the next item decides
            if ".views." in f".{module}." or not _public(module, other):
                findings.append(Finding(rel(path), line, f"imports {module}"))
    assert not findings, "An app reaches into another app (use its services or selectors):\n" + "\n".join(
        map(str, sorted(set(findings), key=str))
    )


def test_the_public_modules_exist() -> None:
    for module in PUBLIC_MODULES:
        path = ROOT / module.replace(".", "/")
        assert path.with_suffix(".py").exists() or (path / "__init__.py").exists(), module


def test_the_core_imports_no_app() -> None:
    findings = [
        Finding(rel(path), line, f"imports {module}")
        for path in source_files()
        if module_name(path).split(".")[0] == CORE
        for line, module in imported_modules(path)
        if _app_of(module) is not None
    ]
    assert not findings, "The core imports an app:\n" + "\n".join(map(str, findings))
