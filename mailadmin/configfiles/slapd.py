"""The cn=config bootstrap LDIF for slapd (OpenLDAP 2.5, mdb), fed to `slapadd -n0`.

Rendering the whole cn=config from one LDIF keeps the server's configuration in the repository: a fresh
slapd.d is built from it on every start of the private stack, and `slaptest`/`slapadd` validate it.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mailadmin.configfiles import values as v
from mailadmin.configfiles.files import with_header
from mailadmin.configfiles.slapd_acl import ATTRIBUTE_LIST, PEERCRED_ROOT, access_rules

_INDEX_KINDS = re.compile(r"(?:pres|eq|sub|approx)(?:,(?:pres|eq|sub|approx))*")
PASSWORD_MODULES = ("pw-sha2", "pw-pbkdf2", "argon2")
STANDARD_SCHEMAS = ("core", "cosine", "nis", "inetorgperson", "misc")  # misc: nisMailAlias, rfc822MailMember

# Every attribute Postfix, saslauthd or the console filters on; an unindexed filter is a full scan per lookup.
DEFAULT_INDEXES: tuple[tuple[str, str], ...] = (
    ("objectClass", "eq"),
    ("uid,mail,cn", "eq,sub"),
    ("mailAlias", "eq,sub"),
    ("mailForward", "eq,pres"),
    ("dc", "eq"),
    ("mailEnabled", "eq"),
    ("member", "eq"),
    ("memberOf", "eq"),
    ("mailAdministrator", "eq"),
    ("mailAliasOwner", "eq"),
    ("mailDomainAlias", "eq"),
    ("rfc822MailMember", "eq"),
    ("entryUUID", "eq"),
    ("sn,givenName", "eq,sub"),
    # the private-container search (ACL rendering) and Postfix's "send/receive only local mail" tables
    ("mailPrivate", "eq"),
    ("mailSendLocalOnly,mailReceiveLocalOnly", "eq"),
    # the alias sender tables (ali-restricted, ali-closed) and the alias search by flag
    ("mailAliasOpen,mailAliasRestricted", "eq"),
    # forwards (+ keep copy) and catch-all tables of Postfix (aliases/services/addresses.py)
    ("mailKeepCopy", "eq"),
    ("mailCatchAll", "eq,pres"),
)

# The cn=config entries the Configuration menu writes into (a registry Param's `target`), by DN; the indexes
# in braces are the ones this renderer gives them.
ENTRY_DNS: dict[str, str] = {
    "global": "cn=config",
    "frontend": "olcDatabase={-1}frontend,cn=config",
    "config": "olcDatabase={0}config,cn=config",
    "mdb": "olcDatabase={1}mdb,cn=config",
    "ppolicy": "olcOverlay={3}ppolicy,olcDatabase={1}mdb,cn=config",
}
# Where the attributes this renderer writes itself live (a menu value for one of them replaces that line).
RENDERED_TARGETS: dict[str, str] = {
    "olcLogLevel": "global",
    "olcPasswordHash": "frontend",
    "olcDbMaxSize": "mdb",
    "olcDbNoSync": "mdb",
    "olcSizeLimit": "mdb",
    "olcPPolicyDefault": "ppolicy",
    "olcPPolicyHashCleartext": "ppolicy",
    "olcPPolicyUseLockout": "ppolicy",
}
# What makes an entry what it is, or the console's own rules and limits: never taken from the menu.
MENU_REFUSED = frozenset(
    a.lower()
    for a in (
        "objectClass",
        "cn",
        "olcDatabase",
        "olcOverlay",
        "olcSuffix",
        "olcRootDN",
        "olcRootPW",
        "olcDbDirectory",
        "olcAccess",
        "olcLimits",
        "olcDbIndex",
        "olcModuleLoad",
        "olcModulePath",
    )
)
_ATTRIBUTE = re.compile(r"olc[A-Za-z0-9-]{1,60}")
_SIZE_NUMBER = re.compile(r"[0-9]{1,12}|unlimited")


@dataclass(frozen=True)
class SlapdParams:
    base_dn: str
    root_dn: str
    root_pw_hash: str
    run_dir: Path
    db_dir: Path
    project_schema: Path
    service_dns: Sequence[str] = ()
    # A test/dev speed-up (about 9x faster writes here): mdb skips the fsync per write transaction.
    nosync: bool = True
    max_size: int = 1 << 30
    size_limit: int = 500
    log_level: str = "none"
    module_path: Path = Path("/usr/lib/ldap")
    schema_dir: Path = Path("/etc/ldap/schema")
    indexes: Sequence[tuple[str, str]] = DEFAULT_INDEXES
    # Private containers (ACC-03), each spelled by `acl_dn`: one olcAccess rule per container, placed after
    # the password and ppolicy rules and before the catch-all read rule (see `access_rules`).
    private_containers: Sequence[str] = field(default_factory=tuple)
    # The Configuration menu's stored values (mailadmin/stack/slapd_menu.py): attribute -> value, written into
    # the entry `menu_targets` names for it (a key of ENTRY_DNS; RENDERED_TARGETS for the attributes written
    # here anyway). A value replaces the renderer's own line of that attribute in that entry, or is added
    # to the entry; an empty value removes the attribute. olcSizeLimit takes a number (see `menu_value`).
    menu: Mapping[str, str] = field(default_factory=dict)
    menu_targets: Mapping[str, str] = field(default_factory=dict)

    @property
    def policy_dn(self) -> str:
        return f"cn=default,ou=policies,{self.base_dn}"


def _ldif_value(name: str, value: str, *, secret: bool = False) -> str:
    """LDIF gives a leading ':' '<' or space a meaning of its own; refuse rather than base64-encode."""
    checked = v.text(name, value, allow_dollar=True, allow_hash=True, secret=secret)
    if checked[0] in ":<":
        raise v.ConfigValueError(
            name, "must not start with ':' or '<' (LDIF syntax)", None if secret else value
        )
    return checked


def menu_value(attribute: str, value: str) -> str:
    """The value as written to cn=config: a plain olcSizeLimit number N becomes the renderer's form
    `size.soft=N size.hard=N size.prtotal=unlimited`, so paged searches (RFC 2696) are still not cut off."""
    if attribute.lower() == "olcsizelimit" and _SIZE_NUMBER.fullmatch(value):
        return f"size.soft={value} size.hard={value} size.prtotal=unlimited"
    return value


def menu_value_back(attribute: str, value: str) -> str:
    """The inverse of `menu_value` for a value read from cn=config: the number when soft and hard limit are
    one number (the form the renderer writes), else the value as it is."""
    if attribute.lower() != "olcsizelimit" or _SIZE_NUMBER.fullmatch(value):
        return value
    parts = dict(word.partition("=")[::2] for word in value.split())
    soft, hard = parts.get("size.soft"), parts.get("size.hard")
    if soft is not None and soft == hard and _SIZE_NUMBER.fullmatch(soft):
        return soft
    size = parts.get("size")
    return size if size is not None and len(parts) == 1 and _SIZE_NUMBER.fullmatch(size) else value


def _menu_by_entry(p: SlapdParams) -> dict[str, dict[str, str]]:
    """entry DN -> attribute -> line value, checked."""
    out: dict[str, dict[str, str]] = {}
    for attr, value in p.menu.items():
        v.text("menu", attr, pattern=_ATTRIBUTE)
        if attr.lower() in MENU_REFUSED:
            raise v.ConfigValueError(attr, "is written by the console itself and cannot be set in the menu")
        target = p.menu_targets.get(attr) or RENDERED_TARGETS.get(attr, "")
        if target not in ENTRY_DNS:
            raise v.ConfigValueError(attr, f"has no cn=config entry to go into (target {target!r})")
        line = "" if value == "" else _ldif_value(f"menu[{attr}]", menu_value(attr, value))
        out.setdefault(ENTRY_DNS[target], {})[attr] = line
    return out


def _with_menu(lines: Sequence[str], menu: Mapping[str, str]) -> list[str]:
    """An entry's lines with the menu's attributes: each replaces the first line of that attribute (the
    other values go), the rest are added in name order; an empty value removes the attribute."""
    wanted = {attr.lower(): (attr, value) for attr, value in menu.items()}
    out: list[str] = []
    placed: set[str] = set()
    for line in lines:
        name = line.partition(":")[0].lower()
        if name not in wanted:
            out.append(line)
            continue
        if name not in placed:
            attr, value = wanted[name]
            if value:
                out.append(f"{attr}: {value}")
            placed.add(name)
    out += [
        f"{attr}: {value}" for key, (attr, value) in sorted(wanted.items()) if key not in placed and value
    ]
    return out


def parse_config_ldif(text: str) -> dict[str, dict[str, list[str]]]:
    """entry DN -> attribute -> values of an LDIF like `render_config_ldif` writes (include lines and
    comments skipped; folded lines and base64 values understood). Attribute names as written."""
    entries: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    logical: list[str] = []
    for raw in text.splitlines():
        if raw.startswith(" ") and logical:
            logical[-1] += raw[1:]
        else:
            logical.append(raw)
    for line in logical:
        if not line.strip():
            current = None
            continue
        if line.startswith("#"):
            continue
        name, sep, rest = line.partition(":")
        if not sep:
            continue
        value = base64.b64decode(rest[1:].strip()).decode("utf-8") if rest.startswith(":") else rest.strip()
        if name.lower() == "dn":
            current = entries.setdefault(value, {})
        elif name.lower() != "include" and current is not None:
            current.setdefault(name, []).append(value)
    return entries


def render_config_ldif(p: SlapdParams) -> str:
    base = v.dn("base_dn", p.base_dn)
    root_dn = v.dn("root_dn", p.root_dn)
    root_pw = _ldif_value("root_pw_hash", p.root_pw_hash, secret=True)
    run_dir = v.path("run_dir", p.run_dir)
    db_dir = v.path("db_dir", p.db_dir)
    module_path = v.path("module_path", p.module_path)
    schema_dir = v.path("schema_dir", p.schema_dir)
    project_schema = v.path("project_schema", p.project_schema)
    services = [v.dn(f"service_dns[{i}]", dn) for i, dn in enumerate(p.service_dns)]
    access = access_rules(service_dns=services, private_containers=p.private_containers)
    max_size = v.integer("max_size", p.max_size, minimum=10 << 20)
    size_limit = v.integer("size_limit", p.size_limit, minimum=1, maximum=1_000_000)
    log_level = v.choice("log_level", p.log_level, ("none", "stats", "stats2", "acl", "config", "any"))
    nosync = v.boolean("nosync", p.nosync)
    for i, (attrs, kinds) in enumerate(p.indexes):
        v.text(f"indexes[{i}]", attrs, pattern=ATTRIBUTE_LIST)
        v.text(f"indexes[{i}]", kinds, pattern=_INDEX_KINDS)

    menu = _menu_by_entry(p)
    out: list[str] = []

    def entry(dn: str, *lines: str) -> None:
        out.append(f"dn: {dn}")
        out.extend(_with_menu(lines, menu[dn]) if dn in menu else lines)
        out.append("")

    entry(
        "cn=config",
        "objectClass: olcGlobal",
        "cn: config",
        f"olcPidFile: {run_dir}/slapd.pid",
        f"olcArgsFile: {run_dir}/slapd.args",
        f"olcLogLevel: {log_level}",
    )
    entry(
        "cn=module{0},cn=config",
        "objectClass: olcModuleList",
        "cn: module{0}",
        f"olcModulePath: {module_path}",
        *(f"olcModuleLoad: {m}" for m in ("back_mdb", "unique", "refint", "memberof", "ppolicy", "sssvlv")),
        # Password schemes beyond the built-in ones, so imported hashes keep working (directory/hashes.py):
        # pw-sha2 and argon2 come with Debian's slapd, pw-pbkdf2 with slapd-contrib.
        *(f"olcModuleLoad: {m}" for m in PASSWORD_MODULES),
    )
    entry("cn=schema,cn=config", "objectClass: olcSchemaConfig", "cn: schema")
    # slapadd reads `include:` lines as further entries; the ppolicy schema is built into the 2.5 module.
    for name in STANDARD_SCHEMAS:
        out.append(f"include: file://{schema_dir}/{name}.ldif")
    out.append(f"include: file://{project_schema}")
    out.append("")
    entry(
        "olcDatabase={-1}frontend,cn=config",
        "objectClass: olcDatabaseConfig",
        "objectClass: olcFrontendConfig",
        "olcDatabase: {-1}frontend",
        "olcPasswordHash: {SSHA}",
    )
    entry(
        "olcDatabase={0}config,cn=config",
        "objectClass: olcDatabaseConfig",
        "olcDatabase: {0}config",
        f'olcAccess: {{0}}to * by dn.exact="{PEERCRED_ROOT}" manage by * none',
    )
    unlimited = [root_dn, *services]
    entry(
        "olcDatabase={1}mdb,cn=config",
        "objectClass: olcDatabaseConfig",
        "objectClass: olcMdbConfig",
        "olcDatabase: {1}mdb",
        f"olcSuffix: {base}",
        f"olcDbDirectory: {db_dir}",
        f"olcRootDN: {root_dn}",
        f"olcRootPW: {root_pw}",
        f"olcDbMaxSize: {max_size}",
        f"olcDbNoSync: {'TRUE' if nosync else 'FALSE'}",
        *(f"olcDbIndex: {attrs} {kinds}" for attrs, kinds in p.indexes),
        # Plain searches stop at size_limit; paged searches (RFC 2696) may page through everything.
        f"olcSizeLimit: size.soft={size_limit} size.hard={size_limit} size.prtotal=unlimited",
        *(
            f'olcLimits: {{{i}}}dn.exact="{dn}" size=unlimited time=unlimited'
            for i, dn in enumerate(unlimited)
        ),
        *(f"olcAccess: {{{i}}}{rule}" for i, rule in enumerate(access)),
    )

    def overlay(index: int, name: str) -> str:
        return f"olcOverlay={{{index}}}{name},olcDatabase={{1}}mdb,cn=config"

    entry(
        overlay(0, "unique"),
        "objectClass: olcOverlayConfig",
        "objectClass: olcUniqueConfig",
        "olcOverlay: {0}unique",
        # Login names: unique on the whole server, admins and services included.
        f"olcUniqueURI: ldap:///{base}?uid?sub",
        # Addresses: one domain over both attributes, so a mail value also collides with any mailAlias value.
        f"olcUniqueURI: ldap:///ou=domains,{base}?mail,mailAlias?sub?"
        "(|(objectClass=mailAccount)(objectClass=mailAliasEntry))",
    )
    entry(
        overlay(1, "refint"),
        "objectClass: olcOverlayConfig",
        "objectClass: olcRefintConfig",
        "olcOverlay: {1}refint",
        # one attribute per value: several names in one value are deprecated in 2.5
        *(f"olcRefintAttribute: {attr}" for attr in ("member", "mailAdministrator", "mailAliasOwner")),
        # groupOfNames MUST have a member: when the last one goes, refint leaves this placeholder (the suffix,
        # the same placeholder the skeleton uses) instead of failing the delete.
        f"olcRefintNothing: {base}",
    )
    entry(
        overlay(2, "memberof"),
        "objectClass: olcOverlayConfig",
        "objectClass: olcMemberOf",
        "olcOverlay: {2}memberof",
        "olcMemberOfGroupOC: groupOfNames",
        "olcMemberOfMemberAD: member",
        "olcMemberOfMemberOfAD: memberOf",
        "olcMemberOfRefInt: TRUE",
        "olcMemberOfDangling: ignore",
    )
    entry(
        overlay(3, "ppolicy"),
        "objectClass: olcOverlayConfig",
        "objectClass: olcPPolicyConfig",
        "olcOverlay: {3}ppolicy",
        f"olcPPolicyDefault: {p.policy_dn}",
        "olcPPolicyHashCleartext: TRUE",
        "olcPPolicyUseLockout: TRUE",
    )
    # Server-side sort and VLV: the console's lists sort and page on the server. Each console connection
    # keeps up to 12 sort states (directory.connection.SORT_SLOTS_PER_CONNECTION); 128 in all leaves room for
    # ten connections (gunicorn workers, Celery, the policy service) before a list falls back to unsorted.
    entry(
        overlay(4, "sssvlv"),
        "objectClass: olcOverlayConfig",
        "objectClass: olcSssVlvConfig",
        "olcOverlay: {4}sssvlv",
        "olcSssVlvMax: 128",
        "olcSssVlvMaxKeys: 3",
        "olcSssVlvMaxPerConn: 16",
    )
    return with_header("\n".join(out), source="mailadmin/configfiles/slapd.py")
