"""The helpers around the mail daemons: Redis (Celery broker, cache), PostgreSQL (the console's database)
and the /dev/log sink."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

from mailadmin.configfiles import atomic_write, values
from mailadmin.stack import devlog
from mailadmin.stack.base import REDIS_PASSWORD, Service, require, tcp_listening
from mailadmin.stack.devlog import listener_alive
from mailadmin.stack.process import StackError, child_env, run, terminate, wait_gone

DEV_LOG = Path("/dev/log")
DATABASE = "mailadmin"


class Redis(Service):
    name = "redis"

    @property
    def pidfile(self) -> Path:
        return self.layout.redis_pid

    def address(self) -> str:
        return f"redis://127.0.0.1:{self.ctx.ports.redis}/0"

    def logs(self) -> list[Path]:
        return [self.layout.redis / "redis.log"]

    @property
    def conf(self) -> Path:
        return self.layout.redis / "redis.conf"

    def prepare(self) -> None:
        require("redis-server")
        self.layout.redis.mkdir(exist_ok=True)
        # The password goes in a file (0600), not on the command line where `ps` shows it to everyone.
        password = values.secret("redis password", self.ctx.secrets.get(REDIS_PASSWORD))
        atomic_write(
            self.conf, f"# Written by mailadmin/stack. Secret inside.\nrequirepass {password}\n", mode=0o600
        )

    def launch(self) -> None:
        r = self.layout.redis
        argv = ["redis-server", str(self.conf), "--port", str(self.ctx.ports.redis), "--bind", "127.0.0.1"]
        # A broker and cache for dev and tests: nothing worth persisting.
        argv += ["--save", "", "--appendonly", "no", "--daemonize", "yes"]
        argv += ["--pidfile", str(self.pidfile), "--logfile", str(r / "redis.log"), "--dir", str(r)]
        try:
            run(argv, log=r / "redis.log")
        except StackError as exc:
            raise self.fail(str(exc)) from exc

    def ready(self) -> bool:
        password = self.ctx.secrets.get(REDIS_PASSWORD).encode()
        with socket.create_connection(("127.0.0.1", self.ctx.ports.redis), timeout=1.0) as sock:
            sock.sendall(b"AUTH " + password + b"\r\nPING\r\n")
            answer = b""
            while answer.count(b"\r\n") < 2:
                chunk = sock.recv(64)
                if not chunk:
                    break
                answer += chunk
            return answer.startswith(b"+OK\r\n+PONG")


class Postgres(Service):
    name = "postgres"

    @property
    def pidfile(self) -> Path:
        return self.layout.pg_pid

    @property
    def bin_dir(self) -> Path:
        if self.ctx.config.pg_bin_dir is not None:
            return self.ctx.config.pg_bin_dir
        found = sorted(
            Path("/usr/lib/postgresql").glob("*/bin/initdb"),
            key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0,
        )
        if not found:
            raise StackError("postgres: no /usr/lib/postgresql/*/bin/initdb (install the postgresql package)")
        return found[-1].parent

    def address(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.ctx.ports.postgres}/{DATABASE}"

    def logs(self) -> list[Path]:
        return [self.layout.pg / "postgres.log", self.layout.pg / "initdb.log"]

    def prepare(self) -> None:
        bin_dir = self.bin_dir
        require(bin_dir / "initdb", bin_dir / "pg_ctl", "psql")
        pg, data = self.layout.pg, self.layout.pg_data
        pg.mkdir(exist_ok=True)
        shutil.chown(pg, "postgres", "postgres")
        if not (pg / ".initialised").exists():
            shutil.rmtree(data, ignore_errors=True)
            # initdb refuses root; from cwd / so postgres does not trip over an unreadable working directory
            argv: list[str | Path] = [
                bin_dir / "initdb",
                "-D",
                data,
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
            ]
            run([*argv, "--locale=C.UTF-8", "--no-sync"], user="postgres", cwd="/", log=pg / "initdb.log")
            with open(data / "postgresql.conf", "a", encoding="utf-8") as conf:
                conf.write(
                    "\n# mailadmin stack: port, sockets and speed settings, rewritten on every start\n"
                )
                conf.write("include_if_exists = 'mailadmin.conf'\n")
            (pg / ".initialised").touch()
        # Settings in a file rather than `pg_ctl -o`: pg_ctl hands -o to a shell.
        lines = [
            f"port = {self.ctx.ports.postgres}",
            "listen_addresses = '127.0.0.1'",
            f"unix_socket_directories = '{values.path('pg_socket_dir', pg)}'",
        ]
        if self.ctx.config.nosync:
            lines += ["fsync = off", "synchronous_commit = off", "full_page_writes = off"]
        atomic_write(
            data / "mailadmin.conf", "\n".join(lines) + "\n", mode=0o600, owner="postgres", group="postgres"
        )

    def launch(self) -> None:
        pg = self.layout.pg
        argv: list[str | Path] = [
            self.bin_dir / "pg_ctl",
            "-D",
            self.layout.pg_data,
            "-l",
            pg / "postgres.log",
        ]
        # -w: pg_ctl returns once the server accepts connections (its own readiness poll).
        argv += ["-w", "-t", str(int(self.ctx.config.timeout)), "start"]
        try:
            run(argv, user="postgres", cwd="/", log=pg / "pg_ctl.log", timeout=self.ctx.config.timeout + 5)
        except StackError as exc:
            raise self.fail(str(exc)) from exc
        self._ensure_database()

    def _psql(self, sql: str) -> str:
        argv = [
            "psql",
            "-h",
            "127.0.0.1",
            "-p",
            str(self.ctx.ports.postgres),
            "-U",
            "postgres",
            "-d",
            "postgres",
        ]
        return run([*argv, "-qAt", "-c", sql]).strip()

    def _ensure_database(self) -> None:
        # DATABASE is a constant of this module, never user input
        if self._psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'") != "1":  # noqa: S608
            self._psql(f"CREATE DATABASE {DATABASE}")

    def ready(self) -> bool:
        return self.running() and tcp_listening(self.ctx.ports.postgres)

    def stop(self) -> None:
        pid = self.pid()
        if pid is None:
            return
        argv: list[str | Path] = [
            self.bin_dir / "pg_ctl",
            "-D",
            self.layout.pg_data,
            "-m",
            "fast",
            "-w",
            "-t",
            "30",
            "stop",
        ]
        try:
            run(argv, user="postgres", cwd="/", timeout=40)
        except StackError:
            terminate(pid, sig=signal.SIGINT)  # SIGINT = fast shutdown
        wait_gone(pid, timeout=15)


class Devlog(Service):
    """Our /dev/log sink, started only when nobody listens on /dev/log."""

    name = "syslog"

    @property
    def pidfile(self) -> Path:
        return self.layout.syslog_pid

    def address(self) -> str:
        return f"{DEV_LOG} -> {self.layout.syslog_file}"

    def logs(self) -> list[Path]:
        return [self.layout.syslog / "devlog.log"]

    def needed(self) -> bool:
        if DEV_LOG.exists() and not DEV_LOG.is_socket():
            return False  # something else entirely; leave it alone
        return not listener_alive(DEV_LOG)

    def prepare(self) -> None:
        self.layout.syslog.mkdir(exist_ok=True)

    def launch(self) -> None:
        # The module's file with -I -S, not `-m mailadmin.stack.devlog`: importing the mailadmin package
        # loads Celery (0.4 s), and the sink needs nothing but the standard library.
        argv = [sys.executable, "-I", "-S", devlog.__file__, "--socket", str(DEV_LOG)]
        argv += ["--out", str(self.layout.syslog_file), "--pidfile", str(self.pidfile)]
        result = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            env=child_env(),
            timeout=30,
            check=False,
        )
        if result.returncode == 3:
            return  # another sink won the race for /dev/log: its messages go there, which is fine
        if result.returncode != 0:
            raise self.fail(result.stderr.strip() or f"exit {result.returncode}")

    def ready(self) -> bool:
        return listener_alive(DEV_LOG)
