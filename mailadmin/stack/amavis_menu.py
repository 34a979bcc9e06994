"""The content filter in the Configuration menu (CFG-03): render amavisd.conf and the local domains file (and
Postfix's main.cf when the page switches the filter on or off, or changes how many children amavis has),
let amavisd check the staged file (`amavisd test-config`, as the amavis user), restart amavisd (and reload
Postfix when main.cf changed), and prove both answer. Mixed into the stack's Amavisd.

Switching off also requeues the deferred messages that wait for amavis (their delay reason names its port): a
queued message keeps the content filter it arrived with, so they would otherwise stay bound to it. The hold
queue and mail deferred for other reasons are left alone; amavisd keeps running, so mail it already holds
drains by itself.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

from mailadmin import postfix
from mailadmin.configfiles import amavis, atomic_write, store
from mailadmin.configfiles.amavis import AmavisParams
from mailadmin.configfiles.postfix import AMAVIS_TRANSPORT, render_main_cf
from mailadmin.stack.base import Context
from mailadmin.stack.config import Layout
from mailadmin.stack.process import StackError, run

log = logging.getLogger(__name__)

FILES = ("amavisd.conf", "local_domains", "main.cf")


class AmavisMenu:
    name = "amavis"
    also_locks = ("postfix",)  # it writes Postfix's main.cf too (flow.apply)
    ctx: Context
    layout: Layout
    # set by install(): what the next reload must do besides restarting amavisd
    _postfix_changed = False
    _switched_off = False

    @property
    def conf(self) -> Path:
        raise NotImplementedError

    @property
    def domains_file(self) -> Path:
        raise NotImplementedError

    def amavis_params(self, settings: dict[str, str]) -> AmavisParams:
        raise NotImplementedError

    def hosted_domains(self) -> list[str]:
        raise NotImplementedError

    def stored(self) -> dict[str, str]:
        return store.values(self.layout.menu, "amavis")

    def _postfix(self) -> Any:
        from mailadmin.stack.mail import Postfix  # the stack's Postfix renders its own main.cf

        return Postfix(self.ctx)

    # --- the Managed protocol ----------------------------------------------------------------------------
    def render(self, settings: Mapping[str, str]) -> dict[str, str]:
        files = {
            "amavisd.conf": amavis.render_amavisd_conf(self.amavis_params(dict(settings))),
            "local_domains": self._local_domains(),
        }
        pf = self._postfix()
        mine = render_main_cf(pf.params(content_filter=settings))
        if mine != render_main_cf(pf.params()):
            files["main.cf"] = mine  # the switch (or the children's count) changes Postfix too
        return files

    def _local_domains(self) -> str:
        """The hosted domains as amavis reads them. When the directory does not answer, the file as it is:
        the page and a change of the filter's options must not depend on slapd (the list follows the
        domains anyway: every domain change and every stack start writes it)."""
        try:
            return amavis.render_local_domains(self.hosted_domains())
        except StackError:
            log.warning(
                "amavis: the hosted domains could not be listed; the local domains stay", exc_info=True
            )
            try:
                return self.config_path("local_domains").read_text(encoding="utf-8")
            except OSError:
                return amavis.render_local_domains([self.ctx.config.mailbox_domain])

    def config_path(self, file: str) -> Path:
        if file == "main.cf":
            return cast(Path, self._postfix().etc / "main.cf")
        if file not in FILES:
            raise StackError(f"amavis: {file!r} is not a file the menu manages ({', '.join(FILES)})")
        return self.layout.amavis_etc / file

    def allowed_dirs(self) -> list[str]:
        return [str(self.layout.amavis)]

    def defaults(self) -> dict[str, str]:
        return dict(amavis.DEFAULTS)

    def values_of(self, directory: Path | None) -> dict[str, str]:
        """The settings as amavisd.conf in `directory` has them (None: the running one); `enabled` as the
        main.cf beside it (or the running one) sets Postfix's content_filter."""
        conf = (directory or self.layout.amavis_etc) / "amavisd.conf"
        main = directory / "main.cf" if directory is not None else None
        if main is None or not main.exists():
            main = self.config_path("main.cf")
        try:
            found = amavis.values_in(conf.read_text(encoding="utf-8"))
            main_text = main.read_text(encoding="utf-8")
        except OSError:
            return {}
        on = f"\ncontent_filter = {AMAVIS_TRANSPORT}:" in main_text
        return {**found, "enabled": "yes" if on else "no"}

    def validate_dir(self, staging: Path) -> None:
        """amavisd itself reads the staged amavisd.conf (`test-config`, after dropping to the amavis user,
        from a root-owned copy as it insists); Postfix checks a staged main.cf the way its own page does."""
        check_dir = Path(tempfile.mkdtemp(prefix="check-", dir=self.layout.amavis))
        try:
            check_dir.chmod(0o755)
            copy = check_dir / "amavisd.conf"
            shutil.copyfile(staging / "amavisd.conf", copy)
            copy.chmod(0o644)
            try:
                run(["/usr/sbin/amavisd", "-u", "amavis", "-c", copy, "test-config"], timeout=60)
            except StackError as exc:
                detail = str(exc).partition("\n")[2].strip() or str(exc)
                raise StackError(f"amavisd refuses the configuration: {detail}") from exc
        finally:
            shutil.rmtree(check_dir, ignore_errors=True)
        if (staging / "main.cf").exists():
            self._postfix().validate_dir(staging)

    def install(self, old: Mapping[str, str], new: Mapping[str, str], files: Mapping[str, str]) -> None:
        """Write the files (amavisd.conf root's 0644, main.cf as the Postfix page writes it) and note what
        the reload must do."""
        self._postfix_changed = False
        for name, text in files.items():
            target = self.config_path(name)
            if target.exists() and target.read_text(encoding="utf-8") == text:
                continue
            if name == "main.cf":
                self._postfix_changed = True
                atomic_write(target, text, mode=0o644, backdate=3)
            else:
                atomic_write(target, text, mode=0o644)
        self._switched_off = amavis.filter_on(old) and not amavis.filter_on(new)
        self.make_quarantine_folders(new)

    def make_quarantine_folders(self, settings: Mapping[str, str]) -> None:
        s = amavis.effective(settings)
        for key in ("virus_quarantine_folder", "spam_quarantine_folder"):
            path = self.layout.quarantine / amavis.folder(key, s[key])
            path.mkdir(mode=0o750, exist_ok=True)
            shutil.chown(path, "amavis", "amavis")

    def reload(self) -> None:
        """amavisd has no reload that takes every setting: stop it, start it, wait for its 220. Then Postfix
        (when main.cf changed) and the mail that waits for amavisd: requeued when the filter went off, tried
        again now otherwise."""
        self.restart()
        pf = self._postfix()
        if self._postfix_changed:
            pf.reload()
        hop = f"127.0.0.1[127.0.0.1]:{self.ctx.ports.amavis}"
        if self._switched_off:
            postfix.requeue_waiting_for(pf.etc, hop)
            return
        try:
            # Postfix found amavisd away during the restart: try what waits for it now, not in minutes
            postfix.retry_waiting_for(pf.etc, hop)
        except postfix.PostfixError:  # only a nudge: the mail is queued and Postfix retries it anyway
            log.warning("amavis: the mail waiting for amavisd was not retried at once", exc_info=True)

    def restart(self) -> None:
        service = cast(Any, self)
        service.stop()
        service.clear_stale_pidfile()
        service.launch()
        service.wait_ready(self.ctx.config.timeout)

    def smoke(self) -> str:
        """A probe message through amavisd (scanned, scored, handed to Postfix's re-injection smtpd, which
        refuses it), PING to clamd, and Postfix's own smoke test when its main.cf changed."""
        from mailadmin.stack.contentfilter import clamd_ping, probe

        ports = self.ctx.ports
        proved = [probe(ports.amavis)]
        try:
            if not clamd_ping(ports.clamd):
                raise StackError("clamd did not answer PONG")
        except OSError as exc:
            raise StackError(f"clamd does not answer at 127.0.0.1:{ports.clamd}: {exc}") from exc
        proved.append(f"clamd PONG at 127.0.0.1:{ports.clamd}")
        if self._postfix_changed:
            proved.append("postfix: " + self._postfix().smoke())
        return "; ".join(proved)
