"""slapd in the Configuration menu (mailadmin/configfiles/change): render cn=config's LDIF with the menu's
values, let slapadd and slaptest check a staged copy, change the running server with modify operations on
cn=config (through the directory gateway, mailadmin/directory/config.py), and prove it still serves.

Mixed into the stack's Slapd, whose start rebuilds cn=config from the same rendering (the stored values
included), so a change made live survives a restart of the stack.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from mailadmin.configfiles import atomic_write, slapd_acl, store
from mailadmin.configfiles import slapd as slapd_conf
from mailadmin.configfiles.registry.slapd import SLAPD
from mailadmin.configfiles.slapd import ENTRY_DNS, SlapdParams, parse_config_ldif, render_config_ldif
from mailadmin.directory import config as gateway
from mailadmin.directory.errors import DirectoryError
from mailadmin.stack.base import Context
from mailadmin.stack.config import Layout
from mailadmin.stack.process import StackError, child_env, run, wait_until

MANAGED = ("config.ldif",)
READY_TIMEOUT = 30.0
SMOKE_TIMEOUT = 10.0
SMOKE_ENTRIES = 5

# slapd's built-in values (slapd-config(5), slapd-mdb(5), slapo-ppolicy(5) of OpenLDAP 2.5): what applies
# when the attribute is absent. Attributes without one (TLS files, olcRequires, ...) are not listed.
DEFAULTS: dict[str, str] = {
    "olcSizeLimit": "500",
    "olcTimeLimit": "3600",
    "olcLogLevel": "stats",
    "olcIdleTimeout": "0",
    "olcWriteTimeout": "0",
    "olcThreads": "16",
    "olcConnMaxPending": "100",
    "olcConnMaxPendingAuth": "1000",
    "olcSockbufMaxIncoming": "262143",
    "olcSockbufMaxIncomingAuth": "4194303",
    "olcLocalSSF": "71",
    "olcPasswordHash": "{SSHA}",
    "olcPPolicyHashCleartext": "FALSE",
    "olcPPolicyUseLockout": "FALSE",
    "olcTLSVerifyClient": "never",
    "olcDbMaxSize": "10485760",
    "olcDbNoSync": "FALSE",
    "olcDbMaxReaders": "126",
    "olcDbMaxEntrySize": "0",
    "olcDbRtxnSize": "10000",
    "olcReadOnly": "FALSE",
    "olcLastMod": "TRUE",
}
# Shown by values_of: everything but the access rules. Those follow the data (private containers, changed
# live by mailadmin/directory/acl.py), so the running list and the last rendering may differ without the
# menu changing anything; the menu never writes them.
_NOT_SHOWN = frozenset({"olcaccess"})
# slapd's word lists: several values read as one list of words.
_WORD_LISTS = frozenset({"olcloglevel", "olcrequires", "olcallows", "olcdisallows"})


def _targets() -> dict[str, str]:
    return {**slapd_conf.RENDERED_TARGETS, **{p.name: p.target for p in SLAPD.params if p.target}}


def _needs_restart(names: set[str]) -> list[str]:
    return sorted(p.name for p in SLAPD.params if p.restart and p.name in names)


def _shown(attr: str, values: list[str]) -> str:
    joined = " ".join(values) if attr.lower() in _WORD_LISTS else " | ".join(values)
    return slapd_conf.menu_value_back(attr, joined)


def _lookup(entry: Mapping[str, list[str]], attr: str) -> list[str]:
    """An attribute's values in a parsed entry, whatever case the LDIF spells its name in."""
    for name, values in entry.items():
        if name.lower() == attr.lower():
            return values
    return []


class SlapdMenu:
    name = "slapd"
    ctx: Context
    layout: Layout
    _restart_for: list[str]

    if TYPE_CHECKING:  # from Slapd and Service (mailadmin/stack/directory.py, base.py), later in the MRO

        @property
        def config_ldif(self) -> Path: ...

        def params(
            self, settings: Mapping[str, str] | None = None, *, private_containers: Sequence[str] = ()
        ) -> SlapdParams: ...

        def prepare(self) -> None: ...

        def launch(self) -> None: ...

        def stop(self) -> None: ...

        def wait_ready(self, timeout: float) -> None: ...

    def stored(self) -> dict[str, str]:
        return store.values(self.layout.menu, "slapd")

    def menu_targets(self) -> dict[str, str]:
        """attribute -> the key of its cn=config entry (configfiles/slapd.py ENTRY_DNS)."""
        return _targets()

    # --- the Managed protocol (mailadmin/configfiles/change/protocol.py) ---------------------------------
    def render(self, settings: Mapping[str, str]) -> dict[str, str]:
        """config.ldif as the stack's start writes it, with `settings` as the menu's values. The private
        containers' access rules are the ones of the last config.ldif: the start takes them from the data,
        and the console keeps them in step live (directory/acl.py); the menu never changes them."""
        params = self.params(settings, private_containers=self._recorded_private_containers())
        return {"config.ldif": render_config_ldif(params)}

    def config_path(self, file: str) -> Path:
        if file not in MANAGED:
            raise StackError(f"slapd: {file!r} is not a file the menu manages")
        return self.config_ldif

    def allowed_dirs(self) -> list[str]:
        return ["/etc/ssl", "/etc/ldap"]

    def validate_dir(self, staging: Path) -> None:
        """slapd's own tools on the staged LDIF: `slapadd -n0` builds a cn=config from it (every attribute
        checked against its entry's object classes and parsed as slapd parses it), then `slaptest -u`
        checks the result as a whole (databases not opened: the live one stays with the running slapd)."""
        slapd_d = staging / "slapd.d"
        slapd_d.mkdir(mode=0o700)
        try:
            run(["/usr/sbin/slapadd", "-n0", "-F", slapd_d, "-l", staging / "config.ldif"])
            run(["/usr/sbin/slaptest", "-F", slapd_d, "-u"])
        except StackError as exc:
            raise StackError(_tool_words(str(exc))) from exc

    def defaults(self) -> dict[str, str]:
        return dict(DEFAULTS)

    def values_of(self, directory: Path | None) -> dict[str, str]:
        """The menu's attributes as cn=config has them: the running server's (None; read over ldapi as
        root), or those of the staged config.ldif in `directory`. olcSizeLimit as the plain number the menu
        takes when soft and hard limit are one number."""
        wanted = {
            attr: ENTRY_DNS[target]
            for attr, target in self.menu_targets().items()
            if target in ENTRY_DNS and attr.lower() not in _NOT_SHOWN
        }
        if directory is None:
            by_dn: dict[str, list[str]] = {}
            for attr, dn in wanted.items():
                by_dn.setdefault(dn, []).append(attr)
            try:
                found = gateway.read_config(by_dn, uri=self.layout.ldapi_uri)
            except DirectoryError as exc:
                raise StackError(f"slapd: cannot read cn=config: {exc}") from exc
        else:
            found = parse_config_ldif((directory / "config.ldif").read_text(encoding="utf-8"))
        out = {}
        for attr, dn in wanted.items():
            values = _lookup(found.get(dn, {}), attr)
            if values:
                out[attr] = _shown(attr, values)
        return out

    def install(self, old: Mapping[str, str], new: Mapping[str, str], files: Mapping[str, str]) -> None:
        """The live change: every attribute whose stored value differs between `old` and `new` gets the
        values `files`' config.ldif gives it (the renderer's own value for one the menu no longer sets; no
        values when the renderer writes none, which removes it), by one modify per cn=config entry through
        the directory gateway. Then config.ldif is written, the record the stack's next start rebuilds
        cn=config from (with the same stored values). A refused modify leaves cn=config as it was."""
        text = files.get("config.ldif")
        if text is None:
            text = self.render(new)["config.ldif"]
        entries = parse_config_ldif(text)
        targets = self.menu_targets()
        changed = sorted(a for a in set(old) | set(new) if old.get(a) != new.get(a))
        changes: dict[str, dict[str, list[str]]] = {}
        for attr in changed:
            dn = ENTRY_DNS.get(targets.get(attr, ""))
            if dn is None:
                raise StackError(f"slapd: {attr} has no cn=config entry to go into")
            changes.setdefault(dn, {})[attr] = _lookup(entries.get(dn, {}), attr)
        try:
            gateway.apply_changes(changes, uri=self.layout.ldapi_uri)
        except DirectoryError as exc:
            raise StackError(f"slapd refused the change: {exc}") from exc
        atomic_write(self.config_ldif, text, mode=0o600)
        self._restart_for = _needs_restart(set(changed))

    def reload(self) -> None:
        """slapd applies a cn=config modify at once: nothing to reload, only to wait for its answer (root's
        EXTERNAL bind over ldapi: whether the service accounts may still bind is the smoke test's question).
        An attribute the registry marks `restart` (read only when the database opens) restarts slapd; its
        start rebuilds cn=config from the stored values."""
        if getattr(self, "_restart_for", None):
            self._restart_for = []
            self.restart()
            return
        wait_until(self._answers, timeout=READY_TIMEOUT, what=f"slapd at {self.layout.ldapi_uri}")

    def restart(self) -> None:
        """Stop slapd, rebuild cn=config from the stored values (prepare), start it, wait for a bind."""
        self.stop()
        self.prepare()
        self.launch()
        self.wait_ready(READY_TIMEOUT)

    def smoke(self) -> str:
        """A simple bind as the postfix service account and a subtree search of the suffix that returns
        entries (what Postfix and the console do all day)."""
        base = self.ctx.base_dn
        who = self.ctx.service_dn("postfix")
        result = self.ctx.ldap_as_postfix(
            "ldapsearch",
            *("-LLL", "-o", "ldif_wrap=no", "-o", f"nettimeout={int(SMOKE_TIMEOUT)}"),
            *("-l", str(int(SMOKE_TIMEOUT)), "-b", base, "-z", str(SMOKE_ENTRIES)),
            "(objectClass=*)",
            "1.1",
            timeout=SMOKE_TIMEOUT + 5,
        )
        # exit 4: the client's own size limit (-z) was reached, which is fine: entries came back
        if result.returncode not in (0, 4):
            said = " ".join((result.stderr or result.stdout).split())
            raise StackError(f"bind as {who} and search of {base} failed (exit {result.returncode}): {said}")
        count = sum(1 for line in result.stdout.splitlines() if line.startswith("dn:"))
        if count == 0:
            raise StackError(f"a search of {base} as {who} returned no entries")
        return f"bind as {who} OK; search of {base} returned {count} entries"

    # --- helpers -----------------------------------------------------------------------------------------
    def _answers(self) -> bool:
        result = subprocess.run(
            ["ldapwhoami", "-Q", "-Y", "EXTERNAL", "-H", self.layout.ldapi_uri],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            env=child_env(),
            timeout=5,
            check=False,
        )
        return result.returncode == 0

    def _recorded_private_containers(self) -> tuple[str, ...]:
        try:
            entries = parse_config_ldif(self.config_ldif.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return ()
        found = []
        for value in _lookup(entries.get(ENTRY_DNS["mdb"], {}), "olcAccess"):
            rule = value[value.index("}") + 1 :] if value.startswith("{") else value
            container = slapd_acl.private_rule_container(rule)
            if container is not None:
                found.append(container)
        return tuple(found)


def _tool_words(message: str) -> str:
    """slapadd's and slaptest's complaint without the command line `run` puts in front of it."""
    head, _, output = message.partition(":\n")
    return " ".join(output.split()) or head
