"""nginx: HTTPS on loopback in front of the console (gunicorn, started by scripts/run.sh on $MAILADMIN_PORT).

nginx serves /static/ itself, proxies everything else to the console, and answers a health URL on its own, so
it can be proved up (and its TLS certificate checked) without the console running. The certificate is made
with openssl at the first start, one per server name, self-signed. The Configuration menu changes nginx.conf
through render / validate_dir / reload / smoke (and gunicorn.env, read by scripts/run.sh).
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import json
import os
import re
import signal
import socket
import ssl
from collections.abc import Mapping
from pathlib import Path

from mailadmin.configfiles import atomic_write, store
from mailadmin.configfiles import values as v
from mailadmin.configfiles.nginx import (
    DEFAULTS,
    GENERATION_HEADER,
    HEALTH_PATH,
    NginxParams,
    certificate,
    effective,
    generation,
    listen_port,
    render_gunicorn_env,
    render_nginx_conf,
    server_name,
    values_in,
)
from mailadmin.stack.base import Service, require
from mailadmin.stack.ftp import children
from mailadmin.stack.process import StackError, alive, run, wait_until

NGINX = "/usr/sbin/nginx"
DEFAULT_SERVER_NAME = "localhost"
FILES = ("nginx.conf", "gunicorn.env")
_LOG_PREFIX = re.compile(r"^[0-9/]{10} [0-9:]{8} \[(?P<level>[a-z]+)\] [0-9]+#[0-9]+: ")


class Response:
    def __init__(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
        self.status = status
        self.headers = {k.lower(): val for k, val in headers.items()}
        self.body = body


class Nginx(Service):
    name = "nginx"

    @property
    def pidfile(self) -> Path:
        return self.layout.nginx_pid

    @property
    def error_log(self) -> Path:
        return self.layout.web / "log" / "error.log"

    def address(self) -> str:
        return self.https_url()

    def logs(self) -> list[Path]:
        return [self.error_log, self.layout.web / "log" / "nginx.out"]

    def allowed_dirs(self) -> list[str]:
        """Where the menu's PATH values (certificate and key) may point."""
        return [str(self.layout.web), "/etc/ssl"]

    def config_path(self, file: str) -> Path:
        if file not in FILES:
            raise StackError(f"nginx: {file!r} is not a file the menu manages ({', '.join(FILES)})")
        return self.layout.web / file

    # --- rendering ----------------------------------------------------------------------------------
    def stored(self) -> dict[str, str]:
        """The menu's values for nginx (mailadmin/configfiles/store.py)."""
        return store.values(self.layout.menu, "nginx")

    def _site(self) -> dict[str, str]:
        """Where the console listens and where its static files are, as of the last start (site.json), so
        that the menu renders the same file as the start did."""
        try:
            data = json.loads((self.layout.web / "site.json").read_text(encoding="utf-8"))
            return {"console_port": str(data["console_port"]), "static_dir": str(data["static_dir"])}
        except (OSError, ValueError, KeyError, TypeError):
            return self._site_from_environment()

    def _site_from_environment(self) -> dict[str, str]:
        # scripts/run.sh exports MAILADMIN_VAR_DIR before starting the stack: its collectstatic target
        # (settings.STATIC_ROOT = VAR_DIR/static) is what /static/ serves. Otherwise an empty dir of our own.
        var_dir = os.environ.get("MAILADMIN_VAR_DIR")
        static = Path(var_dir) / "static" if var_dir else self.layout.web / "static"
        return {"console_port": os.environ.get("MAILADMIN_PORT", "8000"), "static_dir": str(static)}

    def params(self, settings: Mapping[str, str]) -> NginxParams:
        web, site = self.layout.web, self._site()
        name = settings.get("server_name", DEFAULT_SERVER_NAME)
        if "ssl_certificate" in settings and "ssl_certificate_key" in settings:
            crt, key = Path(settings["ssl_certificate"]), Path(settings["ssl_certificate_key"])
        else:
            crt, key = self.certificate_for(name)
        if not site["console_port"].isdigit():
            raise v.ConfigValueError("console_port", "must be a port number", site["console_port"])
        return NginxParams(
            pid_file=self.pidfile,
            error_log=self.error_log,
            access_log=web / "log" / "access.log",
            temp_dir=web / "tmp",
            static_dir=Path(site["static_dir"]),
            https_port=self.ctx.ports.https,
            console_port=int(site["console_port"]),
            server_name=name,
            ssl_certificate=crt,
            ssl_certificate_key=key,
            settings=dict(settings),
        )

    def render(self, settings: Mapping[str, str]) -> dict[str, str]:
        """File name -> full text of the files the menu manages. Makes the self-signed certificate of a new
        server name first (unless the settings name a certificate), so the file validates as it is."""
        return {
            "nginx.conf": render_nginx_conf(self.params(settings)),
            "gunicorn.env": render_gunicorn_env(settings),
        }

    def defaults(self) -> dict[str, str]:
        """The values nginx.conf and gunicorn.env get when the menu sets none (the renderer's)."""
        params = self.params({})
        return {**effective(params), "gunicorn_workers": DEFAULTS["gunicorn_workers"]}

    def values_of(self, directory: Path | None) -> dict[str, str]:
        """The menu's parameters as the files in `directory` set them (None: the running ones)."""
        where = directory or self.layout.web
        texts = [_read(where / file) for file in FILES]
        return values_in(texts[0] or "", texts[1])

    def certificate_for(self, name: str) -> tuple[Path, Path]:
        """The self-signed certificate and key for `name` (made now if missing): CN and subjectAltName are
        the name, plus 127.0.0.1. The key is 0600 root: nginx's master reads it before its workers start."""
        name = v.host("server_name", name)
        tls = self.layout.tls
        tls.mkdir(mode=0o700, parents=True, exist_ok=True)
        tls.chmod(0o700)
        crt, key = tls / f"{name}.crt", tls / f"{name}.key"
        if crt.exists() and key.exists():
            return crt, key
        try:
            ipaddress.IPv4Address(name)
            san = f"IP:{name}"
        except ValueError:
            san = f"DNS:{name},IP:127.0.0.1"
        tmp_crt, tmp_key = tls / f".{name}.crt.tmp", tls / f".{name}.key.tmp"
        argv: list[str | Path] = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "825"]
        argv += ["-subj", f"/CN={name}", "-addext", f"subjectAltName={san}"]
        run([*argv, "-keyout", tmp_key, "-out", tmp_crt])
        tmp_key.chmod(0o600)
        tmp_crt.chmod(0o644)
        os.replace(tmp_key, key)
        os.replace(tmp_crt, crt)
        return crt, key

    # --- the daemon ---------------------------------------------------------------------------------
    def prepare(self) -> None:
        require(NGINX, "openssl")
        web = self.layout.web
        for sub in (web, web / "run", web / "log", web / "tmp"):
            sub.mkdir(parents=True, exist_ok=True)
            sub.chmod(0o755)  # the workers (www-data) reach the temp dirs; nginx makes those 0700 itself
        site = self._site_from_environment()
        atomic_write(web / "site.json", json.dumps(site, indent=1) + "\n")
        Path(site["static_dir"]).mkdir(parents=True, exist_ok=True)
        for file, text in self.render(self.stored()).items():
            atomic_write(self.config_path(file), text)
        self._test(self.layout.nginx_conf)

    def launch(self) -> None:
        try:
            run([NGINX, "-e", self.error_log, "-c", self.layout.nginx_conf], log=self.logs()[1])
        except StackError as exc:
            raise self.fail(str(exc)) from exc

    def ready(self) -> bool:
        answer = self._health()
        return answer is not None and answer.status == 200 and answer.body.strip() == b"ok"

    def _health(self) -> Response | None:
        """The health URL's answer without checking the certificate (None: not HTTP)."""
        try:
            return self.request("GET", HEALTH_PATH, verify=False, timeout=1.0)
        except http.client.HTTPException:
            return None

    # --- for the Configuration menu -----------------------------------------------------------------
    def validate_dir(self, staging: Path) -> None:
        """nginx -t on staging/nginx.conf (its paths are absolute, so it validates where it lies)."""
        self._test(staging / "nginx.conf")

    def reload(self) -> None:
        """SIGHUP to the master after the file it will read passes nginx -t; returns once the health URL
        answers with the new file's digest and no worker of the old configuration accepts connections any
        more (they may still finish the requests they have)."""
        pid = self.pid()
        if pid is None:
            raise StackError("nginx: not running")
        self._test(self.layout.nginx_conf)
        want = generation(self._live())
        start = self.error_log.stat().st_size if self.error_log.exists() else 0
        old_workers = children(pid)
        os.kill(pid, signal.SIGHUP)

        def serving() -> bool:
            answer = self._health()
            if answer is None or answer.headers.get(GENERATION_HEADER.lower()) != want:
                return False
            # An old worker closes its listening sockets when it gets the master's QUIT, a moment after the
            # new workers start; until then it may still accept a connection and answer the old way.
            return not _accepting(old_workers)

        def refused() -> str | None:
            with open(self.error_log, "rb") as handle:
                handle.seek(start)
                new = handle.read().decode(errors="replace")
            emerg = [line for line in new.splitlines() if "[emerg]" in line]
            return "; ".join(emerg) if emerg else None

        wait_until(serving, timeout=self.ctx.config.timeout, what="nginx reload", abort=refused)

    def smoke(self) -> str:
        """An HTTPS GET of the health URL, the certificate checked against the configured server name."""
        name = self.server_name()
        try:
            answer = self.request("GET", HEALTH_PATH, verify=True)
        except (OSError, ssl.SSLError, http.client.HTTPException) as exc:
            raise StackError(f"nginx: {self.https_url()} does not answer: {exc}") from exc
        if answer.status != 200 or answer.body.strip() != b"ok":
            raise StackError(f"nginx: {HEALTH_PATH} answered {answer.status} {answer.body[:80]!r}")
        return (
            f"nginx answers {self.https_url().rstrip('/')}{HEALTH_PATH} with 200 ok (certificate for {name})"
        )

    # --- helpers ------------------------------------------------------------------------------------
    def _live(self) -> str:
        try:
            return self.layout.nginx_conf.read_text(encoding="utf-8")
        except OSError:
            return ""

    def port(self) -> int:
        """The port the live nginx.conf listens on (the menu may have changed the stack's)."""
        return listen_port(self._live()) or self.ctx.ports.https

    def server_name(self) -> str:
        return server_name(self._live()) or DEFAULT_SERVER_NAME

    def https_url(self) -> str:
        return f"https://{self.server_name()}:{self.port()}/"

    def request(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        *,
        verify: bool = True,
        timeout: float = 5.0,
    ) -> Response:
        """One HTTPS request to 127.0.0.1 with the server name as SNI and Host. verify=True: the served
        certificate must be valid for the server name, checked against the configured certificate file
        (self-signed: it is its own anchor) and the system's CAs."""
        text = self._live()
        name, port = self.server_name(), self.port()
        if verify:
            ctx = ssl.create_default_context()
            cert = certificate(text)
            if cert:
                ctx.load_verify_locations(cafile=cert)
            # the self-signed certificate is the leaf and the anchor at once
            ctx.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
            ctx.verify_flags &= ~ssl.VERIFY_X509_STRICT
        else:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        head = f"{method} {path} HTTP/1.1\r\nHost: {name}:{port}\r\nConnection: close\r\n"
        if body or method not in ("GET", "HEAD"):
            head += f"Content-Length: {len(body)}\r\n"
        with (
            socket.create_connection(("127.0.0.1", port), timeout=timeout) as raw,
            ctx.wrap_socket(raw, server_hostname=name) as tls,
        ):
            tls.sendall(head.encode("ascii") + b"\r\n" + body)
            response = http.client.HTTPResponse(tls, method=method)
            response.begin()
            data = response.read()
            return Response(response.status, dict(response.getheaders()), data)

    def _test(self, conf: Path) -> None:
        """nginx -t; a refusal raises StackError with nginx's own words."""
        try:
            run([NGINX, "-t", "-q", "-e", "stderr", "-c", conf])
        except StackError as exc:
            # "2026/01/01 10:00:00 [emerg] 123#123: message" -> "[emerg] message"
            lines = [_LOG_PREFIX.sub(r"[\g<level>] ", line) for line in str(exc).splitlines()[1:]]
            detail = "; ".join(line for line in lines if line.strip()) or str(exc)
            raise StackError(f"nginx refuses {conf}: {detail}") from exc


def _accepting(pids: list[int]) -> bool:
    """Does one of `pids` still hold a listening TCP socket?"""
    listening = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text(encoding="ascii").splitlines()[1:]:
                cols = line.split()
                if len(cols) > 9 and cols[3] == "0A":  # TCP_LISTEN
                    listening.add(f"socket:[{cols[9]}]")
    for pid in pids:
        if not alive(pid):
            continue
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    if os.readlink(f"/proc/{pid}/fd/{fd}") in listening:
                        return True
    return False


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return None
