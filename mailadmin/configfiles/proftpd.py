"""ProFTPD for free/busy files: a complete standalone proftpd.conf in which the directory's accounts log in
(mod_ldap), each into a home of its own that is made at the first login and that it cannot leave.

How a login works: mod_ldap binds as the read-only service account, looks the login up under LDAPUsersBase
with saslauthd's filter (enabled mail accounts only, mailadmin/configfiles/saslauthd.py), then binds as the
account with the password given (LDAPAuthBinds), so slapd checks the password and its policy. The accounts
are not posixAccounts: every session runs as one unprivileged uid/gid (LDAPForceDefaultUID/GID) and its home
is generated as <prefix>/<login> (LDAPGenerateHomedir), created on demand (CreateHome) and made the session's
root (DefaultRoot ~).

The Configuration menu's values (`settings`, checked by mailadmin/configfiles/registry/proftpd.py) replace the
defaults name by name. This module checks that no value can change the file's structure; whether ProFTPD
accepts it is for `proftpd -t` to say (mailadmin/stack/ftp.py).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from mailadmin.configfiles import values as v
from mailadmin.configfiles.files import with_header
from mailadmin.configfiles.saslauthd import DEFAULT_FILTER

SOURCE = "mailadmin/configfiles/proftpd.py"
# Quotes and backslashes end or escape a quoted argument; % starts ProFTPD's %{env:...} and the
# variables of ServerIdent.
QUOTE = '"\\`'
FORBID = QUOTE + "%"
# The greeting carries a digest of the rendered file, so a reload is proved by the new digest in the banner.
_GENERATION = re.compile(r"configuration (?P<gen>[0-9a-f]{16})")
_PORT_LINE = re.compile(r"^Port (?P<port>[0-9]{1,5})$", re.MULTILINE)

DEFAULTS: dict[str, str] = {
    "MaxInstances": "30",
    "TimeoutIdle": "600",
    "TimeoutLogin": "60",
    "TimeoutNoTransfer": "300",
    "TimeoutStalled": "300",
    "Umask": "022",
    "LDAPAuthBinds": "on",
    "LDAPGenerateHomedir": "on",
    "MaxLoginAttempts": "3",
    "AllowOverwrite": "on",
}
# Given by the stack (ProftpdParams) unless the menu sets them.
_FROM_PARAMS = (
    "ServerName",
    "Port",
    "LDAPServer",
    "LDAPBindDN",
    "LDAPBindPassword",
    "LDAPUsersBase",
    "LDAPGenerateHomedirPrefix",
)
SETTINGS = frozenset({*DEFAULTS, *_FROM_PARAMS})


@dataclass(frozen=True)
class ProftpdParams:
    pid_file: Path
    scoreboard_file: Path
    delay_table: Path
    system_log: Path
    transfer_log: Path
    ldap_log: Path
    port: int
    passive_ports: tuple[int, int]
    server_name: str
    ldap_server: str  # ldap://host:port
    bind_dn: str
    bind_pw: str
    users_base: str
    home_prefix: Path
    file_uid: int  # every session's uid and gid (the accounts have no posixAccount)
    file_gid: int
    user: str = "nobody"  # the daemon's own user and group
    group: str = "nogroup"
    module_path: Path = Path("/usr/lib/proftpd")
    settings: Mapping[str, str] = field(default_factory=dict)


def _word(name: str, value: object) -> str:
    return v.text(name, value, forbid=FORBID + " ", max_length=256)


def _quoted(text: str) -> str:
    return f'"{text}"'


def effective(p: ProftpdParams) -> dict[str, str]:
    """Every menu-named value the file is rendered with, checked (the password included)."""
    unknown = sorted(set(p.settings) - SETTINGS)
    if unknown:
        raise v.ConfigValueError(unknown[0], "is not a setting of proftpd.conf", unknown[0])
    s = p.settings
    out = {name: _word(name, s.get(name, default)) for name, default in DEFAULTS.items()}
    out["ServerName"] = v.text(
        "ServerName", s.get("ServerName", p.server_name), forbid=FORBID, max_length=200
    )
    port = s.get("Port", str(p.port))
    if not port.isdigit():
        raise v.ConfigValueError("Port", "must be a port number", port)
    out["Port"] = str(v.port("Port", int(port)))
    uri = v.ldap_uri("LDAPServer", s.get("LDAPServer", p.ldap_server)).rstrip("/")
    if not uri.startswith(("ldap://", "ldaps://")):
        raise v.ConfigValueError("LDAPServer", "must be an ldap:// or ldaps:// URI", uri)
    out["LDAPServer"] = uri
    out["LDAPBindDN"] = v.dn("LDAPBindDN", s.get("LDAPBindDN", p.bind_dn))
    out["LDAPBindPassword"] = v.secret(
        "LDAPBindPassword", s.get("LDAPBindPassword", p.bind_pw), forbid=FORBID
    )
    out["LDAPUsersBase"] = v.dn("LDAPUsersBase", s.get("LDAPUsersBase", p.users_base))
    out["LDAPGenerateHomedirPrefix"] = v.path(
        "LDAPGenerateHomedirPrefix", s.get("LDAPGenerateHomedirPrefix", p.home_prefix)
    ).rstrip("/")
    return out


def render_proftpd_conf(p: ProftpdParams) -> str:
    """Holds the service account's password: write it 0640 root:root (the master reads it as root; its
    sessions run as nobody or the FTP uid and must not)."""
    s = effective(p)
    first, last = (v.port("passive_ports", port) for port in p.passive_ports)
    if first > last:
        raise v.ConfigValueError("passive_ports", "first port after last", p.passive_ports)
    generate = s["LDAPGenerateHomedir"].lower() == "on"
    lines = [
        f"ModulePath {v.path('module_path', p.module_path)}",
        "LoadModule mod_ldap.c",
        "",
        "ServerType standalone",
        f"ServerName {_quoted(s['ServerName'])}",
        "@GENERATION@",
        f"Port {s['Port']}",
        # Only loopback: without SocketBindTight a standalone server listens on every address.
        "DefaultAddress 127.0.0.1",
        "SocketBindTight on",
        "UseIPv6 off",
        "UseReverseDNS off",
        f"PassivePorts {first} {last}",
        f"PidFile {v.path('pid_file', p.pid_file)}",
        f"ScoreboardFile {v.path('scoreboard_file', p.scoreboard_file)}",
        f"DelayTable {v.path('delay_table', p.delay_table)}",
        # a private server on loopback: no pause after a failed login (tests try many wrong passwords)
        "DelayEngine off",
        f"SystemLog {v.path('system_log', p.system_log)}",
        f"TransferLog {v.path('transfer_log', p.transfer_log)}",
        "WtmpLog off",
        f"User {v.word('user', p.user)}",
        f"Group {v.word('group', p.group)}",
        f"MaxInstances {s['MaxInstances']}",
        f"MaxLoginAttempts {s['MaxLoginAttempts']}",
        f"TimeoutIdle {s['TimeoutIdle']}",
        f"TimeoutLogin {s['TimeoutLogin']}",
        f"TimeoutNoTransfer {s['TimeoutNoTransfer']}",
        f"TimeoutStalled {s['TimeoutStalled']}",
        f"Umask {s['Umask']}",
        f"AllowOverwrite {s['AllowOverwrite']}",
        "",
        "# Directory accounts only: no system user, no PAM, no anonymous login.",
        "AuthPAM off",
        "AuthOrder mod_ldap.c",
        "RequireValidShell off",
        f"LDAPServer {s['LDAPServer']}/??sub",
        f"LDAPBindDN {_quoted(s['LDAPBindDN'])} {_quoted(s['LDAPBindPassword'])}",
        f"LDAPUsers {_quoted(s['LDAPUsersBase'])} {_quoted(v.text('filter', DEFAULT_FILTER, forbid=QUOTE))}",
        f"LDAPAuthBinds {s['LDAPAuthBinds']}",
        f"LDAPDefaultUID {v.integer('file_uid', p.file_uid, minimum=1)}",
        f"LDAPDefaultGID {v.integer('file_gid', p.file_gid, minimum=1)}",
        "LDAPForceDefaultUID on",
        "LDAPForceDefaultGID on",
        f"LDAPGenerateHomedir {s['LDAPGenerateHomedir']}",
        f"LDAPGenerateHomedirPrefix {s['LDAPGenerateHomedirPrefix']}",
        *(["LDAPForceGeneratedHomedir on"] if generate else []),
        f"LDAPLog {v.path('ldap_log', p.ldap_log)}",
        "",
        "# Home directory on demand, and the session jailed in it.",
        "CreateHome on 0700 dirmode 0755",
        "DefaultRoot ~",
        "<Limit SITE_CHMOD>",
        "  DenyAll",
        "</Limit>",
    ]
    body = "\n".join(lines) + "\n"
    gen = hashlib.sha256(body.encode("utf-8")).hexdigest()[:16]
    ident = f"ServerIdent on {_quoted(s['ServerName'] + ' ready, configuration ' + gen)}"
    return with_header(body.replace("@GENERATION@", ident), source=SOURCE)


# --- reading a rendered file back (what the running ProFTPD was given) --------------------------------------
def generation(text: str) -> str | None:
    match = _GENERATION.search(text)
    return match["gen"] if match else None


def port(text: str) -> int | None:
    match = _PORT_LINE.search(text)
    return int(match["port"]) if match else None


_PLAIN = (*DEFAULTS, "Port", "LDAPGenerateHomedirPrefix")


def values_in(text: str) -> dict[str, str]:
    """The menu's parameters as a rendered proftpd.conf sets them (the password included: callers that show
    values hide it, as the registry marks it secret)."""
    found: dict[str, str] = {}
    for name in _PLAIN:
        match = re.search(rf"^{name} (?P<value>\S.*)$", text, re.MULTILINE)
        if match:
            found[name] = match["value"].strip()
    patterns = {
        "ServerName": r'^ServerName "(?P<value>[^"]*)"$',
        "LDAPServer": r"^LDAPServer (?P<value>\S+?)(?:/\?\?sub)?$",
        "LDAPBindDN": r'^LDAPBindDN "(?P<value>[^"]*)" "[^"]*"$',
        "LDAPBindPassword": r'^LDAPBindDN "[^"]*" "(?P<value>[^"]*)"$',
        "LDAPUsersBase": r'^LDAPUsers "(?P<value>[^"]*)"',
    }
    for name, pattern in patterns.items():
        match = re.search(pattern, text, re.MULTILINE)
        if match:
            found[name] = match["value"]
    return found
