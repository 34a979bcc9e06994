"""Cyrus IMAP 3.6: imapd.conf and cyrus.conf (the cyrmaster service table)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mailadmin.configfiles import values as v
from mailadmin.configfiles.files import with_header

SOURCE = "mailadmin/configfiles/cyrus.py"
_KEY = re.compile(r"[a-z][a-z0-9_-]*")
CONFIG_SUBDIRS = ("db", "socket", "proc", "log", "msg", "user", "quota", "lock", "sieve")
_LDAP_URI = re.compile(r"ldaps?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?/?")
# The object classes that are Cyrus groups: every domain, organization and group container is one, and an
# account is a member of every container above it (docs/decisions/0007-cyrus-groups.md).
GROUP_CLASSES = "(|(objectClass=mailDomain)(objectClass=mailContainer))"


@dataclass(frozen=True)
class PtsLdap:
    """Cyrus's own group lookup (ptloader, pts_module ldap): `group:<container's entryUUID>` in ACLs.

    ptloader binds read-only, finds the account by `uid`, and takes as its groups every domain,
    organization and group container above the account's DN (slapd's `dnSuperiorMatch` on `entryDN`), each
    named `group:` + its entryUUID (lower-case hex). Membership is where the account sits in the tree, so
    moving or creating an account changes its groups without touching any ACL; the name is the container's
    entryUUID, not its DN, so renaming or moving a container keeps its ACL entries valid.
    """

    uri: str
    bind_dn: str
    bind_pw: str
    base_dn: str  # the subtree holding the domains (ou=domains,<suffix>)
    suffix: (
        str  # the directory's suffix: accounts are looked up below it (the admin's entry is in ou=services)
    )
    # Seconds Cyrus keeps a user's group list (ptscache) before asking ptloader again. Cyrus's default is
    # 3 hours; a membership change is seen after at most this long (or at once for a new account).
    cache_timeout: int = 300


@dataclass(frozen=True)
class CyrusParams:
    imapd_conf: Path
    config_dir: Path  # configdirectory; needs CONFIG_SUBDIRS (Debian ships no mkimap that honours -C)
    partition_dir: Path
    run_dir: Path
    servername: str
    saslauthd_mux: Path
    sasldb: Path
    imap_port: int
    lmtp_port: int
    admins: Sequence[str] = ("cyrus",)
    bin_dir: Path = Path("/usr/lib/cyrus/bin")
    # "immediate" really removes a mailbox on DELETE (tests); "delayed" keeps it as DELETED.* for recovery.
    delete_mode: str = "delayed"
    syslog_prefix: str = "mailadmin"
    # Seconds imapd waits after a failed login (Cyrus default 3): slows password guessing, and tests.
    failed_login_pause: int = 3
    imap_maxchild: int = 50
    lmtp_maxchild: int = 20
    extra: Sequence[tuple[str, str]] = field(default_factory=tuple)
    # File of vendor annotations Cyrus should accept (see render_annotation_definitions); None: none.
    annotation_definitions: Path | None = None
    # Groups resolved from LDAP by ptloader; None: only user identifiers in ACLs (auth_mech unix).
    pts: PtsLdap | None = None
    # The Configuration menu's stored values (mailadmin/stack/cyrus_menu.py): each replaces the renderer's
    # line of that key where it stands, the others follow in key order (see `with_menu`).
    menu: Mapping[str, str] = field(default_factory=dict)

    @property
    def lmtp_socket(self) -> Path:
        return self.run_dir / "socket" / "lmtp"

    @property
    def pts_socket(self) -> Path:
        return self.run_dir / "socket" / "ptsock"


# Groupware clients (Kolab, Outlook connectors, KDE, Roundcube's kolab plugins) read a folder's type from the
# `/vendor/kolab/folder-type` annotation: "event", "contact", "task", "note", "journal", "mail.drafts", ...
# Cyrus stores vendor annotations only when they are declared: name, scope, type, proxy, attributes, the ACL
# right needed to write it.
ANNOTATIONS: tuple[tuple[str, str], ...] = (
    ("/vendor/kolab/folder-type", "mailbox,string,backend,value.shared value.priv,a"),
)


def render_annotation_definitions() -> str:
    return with_header("".join(f"{name},{spec}\n" for name, spec in ANNOTATIONS), source=SOURCE)


def render_imapd_conf(p: CyrusParams) -> str:
    run = v.path("run_dir", p.run_dir)
    settings: list[tuple[str, str]] = [
        ("servername", v.host("servername", p.servername)),
        ("configdirectory", v.path("config_dir", p.config_dir)),
        ("defaultpartition", "default"),
        ("partition-default", v.path("partition_dir", p.partition_dir)),
        ("proc_path", f"{run}/proc"),
        ("mboxname_lockpath", f"{run}/lock"),
        ("lmtpsocket", f"{run}/socket/lmtp"),
        ("idlesocket", f"{run}/socket/idle"),
        ("notifysocket", f"{run}/socket/notify"),
        ("admins", " ".join(v.words("admins", p.admins))),
        # mailboxes are user/alice and shared/support: '/' separator, no domains inside Cyrus
        ("unixhierarchysep", "yes"),
        ("altnamespace", "no"),
        ("virtdomains", "off"),
        ("allowplaintext", "yes"),
        # sasldb first (the cyrus admin lives there), then saslauthd -> LDAP for everybody else
        ("sasl_pwcheck_method", "auxprop saslauthd"),
        ("sasl_auxprop_plugin", "sasldb"),
        ("sasl_sasldb_path", v.path("sasldb", p.sasldb)),
        ("sasl_saslauthd_path", v.path("saslauthd_mux", p.saslauthd_mux)),
        ("sasl_mech_list", "PLAIN LOGIN"),
        ("lmtp_downcase_rcpt", "yes"),
        ("hashimapspool", "true"),
        ("umask", "077"),
        ("quotawarn", "90"),
        ("autocreate_quota", "-1"),
        ("delete_mode", v.choice("delete_mode", p.delete_mode, ("immediate", "delayed"))),
        (
            "failedloginpause",
            str(v.integer("failed_login_pause", p.failed_login_pause, minimum=0, maximum=60)),
        ),
        ("syslog_prefix", v.word("syslog_prefix", p.syslog_prefix)),
    ]
    if p.annotation_definitions is not None:
        settings.append(
            ("annotation_definitions", v.path("annotation_definitions", p.annotation_definitions))
        )
    if p.pts is not None:
        settings += _pts_settings(p.pts, p.pts_socket)
    known = {key for key, _ in settings}
    for i, (key, value) in enumerate(p.extra):
        v.text(f"extra[{i}].name", key, pattern=_KEY)
        if key in known:
            raise v.ConfigValueError(f"extra[{i}].name", "is set by the renderer already", key)
        settings.append((key, v.text(f"extra[{i}]({key})", value)))
    settings = with_menu(settings, p.menu)
    return with_header("".join(f"{key}: {value}\n" for key, value in settings), source=SOURCE)


def with_menu(settings: list[tuple[str, str]], menu: Mapping[str, str]) -> list[tuple[str, str]]:
    """The menu's values: each replaces the renderer's line of that key where it stands; the others follow
    in key order (so the file does not depend on the order the values were set in). The registry checked
    each value already; this is the renderer's own line of defence against a line break or a stray key."""
    for key, value in menu.items():
        v.text("menu", key, pattern=_KEY, max_length=100)
        v.text(f"menu[{key}]", value, allow_empty=True)
    out = [(key, menu.get(key, value)) for key, value in settings]
    known = {key for key, _ in settings}
    out += [(key, menu[key]) for key in sorted(menu) if key not in known]
    return out


def _pts_settings(pts: PtsLdap, socket: Path) -> list[tuple[str, str]]:
    base = v.dn("pts.base_dn", pts.base_dn)
    # %U is the login name and %D the account's DN; ptloader escapes both for the filter itself.
    return [
        ("auth_mech", "pts"),
        ("pts_module", "ldap"),
        ("ptloader_sock", v.path("pts_socket", socket)),
        (
            "ptscache_timeout",
            str(v.integer("pts.cache_timeout", pts.cache_timeout, minimum=1, maximum=86400)),
        ),
        ("ldap_uri", v.text("pts.uri", pts.uri, pattern=_LDAP_URI)),
        ("ldap_version", "3"),
        ("ldap_sasl", "0"),
        ("ldap_bind_dn", v.dn("pts.bind_dn", pts.bind_dn)),
        ("ldap_password", v.secret("pts.bind_pw", pts.bind_pw, forbid=" ")),
        ("ldap_base", v.dn("pts.suffix", pts.suffix)),
        ("ldap_scope", "sub"),
        # ptloader refuses a login it cannot find ("Invalid user"): the sasldb admin has an `account` entry.
        ("ldap_filter", "(&(|(objectClass=mailAccount)(objectClass=account))(uid=%U))"),
        ("ldap_member_method", "filter"),
        ("ldap_member_base", base),
        ("ldap_member_scope", "sub"),
        ("ldap_member_filter", f"(&{GROUP_CLASSES}(entryDN:dnSuperiorMatch:=%D))"),
        # entryUUID survives renames and moves (entryDN does not); slapd indexes it eq (configfiles/slapd.py).
        ("ldap_member_attribute", "entryUUID"),
        ("ldap_group_base", base),
        ("ldap_group_scope", "sub"),
        # %u: the identifier after `group:`; a SETACL for a uuid that is not a container is refused.
        ("ldap_group_filter", f"(&{GROUP_CLASSES}(entryUUID=%u))"),
        ("ldap_timeout", "5"),
        ("ldap_size_limit", "100"),
    ]


def admin_entry_ldif(admin: str, suffix: str) -> str:
    """The Cyrus admin's name in the directory (ptloader looks every login up); it has no password."""
    name = v.word("cyrus_admin", admin)
    base = v.dn("suffix", suffix)
    return (
        f"dn: uid={name},ou=services,{base}\n"
        "objectClass: account\n"
        f"uid: {name}\n"
        "description: Cyrus IMAP administrator (logs in from Cyrus's sasldb; named here for Cyrus's "
        "group lookup)\n"
    )


def render_cyrus_conf(p: CyrusParams) -> str:
    """cyrmaster does not pass its own -C to the children, so every cmd names imapd.conf itself."""
    conf = v.path("imapd_conf", p.imapd_conf)
    bin_dir = v.path("bin_dir", p.bin_dir)
    imap = v.port("imap_port", p.imap_port)
    lmtp = v.port("lmtp_port", p.lmtp_port)
    sock = v.path("lmtp_socket", p.lmtp_socket)
    imap_max = v.integer("imap_maxchild", p.imap_maxchild, minimum=1, maximum=10000)
    lmtp_max = v.integer("lmtp_maxchild", p.lmtp_maxchild, minimum=1, maximum=10000)
    pts_sock = v.path("pts_socket", p.pts_socket)

    def cmd(prog: str, *args: str) -> str:
        return 'cmd="' + " ".join((f"{bin_dir}/{prog}", "-C", conf, *args)) + '"'

    body = (
        "START {\n"
        f"  recover    {cmd('ctl_cyrusdb', '-r')}\n"
        "}\n"
        "SERVICES {\n"
        f'  imap       {cmd("imapd")} listen="127.0.0.1:{imap}" prefork=0 maxchild={imap_max}\n'
        # -a: LMTP clients are preauthorised. Safe only because it listens on loopback.
        f'  lmtp       {cmd("lmtpd", "-a")} listen="127.0.0.1:{lmtp}" prefork=0 maxchild={lmtp_max}\n'
        f'  lmtpunix   {cmd("lmtpd")} listen="{sock}" prefork=0 maxchild={lmtp_max}\n'
        + (f'  ptloader   {cmd("ptloader")} listen="{pts_sock}" prefork=0 maxchild=1\n' if p.pts else "")
        + "}\n"
        "EVENTS {\n"
        f"  checkpoint {cmd('ctl_cyrusdb', '-c')} period=30\n"
        f"  delprune   {cmd('cyr_expire', '-E', '3')} at=0400\n"
        "}\n"
    )
    return with_header(body, source=SOURCE)
