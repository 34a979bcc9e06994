"""Installation checks (SYS-02): host name / FQDN sanity and which process holds each port we need.

Pure /proc reading, no subprocess: the manual's "Can't start until the following ports are available"
names the process holding a port, so an administrator can stop it."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings


@dataclass(frozen=True)
class Finding:
    ok: bool
    subject: str
    message: str


@dataclass(frozen=True)
class PortUse:
    service: str
    port: int
    in_use: bool
    pid: int | None = None
    process: str = ""


def hostname_findings() -> list[Finding]:
    findings = []
    host = socket.gethostname()
    fqdn = socket.getfqdn()
    findings.append(
        Finding(bool(host), "hostname", f"Host name is {host!r}." if host else "No host name set.")
    )
    if "." not in fqdn:
        findings.append(
            Finding(
                False,
                "fqdn",
                f"The fully qualified name {fqdn!r} has no domain part. Mail servers need "
                "one (e.g. mail.example.com) for HELO and for the Received: headers.",
            )
        )
    elif fqdn.startswith(("localhost", "127.")):
        findings.append(Finding(False, "fqdn", f"The fully qualified name {fqdn!r} is a loopback name."))
    else:
        findings.append(Finding(True, "fqdn", f"Fully qualified name is {fqdn!r}."))
    try:
        addrs = sorted({str(ai[4][0]) for ai in socket.getaddrinfo(fqdn, None, proto=socket.IPPROTO_TCP)})
    except OSError:
        findings.append(Finding(False, "resolve", f"{fqdn!r} does not resolve to an address."))
    else:
        findings.append(Finding(True, "resolve", f"{fqdn!r} resolves to {', '.join(addrs)}."))
    return findings


def _port_of(uri: str, default: int) -> int:
    try:
        return urlsplit(uri).port or default
    except ValueError:
        return default


def wanted_ports() -> dict[str, int]:
    ports = {
        "LDAP (slapd)": _port_of(settings.LDAP_URI, 389),
        "SMTP (Postfix)": int(settings.SMTP_PORT),
        "IMAP (Cyrus)": int(settings.IMAP_PORT),
        "Console (gunicorn)": int(os.environ.get("MAILADMIN_PORT", "8000")),
    }
    if settings.REDIS_URL:
        ports["Redis"] = _port_of(settings.REDIS_URL, 6379)
    db = settings.DATABASES["default"]
    if db.get("ENGINE", "").endswith("postgresql") and db.get("PORT"):
        ports["PostgreSQL"] = int(db["PORT"])
    for name, env in (
        ("LMTP (Cyrus)", "LMTP_PORT"),
        ("Submission (Postfix)", "SUBMISSION_PORT"),
        ("FTP (ProFTPD)", "FTP_PORT"),
        ("Content filter (amavisd)", "AMAVIS_PORT"),
        ("Virus scanner (clamd)", "CLAMD_PORT"),
    ):
        if os.environ.get(env, "").isdigit():
            ports[name] = int(os.environ[env])
    https = os.environ.get("HTTPS_URL", "")
    if https:
        ports["HTTPS (nginx)"] = _port_of(https, 443)
    return ports


def _listening_inodes() -> dict[int, int]:
    """port -> socket inode for every TCP socket in LISTEN state (IPv4 and IPv6)."""
    result: dict[int, int] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) < 10 or fields[3] != "0A":  # 0A = LISTEN
                continue
            port = int(fields[1].rsplit(":", 1)[1], 16)
            result.setdefault(port, int(fields[9]))
    return result


def _owner_of(inode: int) -> tuple[int | None, str]:
    """The process holding a listening socket. Pre-forking daemons (cyrmaster and its imapd children,
    Postfix's master and smtpd) share the socket: name the one whose parent does not hold it too."""
    target = f"socket:[{inode}]"
    holders: dict[int, str] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            for fd in os.scandir(f"/proc/{entry.name}/fd"):
                if os.readlink(fd.path) == target:
                    holders[int(entry.name)] = Path(f"/proc/{entry.name}/comm").read_text().strip()
                    break
        except OSError:
            continue
    for pid, comm in sorted(holders.items()):
        if _parent(pid) not in holders:
            return pid, comm
    return None, ""


def _parent(pid: int) -> int:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    # The command name (field 2) may contain spaces and parentheses: fields after the last ")" are fixed.
    return int(stat.rsplit(")", 1)[1].split()[1])


def port_uses(ports: dict[str, int] | None = None) -> list[PortUse]:
    listening = _listening_inodes()
    uses = []
    for service, port in (ports or wanted_ports()).items():
        inode = listening.get(port)
        if inode is None:
            uses.append(PortUse(service, port, False))
        else:
            pid, comm = _owner_of(inode)
            uses.append(PortUse(service, port, True, pid, comm))
    return uses
