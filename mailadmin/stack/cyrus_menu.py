"""Cyrus IMAP in the Configuration menu (mailadmin/configfiles/change): render imapd.conf, let Cyrus's own
parser check a staged copy, make the running server take it, and prove it still serves. Mixed into the
stack's Cyrus, so the menu and the stack's start render imapd.conf from the same stored values."""

from __future__ import annotations

import contextlib
import imaplib
import os
import signal
import socket
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from mailadmin.configfiles import store
from mailadmin.configfiles.cyrus import CyrusParams, render_imapd_conf
from mailadmin.stack.base import CYRUS_ADMIN, Context
from mailadmin.stack.config import Layout
from mailadmin.stack.process import StackError, child_env

MANAGED = ("imapd.conf",)
# How long the smoke test and the readiness wait give Cyrus (a reload recycles idle children only).
SMOKE_TIMEOUT = 10.0
READY_TIMEOUT = 30.0
_DEFAULTS: dict[Path, dict[str, str]] = {}


def parse_conf(text: str) -> dict[str, str]:
    """`cyr_info conf` / `conf-default` output: one `key: value` per line (the value may be empty)."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key and " " not in key:
            out[key] = value.strip()
    return out


class CyrusMenu:
    name = "cyrus"
    ctx: Context
    layout: Layout

    def params(self, settings: Mapping[str, str] | None = None) -> CyrusParams:
        raise NotImplementedError

    if TYPE_CHECKING:  # from Service (mailadmin/stack/base.py), which comes after this class in the MRO

        def pid(self) -> int | None: ...

        def wait_ready(self, timeout: float) -> None: ...

    def stored(self) -> dict[str, str]:
        return store.values(self.layout.menu, "cyrus")

    # --- the Managed protocol (mailadmin/configfiles/change/protocol.py) ---------------------------------
    def render(self, settings: Mapping[str, str]) -> dict[str, str]:
        return {"imapd.conf": render_imapd_conf(self.params(settings))}

    def config_path(self, file: str) -> Path:
        if file not in MANAGED:
            raise StackError(f"cyrus: {file!r} is not a file the menu manages")
        return self.layout.imapd_conf

    def allowed_dirs(self) -> list[str]:
        return [str(self.layout.cyrus), "/etc/ssl"]

    def validate_dir(self, staging: Path) -> None:
        """Cyrus's own parser on the staged imapd.conf: `cyr_info conf-lint` lists every key Cyrus does not
        know (it must list none), and `cyr_info conf` reads every value the way imapd does at start (a bad
        number, duration or choice is a fatal error there)."""
        conf = staging / "imapd.conf"
        rc, out, err = self._cyr_info(conf, "conf-lint")
        unknown = (out + err).strip()
        if rc != 0 or unknown:
            raise StackError(f"Cyrus does not know these settings: {' '.join(unknown.split())}")
        rc, out, err = self._cyr_info(conf, "conf")
        if rc != 0:
            raise StackError(" ".join((err or out).split()) or f"cyr_info conf failed (exit {rc})")

    def defaults(self) -> dict[str, str]:
        """Cyrus's built-in value of every option (`cyr_info conf-default`), asked once per process."""
        conf = self.layout.imapd_conf
        cached = _DEFAULTS.get(conf)
        if cached is None:
            rc, out, err = self._cyr_info(conf, "conf-default")
            if rc != 0:
                raise StackError(f"cyr_info conf-default failed: {' '.join((err or out).split())}")
            cached = _DEFAULTS[conf] = parse_conf(out)
        return dict(cached)

    def values_of(self, directory: Path | None) -> dict[str, str]:
        """The options imapd.conf in `directory` (None: the running one) sets to something other than
        Cyrus's default, as Cyrus reads them (`cyr_info conf`: `true` reads back as `yes`, for example)."""
        conf = self.layout.imapd_conf if directory is None else directory / "imapd.conf"
        rc, out, err = self._cyr_info(conf, "conf")
        if rc != 0:
            raise StackError(f"cyr_info conf failed: {' '.join((err or out).split())}")
        return parse_conf(out)

    def reload(self) -> None:
        """SIGHUP to cyrmaster: it re-reads cyrus.conf and passes the signal on to its children, so idle
        service processes exit and are started again (reading imapd.conf afresh); a child serving a client
        finishes that session with the old settings. Every connection here gets a new imapd or lmtpd
        (prefork=0), so a change applies to every new connection at once. cyrmaster itself reads imapd.conf
        only when it starts: options it uses itself (none the menu offers) would need a restart of Cyrus."""
        pid = self.pid()
        if pid is None:
            raise StackError("cyrus: cyrmaster is not running")
        os.kill(pid, signal.SIGHUP)
        self.wait_ready(READY_TIMEOUT)

    def smoke(self) -> str:
        """An IMAP LOGIN of the Cyrus admin (sasldb), LIST "" "%", LOGOUT; an LMTP greeting and LHLO."""
        admin = self.ctx.config.cyrus_admin
        try:
            imap = imaplib.IMAP4("127.0.0.1", self.ctx.ports.imap, timeout=SMOKE_TIMEOUT)
        except OSError as exc:
            raise StackError(f"IMAP port {self.ctx.ports.imap} does not answer ({exc})") from exc
        try:
            try:
                imap.login(admin, self.ctx.secrets.get(CYRUS_ADMIN))
            except imaplib.IMAP4.error as exc:
                raise StackError(f"IMAP LOGIN of {admin} refused: {_said(exc)}") from exc
            status, folders = imap.list('""', "%")
            if status != "OK":
                raise StackError(f"IMAP LIST answered {status}")
            count = len([f for f in folders if f])
        except (imaplib.IMAP4.error, OSError) as exc:
            raise StackError(f"IMAP session of {admin} failed: {_said(exc)}") from exc
        finally:
            # the server may have closed a refused session already
            with contextlib.suppress(imaplib.IMAP4.error, OSError):
                imap.logout()
        lmtp = self._lmtp_answers()
        return f'IMAP LOGIN {admin} OK, LIST "" "%" {count} folder(s), LOGOUT; {lmtp}'

    # --- helpers -----------------------------------------------------------------------------------------
    def _lmtp_answers(self) -> str:
        port = self.ctx.ports.lmtp
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=SMOKE_TIMEOUT) as sock:
                sock.settimeout(SMOKE_TIMEOUT)
                reader = sock.makefile("rb")
                greeting = reader.readline()
                if not greeting.startswith(b"220"):
                    raise StackError(f"LMTP port {port} greets with {greeting[:60]!r}, not 220")
                sock.sendall(b"LHLO smoke-test.mailadmin.invalid\r\n")
                while True:
                    line = reader.readline()
                    if not line.startswith(b"250"):
                        raise StackError(f"LMTP LHLO answered {line[:60]!r}")
                    if line[3:4] != b"-":
                        break
                sock.sendall(b"QUIT\r\n")
        except OSError as exc:
            raise StackError(f"LMTP port {port} does not answer ({exc})") from exc
        return f"LMTP {port} 220, LHLO 250"

    def _cyr_info(self, conf: Path, command: str) -> tuple[int, str, str]:
        try:
            result = subprocess.run(
                [str(self.ctx.config.cyrus_bin_dir / "cyr_info"), "-C", str(conf), command],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                errors="replace",
                env=child_env(),
                timeout=30,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise StackError(f"cyr_info {command}: {exc}") from exc
        return result.returncode, result.stdout, result.stderr


def _said(exc: BaseException) -> str:
    text = str(exc)
    if text.startswith("b'") or text.startswith('b"'):
        text = text[2:-1]
    return text or type(exc).__name__
