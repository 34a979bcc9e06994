"""The content filter's daemons (CFG-03): clamd with the project's own signatures, and amavisd-new with
SpamAssassin in-process, both on loopback, both in the foreground under the stack's PID files.

clamd reads only `data/mailadmin.ndb` (EICAR and a test string of ours, as hex body signatures): nothing is
ever downloaded, freshclam is never started. amavisd must not run as root and refuses a configuration that
its own user could change, so amavisd.conf sits in a root-owned directory and amavisd drops to `amavis`
after reading it. How Postfix reaches them and what the Configuration page changes: docs/content-filter.md;
the page's side (render, validate, restart, smoke) is mailadmin/stack/amavis_menu.py.
"""

from __future__ import annotations

import logging
import shutil
import smtplib
import socket
import subprocess
from pathlib import Path

from mailadmin.configfiles import amavis, atomic_write, contract
from mailadmin.configfiles import values as v
from mailadmin.configfiles.amavis import AmavisParams, ClamdParams, render_amavisd_conf, render_clamd_conf
from mailadmin.configfiles.postfix import AMAVIS_PROBE_RCPT
from mailadmin.stack.amavis_menu import AmavisMenu
from mailadmin.stack.base import Service, greeting, require
from mailadmin.stack.process import StackError, child_env

log = logging.getLogger(__name__)

CLAMD = "/usr/sbin/clamd"
AMAVISD = "/usr/sbin/amavisd"
AMAVIS_USER = "amavis"
SIGNATURES = Path(__file__).resolve().parent / "data" / "mailadmin.ndb"


class _Foreground(Service):
    """A daemon that stays in the foreground: started as our child in its own session, its PID file written
    by itself."""

    _proc: subprocess.Popen[bytes] | None = None

    def argv(self) -> list[str]:
        raise NotImplementedError

    @property
    def out_file(self) -> Path:
        raise NotImplementedError

    def launch(self) -> None:
        argv = self.argv()
        with open(self.out_file, "ab") as out:
            try:
                self._proc = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    cwd=self.out_file.parent,
                    env=child_env(),
                    start_new_session=True,
                )
            except OSError as exc:
                raise StackError(f"cannot start {argv[0]}: {exc}") from exc

    def died(self) -> str | None:
        if self._proc is not None and self._proc.poll() is not None:
            return f"{self.name} exited with {self._proc.returncode}"
        return super().died()

    def stop(self) -> None:
        super().stop()
        if self._proc is not None:
            self._proc.poll()  # reap our child, if it was ours

    def logs(self) -> list[Path]:
        return [self.out_file]


class Clamd(_Foreground):
    name = "clamd"

    @property
    def pidfile(self) -> Path:
        return self.layout.clamd_pid

    @property
    def conf(self) -> Path:
        return self.layout.clamav / "clamd.conf"

    @property
    def out_file(self) -> Path:
        return self.layout.clamav / "clamd.out"

    def address(self) -> str:
        return f"clamd://127.0.0.1:{self.ctx.ports.clamd}"

    def logs(self) -> list[Path]:
        return [self.layout.clamav / "clamd.log", self.out_file]

    def prepare(self) -> None:
        require(CLAMD)
        c = self.layout.clamav
        for sub in (c, c / "db", c / "tmp"):
            sub.mkdir(parents=True, exist_ok=True)
            sub.chmod(0o755)
        # only our signatures: an old file left in db/ would be loaded too
        for old in (c / "db").iterdir():
            if old.name != SIGNATURES.name:
                old.unlink()
        shutil.copyfile(SIGNATURES, c / "db" / SIGNATURES.name)
        params = ClamdParams(
            port=self.ctx.ports.clamd,
            database_dir=c / "db",
            log_file=c / "clamd.log",
            pid_file=self.pidfile,
            temp_dir=c / "tmp",
        )
        atomic_write(self.conf, render_clamd_conf(params))

    def argv(self) -> list[str]:
        return [CLAMD, "-c", str(self.conf)]

    def ready(self) -> bool:
        return clamd_ping(self.ctx.ports.clamd)


def clamd_ping(port: int, *, timeout: float = 2.0) -> bool:
    """zPING -> PONG: clamd has loaded its signatures and answers."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        sock.sendall(b"zPING\0")
        return sock.recv(64).rstrip(b"\0\n") == b"PONG"


def probe(port: int) -> str:
    """The smoke test's probe through amavisd on `port`: from the null sender (nothing is ever bounced) to
    AMAVIS_PROBE_RCPT, which Postfix's smtpd behind amavis refuses, so amavisd's answer carries that refusal:
    the probe was received, scanned, scored and handed on, and nothing was queued or delivered. A line
    saying so; StackError for any other answer."""
    text = (
        f"From: <>\r\nTo: <{AMAVIS_PROBE_RCPT}>\r\nSubject: mailadmin content filter smoke test\r\n"
        "Message-ID: <smoke-probe@mailadmin.invalid>\r\n\r\nA probe; it is refused after the scan.\r\n"
    )
    reply: bytes | str
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=60) as smtp:
            smtp.ehlo("smoke-test.mailadmin.invalid")
            smtp.mail("<>")
            smtp.rcpt(AMAVIS_PROBE_RCPT)
            code, reply = smtp.data(text.encode())
    except smtplib.SMTPDataError as exc:
        code, reply = exc.smtp_code, exc.smtp_error
    except (OSError, smtplib.SMTPException) as exc:
        raise StackError(f"amavisd at 127.0.0.1:{port} did not take the probe: {exc}") from exc
    answer = (reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply).replace("\n", " ")
    if code < 500 or AMAVIS_PROBE_RCPT not in answer:
        raise StackError(f"the probe through amavisd got {code} {answer} (expected Postfix's refusal)")
    return f"probe through amavisd at 127.0.0.1:{port}, refused behind it as meant: {code} {answer}"


class Amavisd(AmavisMenu, _Foreground):
    name = "amavis"

    @property
    def pidfile(self) -> Path:
        return self.layout.amavis_pid

    @property
    def conf(self) -> Path:
        return self.layout.amavis_etc / "amavisd.conf"

    @property
    def domains_file(self) -> Path:
        return self.layout.amavis_etc / "local_domains"

    @property
    def out_file(self) -> Path:
        return self.layout.amavis / "log" / "amavisd.out"

    def address(self) -> str:
        return (
            f"smtp://127.0.0.1:{self.ctx.ports.amavis} -> smtp://127.0.0.1:{self.ctx.ports.amavis_reinject}"
        )

    def logs(self) -> list[Path]:
        return [self.layout.amavis_log, self.out_file]

    def amavis_params(self, settings: dict[str, str]) -> AmavisParams:
        ports, home = self.ctx.ports, self.layout.amavis_home
        return AmavisParams(
            home=home,
            log_file=self.layout.amavis_log,
            pid_file=self.pidfile,
            quarantine_dir=self.layout.quarantine,
            local_domains_file=self.domains_file,
            port=ports.amavis,
            reinject_port=ports.amavis_reinject,
            clamd_port=ports.clamd,
            myhostname=f"mx.{self.ctx.config.mailbox_domain}",
            mydomain=self.ctx.config.mailbox_domain,
            user=AMAVIS_USER,
            settings=settings,
        )

    def hosted_domains(self) -> list[str]:
        """The mail domains of the directory (as Postfix's own account finds them) and the mailbox domain."""
        try:
            result = self.ctx.ldap_as_postfix(
                "ldapsearch",
                *("-LLL", "-o", "ldif_wrap=no", "-b", f"{contract.DOMAINS},{self.ctx.base_dn}", "-s", "one"),
                f"(objectClass={contract.DOMAIN_CLASS})",
                contract.DOMAIN_NAME,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise StackError(f"amavis: cannot list the hosted domains: {exc}") from exc
        if result.returncode != 0:
            raise StackError(f"amavis: cannot list the hosted domains: {result.stderr.strip()}")
        found = [self.ctx.config.mailbox_domain]
        prefix = f"{contract.DOMAIN_NAME.lower()}: "
        for line in result.stdout.splitlines():
            name = line[len(prefix) :].strip() if line.startswith(prefix) else ""
            if not name:
                continue
            try:
                found.append(v.host("domain", name))
            except v.ConfigValueError:  # not made by the console (an import, a hand edit): left out
                log.warning("amavis: %r is no domain name; left out of the local domains", name)
        return found

    def publish_local_domains(self) -> None:
        """Write the hosted domains where amavis reads them; it notices the new file by itself."""
        text = amavis.render_local_domains(self.hosted_domains())
        if not self.domains_file.exists() or self.domains_file.read_text(encoding="utf-8") != text:
            atomic_write(self.domains_file, text, mode=0o644)

    def prepare(self) -> None:
        require(AMAVISD)
        a = self.layout
        # root's and not writable by amavis: amavisd refuses its configuration otherwise
        for sub in (a.amavis, a.amavis_etc):
            sub.mkdir(parents=True, exist_ok=True)
            sub.chmod(0o755)
        for sub in (a.amavis_home, a.amavis_home / "tmp", a.amavis_home / "sa", a.amavis_home / "db",
                    a.amavis_log.parent, a.quarantine):  # fmt: skip
            sub.mkdir(parents=True, exist_ok=True)
            sub.chmod(0o750 if sub == a.quarantine else 0o755)
            shutil.chown(sub, AMAVIS_USER, AMAVIS_USER)
        settings = self.stored()
        self.make_quarantine_folders(settings)
        self.publish_local_domains()
        atomic_write(self.conf, render_amavisd_conf(self.amavis_params(settings)), mode=0o644)

    def argv(self) -> list[str]:
        return [AMAVISD, "-c", str(self.conf), "foreground"]

    def ready(self) -> bool:
        """amavisd wrote its PID file and greets (it binds only after SpamAssassin's rules are loaded)."""
        if not self.pidfile.exists():
            return False
        return greeting(self.ctx.ports.amavis, farewell=b"QUIT\r\n").startswith(b"220")
