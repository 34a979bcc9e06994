"""Cyrus IMAP 3.6: imapd.conf and cyrus.conf (the cyrmaster service table)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mailadmin.configfiles import values as v
from mailadmin.configfiles.files import with_header

SOURCE = "mailadmin/configfiles/cyrus.py"
_KEY = re.compile(r"[a-z][a-z0-9_-]*")
CONFIG_SUBDIRS = ("db", "socket", "proc", "log", "msg", "user", "quota", "lock", "sieve")


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

    @property
    def lmtp_socket(self) -> Path:
        return self.run_dir / "socket" / "lmtp"


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
    known = {key for key, _ in settings}
    for i, (key, value) in enumerate(p.extra):
        v.text(f"extra[{i}].name", key, pattern=_KEY)
        if key in known:
            raise v.ConfigValueError(f"extra[{i}].name", "is set by the renderer already", key)
        settings.append((key, v.text(f"extra[{i}]({key})", value)))
    return with_header("".join(f"{key}: {value}\n" for key, value in settings), source=SOURCE)


def render_cyrus_conf(p: CyrusParams) -> str:
    """cyrmaster does not pass its own -C to the children, so every cmd names imapd.conf itself."""
    conf = v.path("imapd_conf", p.imapd_conf)
    bin_dir = v.path("bin_dir", p.bin_dir)
    imap = v.port("imap_port", p.imap_port)
    lmtp = v.port("lmtp_port", p.lmtp_port)
    sock = v.path("lmtp_socket", p.lmtp_socket)
    imap_max = v.integer("imap_maxchild", p.imap_maxchild, minimum=1, maximum=10000)
    lmtp_max = v.integer("lmtp_maxchild", p.lmtp_maxchild, minimum=1, maximum=10000)

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
        "}\n"
        "EVENTS {\n"
        f"  checkpoint {cmd('ctl_cyrusdb', '-c')} period=30\n"
        f"  delprune   {cmd('cyr_expire', '-E', '3')} at=0400\n"
        "}\n"
    )
    return with_header(body, source=SOURCE)
