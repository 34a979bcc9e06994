"""The Stack: start, stop and inspect one private set of daemons that lives in one state dir."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shlex
import stat
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import NamedTuple

from mailadmin.configfiles import atomic_write
from mailadmin.stack.base import CYRUS_ADMIN, MANAGER, POSTFIX_BIND, SASLAUTHD_BIND, Context, Secrets, Service
from mailadmin.stack.config import (
    Layout,
    Ports,
    StackConfig,
    check_socket_paths,
    load_config,
    load_ports,
    port_busy,
    save_config,
    save_ports,
)
from mailadmin.stack.contentfilter import Amavisd, Clamd
from mailadmin.stack.cyrus import Cyrus
from mailadmin.stack.directory import Saslauthd, Slapd
from mailadmin.stack.ftp import Proftpd
from mailadmin.stack.mail import Postfix
from mailadmin.stack.mailfilter import MailFilter, disclaimers_file
from mailadmin.stack.policyd import Policyd
from mailadmin.stack.process import StackError, processes_referencing
from mailadmin.stack.support import Devlog, Postgres, Redis
from mailadmin.stack.web import Nginx


class ServiceState(NamedTuple):
    up: bool
    pid: int | None
    address: str
    version: str | None = None


class Stack:
    def __init__(self, config: StackConfig) -> None:
        # One spelling of the path everywhere: stop() recognises our processes by it.
        root = Path(os.path.realpath(config.state_dir))
        self.config = replace(config, state_dir=root)
        self.layout = Layout(root)
        self.secrets = Secrets(self.layout.secrets)
        # Seconds per daemon of the last start() (prepare + launch + ready), for bench/stack_start.py.
        self.timings: dict[str, float] = {}

    @classmethod
    def open(cls, state_dir: Path | str) -> Stack:
        """The stack last started in `state_dir`, as it was configured (the console's Configuration menu
        renders and reloads its daemons through this)."""
        return cls(load_config(Layout(Path(os.path.realpath(state_dir)))))

    # --- public API ----------------------------------------------------------------------------------
    def start(self) -> dict[str, str]:
        """Start every daemon, each checked by a real answer; return the stack.env values.

        Refuses when a daemon of this state dir runs already or a port is taken. When a later step fails,
        stops what it started and raises StackError with that daemon's log tail.
        """
        if os.geteuid() != 0:
            raise StackError("the private stack must be started as root (daemons drop privileges themselves)")
        self._make_root()
        with self._locked():
            running = [
                svc.name for svc in self._services(load_ports(self.layout) or Ports()) if svc.running()
            ]
            if running:
                raise StackError(
                    f"stack in {self.layout.root} is already running ({', '.join(running)}); stop it first"
                )
            ports = self._resolve_ports()
            busy = [f"{name}={port}" for name, port in ports.listening().items() if port_busy(port)]
            if busy:
                raise StackError(f"ports already in use: {', '.join(busy)}")
            save_ports(self.layout, ports)
            save_config(self.layout, self.config)
            self.timings = {}
            started: list[Service] = []
            try:
                for svc in self._services(ports):
                    if isinstance(svc, Devlog) and not svc.needed():
                        continue
                    self._start_one(svc, started)
                env = self._env(ports)
                write_env_file(self.layout.env_file, env)
            except BaseException as exc:
                # Ctrl-C included: never leave half a stack behind.
                problems = self._stop_services(reversed(started))
                if problems and isinstance(exc, StackError):
                    raise StackError(f"{exc}\n(clean-up: {'; '.join(problems)})") from exc
                raise
            return env

    def _start_one(self, svc: Service, started: list[Service]) -> None:
        began = time.monotonic()
        try:
            svc.clear_stale_pidfile()
            svc.prepare()
            started.append(svc)
            svc.launch()
            svc.wait_ready(self.config.timeout)
        except StackError as exc:
            if str(exc).startswith(f"{svc.name}: "):
                raise  # raised through svc.fail(): carries the log tail already
            raise svc.fail(str(exc)) from exc
        except Exception as exc:  # a renderer's ConfigValueError, an OSError, ...: still a failed start
            raise svc.fail(f"{type(exc).__name__}: {exc}") from exc
        self.timings[svc.name] = time.monotonic() - began

    def stop(self) -> None:
        """Stop by PID files only, in reverse start order; then insist nothing references the state dir."""
        if not self.layout.root.exists():
            return
        with self._locked():
            ports = load_ports(self.layout) or Ports()
            problems = self._stop_services(reversed(self._services(ports)))
            leftovers = self._wait_for_leftovers(timeout=5.0)
            if leftovers:
                listing = "\n".join(f"  pid {pid}: {cmd}" for pid, cmd in leftovers)
                problems.append(f"processes still reference {self.layout.root}:\n{listing}")
            if problems:
                raise StackError("stack stop incomplete: " + "; ".join(problems))

    def status(self) -> dict[str, ServiceState]:
        ports = load_ports(self.layout) or Ports()
        states: dict[str, ServiceState] = {}
        for svc in self._services(ports):
            if isinstance(svc, Devlog) and not svc.pidfile.exists():
                continue  # /dev/log belongs to someone else (or nobody needed it): not ours to report
            pid = svc.pid()
            up = False
            if pid is not None:
                with contextlib.suppress(OSError, StackError):
                    up = svc.ready()
            states[svc.name] = ServiceState(up=up, pid=pid, address=svc.address())
        return states

    def env(self) -> dict[str, str]:
        ports = load_ports(self.layout)
        if ports is None:
            raise StackError(f"no stack was started in {self.layout.root}")
        return self._env(ports)

    def service(self, name: str) -> Service:
        """One daemon of the running stack by name (its renderer, files, reload and readiness probe)."""
        ports = load_ports(self.layout)
        if ports is None:
            raise StackError(f"no stack was started in {self.layout.root}")
        for svc in self._services(ports):
            if svc.name == name:
                return svc
        raise StackError(f"the stack has no service {name!r}")

    # --- internals -----------------------------------------------------------------------------------
    def _services(self, ports: Ports) -> list[Service]:
        ctx = Context(config=self.config, layout=self.layout, ports=ports, secrets=self.secrets)
        # Start order; stop goes backwards. saslauthd needs slapd, Cyrus logins need saslauthd.
        # The disclaimer filter after Postfix (it re-injects there) and slapd (it looks senders up).
        # clamd before amavisd (amavis asks it); amavisd after slapd (it lists the hosted domains) and
        # before Postfix, so mail never waits for the content filter at start.
        return [
            Devlog(ctx),
            Slapd(ctx),
            Saslauthd(ctx),
            Cyrus(ctx),
            Clamd(ctx),
            Amavisd(ctx),
            Postfix(ctx),
            MailFilter(ctx),
            Redis(ctx),
            Postgres(ctx),
            Policyd(ctx),  # the relay rules (DLV-04): reads them from Redis
            Nginx(ctx),  # HTTPS in front of the console; needs nothing else of the stack
            Proftpd(ctx),  # free/busy FTP: logins checked against slapd
        ]

    def _resolve_ports(self) -> Ports:
        if isinstance(self.config.ports, Ports):
            return self.config.ports
        if self.config.ports == "auto":
            return Ports.auto()
        if self.config.ports == "default":
            return Ports()
        raise StackError(f"ports must be 'default', 'auto' or a Ports, not {self.config.ports!r}")

    def _make_root(self) -> None:
        root = self.layout.root
        root.mkdir(parents=True, exist_ok=True)
        # The daemons run as postfix, cyrus and postgres and must reach their subdirectories.
        root.chmod(0o755)
        for parent in root.parents:
            if not os.stat(parent).st_mode & stat.S_IXOTH:
                raise StackError(
                    f"{parent} is not searchable by other users, so the daemons (postfix, cyrus, postgres) "
                    f"could not reach {root}: chmod 755 it or choose a state dir under a searchable path"
                )
        check_socket_paths(self.layout)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """One start/stop at a time per state dir (two pytest workers, or `make run` twice)."""
        with open(self.layout.root / ".lock", "a+b") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as exc:
                raise StackError(f"another start/stop of {self.layout.root} is in progress") from exc
            yield

    def _stop_services(self, services: Iterator[Service] | list[Service]) -> list[str]:
        problems = []
        for svc in services:
            try:
                svc.stop()
            except (StackError, OSError) as exc:
                problems.append(f"{svc.name}: {exc}")
        return problems

    def _wait_for_leftovers(self, timeout: float) -> list[tuple[int, str]]:
        """Children (postfix smtpd, cyrus imapd, postgres workers) exit just after their master."""
        deadline = time.monotonic() + timeout
        while True:
            leftovers = processes_referencing(self.layout.root)
            if not leftovers or time.monotonic() >= deadline:
                return leftovers
            time.sleep(0.05)

    def _env(self, ports: Ports) -> dict[str, str]:
        cfg, layout = self.config, self.layout
        base = cfg.base_dn
        console_port = os.environ.get("MAILADMIN_PORT", "8000")
        ctx = Context(cfg, layout, ports, self.secrets)
        env = {
            "STACK_DIR": str(layout.root),
            "LDAP_URI": f"ldap://127.0.0.1:{ports.ldap}",
            "LDAPI_URI": layout.ldapi_uri,
            "LDAP_BASE_DN": base,
            "LDAP_ADMIN_DN": f"cn=manager,{base}",
            "LDAP_ADMIN_PASSWORD": self.secrets.get(MANAGER),
            "LDAP_POSTFIX_DN": f"cn=postfix,ou=services,{base}",
            "LDAP_POSTFIX_PASSWORD": self.secrets.get(POSTFIX_BIND),
            "LDAP_SASLAUTHD_DN": f"cn=saslauthd,ou=services,{base}",
            "LDAP_SASLAUTHD_PASSWORD": self.secrets.get(SASLAUTHD_BIND),
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(ports.smtp),
            "SUBMISSION_PORT": str(ports.submission),
            "IMAP_HOST": "127.0.0.1",
            "IMAP_PORT": str(ports.imap),
            "LMTP_HOST": "127.0.0.1",
            "LMTP_PORT": str(ports.lmtp),
            "CYRUS_ADMIN": cfg.cyrus_admin,
            "CYRUS_ADMIN_PASSWORD": self.secrets.get(CYRUS_ADMIN),
            "CYRUS_CONF": str(layout.imapd_conf),
            "CYRUS_BIN_DIR": str(cfg.cyrus_bin_dir),
            # Cyrus logs only to syslog; its lines carry this prefix (in SYSLOG_FILE, or another sink's file)
            "CYRUS_SYSLOG_PREFIX": Context(cfg, layout, ports, self.secrets).syslog_tag,
            "SASLAUTHD_MUX": str(layout.saslauthd_mux),
            "POSTFIX_CONFIG_DIR": str(layout.postfix_etc),
            "POSTFIX_MAILLOG": str(layout.maillog),
            "REDIS_URL": Context(cfg, layout, ports, self.secrets).redis_url(),
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:{ports.postgres}/mailadmin",
            "RELAY_PORT": str(ports.relay),
            "MAILFILTER_PORT": str(ports.mailfilter),
            "REINJECT_PORT": str(ports.reinject),
            "POLICYD_PORT": str(ports.policyd),
            "AMAVIS_PORT": str(ports.amavis),
            "CLAMD_PORT": str(ports.clamd),
            "AMAVIS_LOG": str(layout.amavis_log),
            "AMAVIS_QUARANTINE": str(layout.quarantine),
            "MAILFILTER_DISCLAIMERS": str(disclaimers_file(layout)),
            "MAILADMIN_MAILBOX_DOMAIN": cfg.mailbox_domain,
            "CONSOLE_URL": f"http://127.0.0.1:{console_port}/",
            # nginx and ProFTPD report the port of their live file (the Configuration menu may change it)
            "HTTPS_URL": Nginx(ctx).https_url(),
            "FTP_HOST": "127.0.0.1",
            "FTP_PORT": str(Proftpd(ctx).port()),
        }
        if layout.syslog_pid.exists():
            env["SYSLOG_FILE"] = str(layout.syslog_file)
        return env


def render_env(env: dict[str, str]) -> str:
    lines = ["# Written by `manage.py stack start` (mailadmin/stack). Secrets inside: keep it 0600."]
    lines += [f"{key}={shlex.quote(value)}" for key, value in env.items()]
    return "\n".join(lines) + "\n"


def write_env_file(path: Path, env: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, render_env(env), mode=0o600)
