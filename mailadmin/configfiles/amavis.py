"""The content filter's files (CFG-03): amavisd.conf, the local domains file amavis reads, and clamd.conf.

amavisd.conf is Perl that amavisd evaluates, so no value is ever pasted into it as it was typed: each one
is checked against an allow-list first (a decimal number, a whole number in a range, one of a few words, a
single safe folder name, a path of the stack without quote or backslash) and only then written, numbers bare
and text inside single quotes, where none of the allowed characters has a meaning. What the Configuration
page's settings become in the file: docs/content-filter.md.

The hosted domains are not written into amavisd.conf. amavis reads them from `local_domains` (one domain per
line) through a small lookup that re-reads the file whenever it is replaced, so a domain made in the console
counts as local for amavis at once, without a restart that would make Postfix wait for the filter.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from mailadmin.configfiles import values as v
from mailadmin.configfiles.files import with_header
from mailadmin.configfiles.values import tr as _

SOURCE = "mailadmin/configfiles/amavis.py"

VIRUS_ACTIONS = ("discard", "quarantine", "bounce")
SPAM_ACTIONS = ("pass", "discard", "quarantine", "bounce")
# amavis's verdict constants: "bounce" is an SMTP 554 to Postfix, which after the queue means Postfix sends
# the message back to its (probably forged) sender; "quarantine" discards and keeps a copy.
_DESTINY = {"pass": "D_PASS", "discard": "D_DISCARD", "quarantine": "D_DISCARD", "bounce": "D_REJECT"}

DEFAULTS: dict[str, str] = {
    "enabled": "no",
    "bypass_virus_checks": "no",
    "bypass_spam_checks": "no",
    "tag_level": "2.0",
    "tag2_level": "6.31",
    "kill_level": "6.31",
    "log_level": "2",
    "virus_action": "quarantine",
    "virus_quarantine_folder": "virus",
    "spam_action": "pass",
    "spam_quarantine_folder": "spam",
    "max_servers": "2",
}
SETTINGS = frozenset(DEFAULTS)
MAX_SERVERS = 20

_LEVEL = re.compile(r"-?[0-9]{1,4}(?:\.[0-9]{1,3})?")
_FOLDER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,62}")
# a path of the stack inside '...': none of these may appear (quote, backslash) nor white space
_PATH_FORBID = "'\\\"$@%` \t"


def level(name: str, raw: str) -> Decimal:
    """A SpamAssassin score: a decimal number such as 6.31 (at most 3 decimals, -9999..9999)."""
    if not isinstance(raw, str) or not _LEVEL.fullmatch(raw):
        raise v.ConfigValueError(name, _("must be a decimal number such as 6.31"), raw)
    try:
        return Decimal(raw)
    except InvalidOperation as exc:  # pragma: no cover - the pattern admits only numbers
        raise v.ConfigValueError(name, _("must be a decimal number such as 6.31"), raw) from exc


def folder(name: str, raw: str) -> str:
    """One directory name inside the quarantine: letters, digits, - and _, never . or / (so never ..)."""
    if not isinstance(raw, str) or not _FOLDER.fullmatch(raw):
        raise v.ConfigValueError(
            name, _("must be one folder name of letters, digits, - and _ (no dots, no slashes)"), raw
        )
    return raw


def _yes(name: str, raw: str) -> bool:
    if raw not in ("yes", "no"):
        raise v.ConfigValueError(name, _("must be yes or no"), raw)
    return raw == "yes"


def _path(name: str, path: Path) -> str:
    return v.text(name, v.path(name, path), forbid=_PATH_FORBID)


def effective(settings: Mapping[str, str]) -> dict[str, str]:
    """Every setting as it will be rendered (the stored value, or the default), each checked, and the three
    spam levels in order (tag <= tag2 <= kill)."""
    unknown = sorted(set(settings) - SETTINGS)
    if unknown:
        raise v.ConfigValueError(unknown[0], _("is not a setting of the content filter"), unknown[0])
    s = {**DEFAULTS, **settings}
    for name in ("enabled", "bypass_virus_checks", "bypass_spam_checks"):
        _yes(name, s[name])
    tag, tag2, kill = (level(n, s[n]) for n in ("tag_level", "tag2_level", "kill_level"))
    if tag > tag2:
        raise v.ConfigValueError("tag_level", _("must not be above the tag2 level"), s["tag_level"])
    if tag2 > kill:
        raise v.ConfigValueError("tag2_level", _("must not be above the kill level"), s["tag2_level"])
    v.choice("virus_action", s["virus_action"], VIRUS_ACTIONS)
    v.choice("spam_action", s["spam_action"], SPAM_ACTIONS)
    folder("virus_quarantine_folder", s["virus_quarantine_folder"])
    folder("spam_quarantine_folder", s["spam_quarantine_folder"])
    for name, low, high in (("log_level", 0, 5), ("max_servers", 1, MAX_SERVERS)):
        if not s[name].isdigit() or not s[name].isascii():
            raise v.ConfigValueError(name, _("must be a whole number"), s[name])
        v.integer(name, int(s[name]), minimum=low, maximum=high)
    return s


def filter_on(settings: Mapping[str, str]) -> bool:
    return effective(settings)["enabled"] == "yes"


@dataclass(frozen=True)
class AmavisParams:
    home: Path  # $MYHOME: amavis's own, writable by it
    log_file: Path
    pid_file: Path
    quarantine_dir: Path
    local_domains_file: Path
    port: int
    reinject_port: int
    clamd_port: int
    myhostname: str
    mydomain: str
    user: str = "amavis"
    settings: Mapping[str, str] = field(default_factory=dict)


def _perl_string(text: str) -> str:
    """Single-quoted Perl: only ' and \\ mean anything there, and every caller has refused both."""
    if "'" in text or "\\" in text or "\n" in text:
        raise v.ConfigValueError("perl", "quote, backslash or newline in a rendered value", text)
    return f"'{text}'"


def render_amavisd_conf(p: AmavisParams) -> str:
    s = effective(p.settings)
    home = _path("home", p.home)
    virus, spam = s["virus_action"], s["spam_action"]
    virus_q = f"local:{s['virus_quarantine_folder']}/virus-%m" if virus == "quarantine" else None
    spam_q = f"local:{s['spam_quarantine_folder']}/spam-%m" if spam == "quarantine" else None
    port, reinject, clamd = (v.port(n, x) for n, x in (("port", p.port), ("reinject_port", p.reinject_port),
                                                        ("clamd_port", p.clamd_port)))  # fmt: skip
    lines = [
        "use strict;",
        "",
        "# Who and where: amavisd refuses to run as root; it drops to this user after reading this file.",
        f"$daemon_user = {_perl_string(v.word('user', p.user))};",
        f"$daemon_group = {_perl_string(v.word('user', p.user))};",
        f"$MYHOME = {_perl_string(home)};",
        f"$TEMPBASE = {_perl_string(str(Path(home, 'tmp')))};",  # amavis's own temp dir, in its home
        "$ENV{TMPDIR} = $TEMPBASE;",
        f"$helpers_home = {_perl_string(home + '/sa')};",
        f"$db_home = {_perl_string(home + '/db')};",
        "$enable_db = 0;",
        "$enable_global_cache = 0;",
        f"$pid_file = {_perl_string(_path('pid_file', p.pid_file))};",
        f"$lock_file = {_perl_string(home + '/amavisd.lock')};",
        f"$QUARANTINEDIR = {_perl_string(_path('quarantine_dir', p.quarantine_dir))};",
        "$do_syslog = 0;",
        f"$LOGFILE = {_perl_string(_path('log_file', p.log_file))};",
        f"$log_level = {int(s['log_level'])};",
        f"$myhostname = {_perl_string(v.host('myhostname', p.myhostname))};",
        f"$mydomain = {_perl_string(v.host('mydomain', p.mydomain))};",
        "$path = $ENV{PATH} = '/usr/sbin:/usr/bin:/sbin:/bin';",
        "",
        "# Postfix hands mail over here and takes it back on its re-injection smtpd.",
        "$inet_socket_bind = '127.0.0.1';",
        f"$inet_socket_port = {port};",
        "@inet_acl = qw(127.0.0.1);",
        f"$forward_method = 'smtp:[127.0.0.1]:{reinject}';",
        "$notify_method = $forward_method;",
        f"$max_servers = {int(s['max_servers'])};",
        "",
        "# The hosted domains, re-read whenever the console replaces the file (no restart needed).",
        f"my $mailadmin_domains_file = {_perl_string(_path('local_domains_file', p.local_domains_file))};",
        "my ($mailadmin_domains_seen, $mailadmin_domains) = ('', {});",
        "sub mailadmin_local_domains {",
        "  my @st = stat($mailadmin_domains_file);",
        "  my $seen = @st ? join(':', @st[1, 7, 9]) : '';",
        "  if ($seen ne $mailadmin_domains_seen) {",
        "    my %fresh;",
        "    read_hash(\\%fresh, $mailadmin_domains_file) if @st;",
        "    ($mailadmin_domains_seen, $mailadmin_domains) = ($seen, \\%fresh);",
        "  }",
        "  return $mailadmin_domains;",
        "}",
        "@local_domains_maps = (\\&mailadmin_local_domains);",
        "",
        "# Checks and levels (the Content filter page).",
        f"@bypass_virus_checks_maps = ({1 if s['bypass_virus_checks'] == 'yes' else 0});",
        f"@bypass_spam_checks_maps = ({1 if s['bypass_spam_checks'] == 'yes' else 0});",
        "$sa_local_tests_only = 1;",
        f"$sa_tag_level_deflt = {level('tag_level', s['tag_level'])};",
        f"$sa_tag2_level_deflt = {level('tag2_level', s['tag2_level'])};",
        f"$sa_kill_level_deflt = {level('kill_level', s['kill_level'])};",
        "$sa_spam_subject_tag = '***SPAM*** ';",
        "",
        "# What happens to a virus and to spam above the kill level. No .gz quarantine: it fails (451).",
        f"$final_virus_destiny = {_DESTINY[virus]};",
        f"$virus_quarantine_method = {_perl_string(virus_q) if virus_q else 'undef'};",
        f"$final_spam_destiny = {_DESTINY[spam]};",
        f"$spam_quarantine_method = {_perl_string(spam_q) if spam_q else 'undef'};",
        "$final_banned_destiny = D_PASS;",
        "$banned_files_quarantine_method = undef;",
        "$final_bad_header_destiny = D_PASS;",
        "$bad_header_quarantine_method = undef;",
        '$X_HEADER_LINE = "$myproduct_name at $mydomain";',
        "$enable_dkim_verification = 0;",
        "$enable_dkim_signing = 0;",
        "",
        "# ClamAV: clamd of the stack, streamed over TCP (zINSTREAM); no backup scanner.",
        "@av_scanners = (['ClamAV-clamd', \\&ask_daemon,",
        f"  [\"{{}}/*\", 'clamd:127.0.0.1:{clamd}'],",
        "  qr/\\bOK$/m, qr/\\bFOUND$/m, qr/^.*?: (?!Infected Archive)(.*) FOUND$/m]);",
        "@av_scanners_backup = ();",
        "",
        "1;",
    ]
    return with_header("\n".join(lines) + "\n", source=SOURCE)


def render_local_domains(domains: Iterable[str]) -> str:
    """One hosted domain per line, sorted (amavis's read_hash format)."""
    names = sorted({v.host("domain", d.lower()) for d in domains})
    return with_header("".join(f"{d}\n" for d in names), source=SOURCE)


# --- reading a rendered amavisd.conf back (the page's "running" column) ------------------------------------
_READ = {
    "log_level": r"^\$log_level = (\d+);",
    "max_servers": r"^\$max_servers = (\d+);",
    "tag_level": r"^\$sa_tag_level_deflt = (\S+);",
    "tag2_level": r"^\$sa_tag2_level_deflt = (\S+);",
    "kill_level": r"^\$sa_kill_level_deflt = (\S+);",
    "virus_quarantine_folder": r"^\$virus_quarantine_method = 'local:([^/']+)/",
    "spam_quarantine_folder": r"^\$spam_quarantine_method = 'local:([^/']+)/",
}


def values_in(text: str) -> dict[str, str]:
    """The page's settings as a rendered amavisd.conf sets them (`enabled` lives in main.cf, not here)."""
    found = {name: m[1] for name, rx in _READ.items() if (m := re.search(rx, text, re.MULTILINE))}
    for name, var in (("bypass_virus_checks", "virus"), ("bypass_spam_checks", "spam")):
        m = re.search(rf"^@bypass_{var}_checks_maps = \(([01])\);", text, re.MULTILINE)
        if m:
            found[name] = "yes" if m[1] == "1" else "no"
    for kind in ("virus", "spam"):
        destiny = re.search(rf"^\$final_{kind}_destiny = (D_\w+);", text, re.MULTILINE)
        if destiny:
            quarantined = re.search(rf"^\${kind}_quarantine_method = '", text, re.MULTILINE) is not None
            by_destiny = {"D_PASS": "pass", "D_REJECT": "bounce", "D_DISCARD": "discard"}
            action = by_destiny.get(destiny[1], destiny[1])
            found[f"{kind}_action"] = "quarantine" if quarantined else action
    return found


# --- clamd --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ClamdParams:
    port: int
    database_dir: Path
    log_file: Path
    pid_file: Path
    temp_dir: Path


def render_clamd_conf(p: ClamdParams) -> str:
    """clamd in the foreground on loopback, with only the project's own signatures (never a download)."""
    lines = [
        "Foreground yes",
        f"TCPSocket {v.port('port', p.port)}",
        "TCPAddr 127.0.0.1",
        f"DatabaseDirectory {_path('database_dir', p.database_dir)}",
        f"LogFile {_path('log_file', p.log_file)}",
        "LogTime yes",
        f"PidFile {_path('pid_file', p.pid_file)}",
        f"TemporaryDirectory {_path('temp_dir', p.temp_dir)}",
    ]
    return with_header("\n".join(lines) + "\n", source=SOURCE)
