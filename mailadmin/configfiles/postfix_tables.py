"""Postfix's `ldap:` lookup table files (ldap_table(5)): rendered, proven with postmap, then installed."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mailadmin import postfix
from mailadmin.configfiles import values as v
from mailadmin.configfiles.files import atomic_write, fsync_dir, with_header

SOURCE = "mailadmin/configfiles/postfix_tables.py"


@dataclass(frozen=True)
class LdapTable:
    """One postfix-ldap lookup table (ldap_table(5)). `query_filter` may use %s %u %d, nothing else."""

    name: str
    server_uri: str
    bind_dn: str
    bind_pw: str
    search_base: str
    query_filter: str
    result_attribute: str
    result_format: str = ""
    scope: str = "sub"
    # Only keys of these domains are looked up (ldap_table `domain`): no LDAP query for other domains.
    domains: Sequence[str] = ()
    timeout: int = 5
    # Also in `domain`: tables (TYPE:/path) keyed by domain, e.g. the hosted domains, so the list follows
    # the directory (system aliases apply to hosted domains only, never to a remote postmaster@).
    domain_tables: Sequence[str] = ()
    # ldap_table(5) settings from the Configuration menu (checked by its registry): each replaces the line of
    # that name or is added; never the contract's own (query_filter, result_attribute, ...).
    settings: Mapping[str, str] = field(default_factory=dict)


def table_ref(name: str, ref: str) -> str:
    """`type:/absolute/path`; the type names the lookup table kind, the path its file."""
    kind, sep, where = ref.partition(":")
    if not sep or kind not in {"ldap", "hash", "lmdb", "texthash", "inline", "static", "proxy"}:
        raise v.ConfigValueError(name, "must be TYPE:/path with a known table type", ref)
    if kind == "proxy":
        table_ref(name, where)
    elif kind not in {"inline", "static"}:
        v.path(name, where)
    return v.text(name, ref, forbid=", ")


def render_ldap_table(t: LdapTable) -> str:
    """The file holds bind_pw: write it mode 0640 root:postfix (the lookups run as user postfix)."""
    v.word("name", t.name)
    lines = [
        ("server_host", v.ldap_uri(f"{t.name}.server_uri", t.server_uri)),
        ("version", "3"),
        ("bind", "yes"),
        ("bind_dn", v.dn(f"{t.name}.bind_dn", t.bind_dn)),
        ("bind_pw", v.secret(f"{t.name}.bind_pw", t.bind_pw, forbid="%")),
        ("search_base", v.dn(f"{t.name}.search_base", t.search_base)),
        ("scope", v.choice(f"{t.name}.scope", t.scope, ("sub", "one", "base"))),
        ("query_filter", _filter(f"{t.name}.query_filter", t.query_filter)),
        # one attribute, or several separated by commas ("mailForward,uid")
        ("result_attribute", ", ".join(v.words(f"{t.name}.result_attribute", t.result_attribute.split(",")))),
        ("timeout", str(v.integer(f"{t.name}.timeout", t.timeout, minimum=1, maximum=300))),
    ]
    if t.result_format:
        lines.append(("result_format", _filter(f"{t.name}.result_format", t.result_format)))
    if t.domains or t.domain_tables:
        names = [v.host(f"{t.name}.domains[{i}]", d) for i, d in enumerate(t.domains)]
        names += [table_ref(f"{t.name}.domain_tables[{i}]", d) for i, d in enumerate(t.domain_tables)]
        lines.append(("domain", ", ".join(names)))
    for key, value in t.settings.items():
        if key not in MENU_SETTINGS:
            raise v.ConfigValueError(f"{t.name}.{key}", "is not a table setting the menu may change")
        checked = v.text(f"{t.name}.{key}", value, forbid="%")
        lines = [(k, checked if k == key else val) for k, val in lines]
        if key not in {k for k, _ in lines}:
            lines.append((key, checked))
    body = "".join(f"{key} = {value}\n" for key, value in lines)
    return with_header(body, source=SOURCE)


# What the menu's `ldap_*` parameters may set in a table (mailadmin/configfiles/registry/postfix_ldap.py)
# besides the server, base, bind DN and password, which PostfixMaps takes as fields.
MENU_SETTINGS = frozenset(
    {
        "server_port",
        "timeout",
        "version",
        "size_limit",
        "start_tls",
        "tls_require_cert",
        "tls_ca_cert_file",
    }
)


def _filter(name: str, value: str) -> str:
    """ldap_table expands %s %u %d %S %U %D %[1-9] and %%; any other %-sequence is a mistake."""
    checked = v.text(name, value)
    i = 0
    while i < len(checked):
        if checked[i] == "%":
            nxt = checked[i + 1 : i + 2]
            if nxt not in set("sudSUD123456789%"):
                raise v.ConfigValueError(name, f"unknown expansion %{nxt}", value)
            i += 2
            continue
        i += 1
    return checked


def install_ldap_table(table: LdapTable, target: Path, *, config_dir: Path, group: str = "postfix") -> Path:
    """Render `table`, prove it with `postmap -q` from a staging file beside `target`, then rename it over
    `target`. On any refusal the old table stays and no staging file is left behind.

    The probe looks up a key that cannot exist: a bind or filter error makes postmap complain (PostfixError),
    and an answer means the filter matches everything, which would be worse than an error.
    """
    text = render_ldap_table(table)  # ConfigValueError before anything is written
    staging = target.with_name(f".{target.name}.new")
    atomic_write(staging, text, mode=0o640, group=group, backdate=3)
    try:
        probe_domain = table.domains[0] if table.domains else "mailadmin.invalid"
        key = f"mailadmin-probe-{secrets.token_hex(4)}@{probe_domain}"
        answer = postfix.postmap_query(key, f"ldap:{staging}", config_dir)
        if answer is not None:
            raise postfix.PostfixError(
                f"table {table.name}: the probe key {key} found {answer!r}; the filter matches too much"
            )
        os.replace(staging, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            staging.unlink()
        raise
    fsync_dir(target.parent)  # the rename survives a crash
    return target
