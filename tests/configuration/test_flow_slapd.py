"""The Configuration menu's change flow on the stack's running slapd (mailadmin/stack/slapd_menu.py): a change
is a modify of cn=config through the directory gateway, proved by what slapd does (a search cut off at the
new size limit, cn=config read back over ldapi), and it survives a restart of slapd."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from mailadmin.configfiles import ConfigValueError, store
from mailadmin.configfiles.change import flow
from mailadmin.configfiles.registry import Group, Kind, Param, Registry
from mailadmin.configfiles.registry.slapd import SLAPD, TARGETS
from mailadmin.configfiles.slapd import (
    ENTRY_DNS,
    SlapdParams,
    menu_value_back,
    parse_config_ldif,
    render_config_ldif,
)
from mailadmin.stack.base import POSTFIX_BIND
from tests.conftest import Personas

MDB = "olcDatabase={1}mdb,cn=config"


def cn_config(stack: Any, dn: str, attr: str) -> list[str]:
    """An attribute of a cn=config entry as slapd has it now (ldapsearch as root over ldapi)."""
    out = subprocess.run(
        ["ldapsearch", "-Q", "-LLL", "-o", "ldif_wrap=no", "-Y", "EXTERNAL", "-H", stack.layout.ldapi_uri]
        + ["-b", dn, "-s", "base", "(objectClass=*)", attr],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    return [
        line.split(": ", 1)[1] for line in out.splitlines() if line.lower().startswith(attr.lower() + ":")
    ]


def search_as(dn: str, password: str, base: str) -> tuple[int, int, str]:
    """(exit code, entries returned, stderr) of a plain subtree search bound as `dn`."""
    result = subprocess.run(
        ["ldapsearch", "-x", "-LLL", "-H", settings.LDAP_URI, "-D", dn, "-w", password]
        + ["-b", base, "(objectClass=*)", "1.1"],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    count = sum(1 for line in result.stdout.splitlines() if line.startswith("dn:"))
    return result.returncode, count, result.stderr


@pytest.fixture
def slapd(stack: Any) -> Iterator[Any]:
    """The stack's slapd; whatever a test changed through the menu goes back to what it was."""
    svc = stack.service("slapd")
    menu = stack.layout.menu
    before = store.load(menu, "slapd")
    yield svc
    if store.load(menu, "slapd").values != before.values:
        proposal = flow.propose(svc, SLAPD, menu, before.values, replace_all=True)
        assert flow.apply(svc, SLAPD, menu, proposal).applied
    assert svc.values_of(None).get("olcSizeLimit") == before.values.get("olcSizeLimit", "500")


@pytest.mark.django_db
def test_size_limit_applies_live_survives_a_restart_and_rolls_back(
    slapd: Any, stack: Any, personas: Personas
) -> None:
    menu = stack.layout.menu
    # the personas' domain: a handful of entries (the whole tree may hold more than slapd's default 500)
    base = f"dc={personas.domain_a},ou=domains,{settings.LDAP_BASE_DN}"
    user = personas.user  # a plain account: the service accounts and the manager have no size limit
    code, everything, _ = search_as(user.dn, user.password, base)
    assert code == 0 and everything > 3
    previous = store.load(menu, "slapd")

    proposal = flow.propose(slapd, SLAPD, menu, {"olcSizeLimit": "3"})
    rows = {row.name: row for row in proposal.rows}
    assert (rows["olcSizeLimit"].default, rows["olcSizeLimit"].running) == ("500", "500")
    assert rows["olcSizeLimit"].proposed == "3"
    assert (
        "+olcSizeLimit: size.soft=3 size.hard=3 size.prtotal=unlimited" in proposal.file_diffs["config.ldif"]
    )
    outcome = flow.apply(slapd, SLAPD, menu, proposal)
    assert outcome.applied, outcome.reason
    assert outcome.smoke.startswith("bind as cn=postfix")

    # slapd cuts the plain user's search off at 3 entries ...
    code, count, err = search_as(user.dn, user.password, base)
    assert (code, count) == (4, 3)
    assert "Size limit exceeded" in err
    # ... not the postfix service account's (its olcLimits say unlimited)
    code, count, _ = search_as(slapd.ctx.service_dn("postfix"), slapd.ctx.secrets.get(POSTFIX_BIND), base)
    assert (code, count) == (0, everything)
    assert cn_config(stack, MDB, "olcSizeLimit") == ["size.soft=3 size.hard=3 size.prtotal=unlimited"]
    assert slapd.values_of(None)["olcSizeLimit"] == "3"
    # the record the next start rebuilds cn=config from
    ldif = slapd.config_ldif
    assert ldif.stat().st_mode & 0o777 == 0o600
    assert ldif.read_text() == slapd.render(slapd.stored())["config.ldif"]
    assert parse_config_ldif(ldif.read_text())[MDB]["olcSizeLimit"] == [
        "size.soft=3 size.hard=3 size.prtotal=unlimited"
    ]

    # slapd alone restarted: cn=config is rebuilt from the rendering, the stored value included
    slapd.restart()
    assert cn_config(stack, MDB, "olcSizeLimit") == ["size.soft=3 size.hard=3 size.prtotal=unlimited"]
    assert search_as(user.dn, user.password, base)[:2] == (4, 3)
    # the other daemons found slapd again (Cyrus's group lookup, Postfix's tables)
    assert stack.service("cyrus").smoke().startswith("IMAP LOGIN")
    assert stack.service("postfix").smoke().startswith("EHLO 250")

    # back to the previous version, as the history page does it
    earlier = store.load_version(menu, "slapd", previous.version)
    back = flow.propose(slapd, SLAPD, menu, earlier, replace_all=True)
    assert flow.apply(slapd, SLAPD, menu, back).applied
    assert search_as(user.dn, user.password, base)[:2] == (0, everything)
    assert cn_config(stack, MDB, "olcSizeLimit") == [
        f"size.soft={earlier.get('olcSizeLimit', '500')} size.hard={earlier.get('olcSizeLimit', '500')} "
        "size.prtotal=unlimited"
    ]


def test_attributes_the_renderer_does_not_write_are_added_and_removed_live(slapd: Any, stack: Any) -> None:
    menu = stack.layout.menu
    outcome = flow.apply(
        slapd, SLAPD, menu, flow.propose(slapd, SLAPD, menu, {"olcTimeLimit": "60", "olcIdleTimeout": "900"})
    )
    assert outcome.applied, outcome.reason
    assert cn_config(stack, MDB, "olcTimeLimit") == ["60"]
    assert cn_config(stack, "cn=config", "olcIdleTimeout") == ["900"]
    outcome = flow.apply(
        slapd, SLAPD, menu, flow.propose(slapd, SLAPD, menu, {"olcTimeLimit": None, "olcIdleTimeout": None})
    )
    assert outcome.applied, outcome.reason
    assert cn_config(stack, MDB, "olcTimeLimit") == []
    assert cn_config(stack, "cn=config", "olcIdleTimeout") == []


def _local_registry(*params: Param) -> Registry:
    """Values the real registry would never let through, to make slapd itself say no."""
    return Registry(service="slapd", title="test", file="cn=config", groups=[Group("t", "t")], params=params)


def test_slapadd_refuses_and_nothing_changes(slapd: Any, stack: Any) -> None:
    menu = stack.layout.menu
    before_file = slapd.config_ldif.read_bytes()
    before_level = cn_config(stack, "cn=config", "olcLogLevel")
    before = store.load(menu, "slapd")
    registry = _local_registry(Param("olcLogLevel", Kind.TEXT, "t", "test", target="global"))
    with pytest.raises(flow.DaemonRefused, match="unknown level"):
        flow.propose(slapd, registry, menu, {"olcLogLevel": "banana"})
    assert slapd.config_ldif.read_bytes() == before_file
    assert cn_config(stack, "cn=config", "olcLogLevel") == before_level
    assert store.load(menu, "slapd") == before


@pytest.mark.django_db
def test_a_live_change_that_breaks_binds_is_rolled_back(slapd: Any, stack: Any, personas: Personas) -> None:
    """olcDisallows bind_simple (which the real registry leaves out for this reason): slapd takes it, the
    smoke test's simple bind is refused, and the flow removes it again with another modify."""
    menu = stack.layout.menu
    before_file = slapd.config_ldif.read_bytes()
    before = store.load(menu, "slapd")
    registry = _local_registry(Param("olcDisallows", Kind.TEXT, "t", "test", target="global"))
    outcome = flow.apply(
        slapd, registry, menu, flow.propose(slapd, registry, menu, {"olcDisallows": "bind_simple"})
    )
    assert not outcome.applied
    assert "bind as cn=postfix" in outcome.reason, outcome.reason
    assert outcome.rollback_problem == ""
    assert cn_config(stack, "cn=config", "olcDisallows") == []
    assert slapd.config_ldif.read_bytes() == before_file
    assert store.load(menu, "slapd") == before
    user = personas.user
    assert (
        search_as(user.dn, user.password, f"dc={personas.domain_a},ou=domains,{settings.LDAP_BASE_DN}")[0]
        == 0
    )


def test_staged_config_is_checked_by_slapadd_and_slaptest(slapd: Any, tmp_path: Path) -> None:
    """What validate_dir does, done by hand: the rendering of the stored values with a changed limit loads
    into an empty slapd.d and passes slaptest, while the live slapd keeps running."""
    text = slapd.render({**slapd.stored(), "olcSizeLimit": "3"})["config.ldif"]
    (tmp_path / "config.ldif").write_text(text)
    (tmp_path / "slapd.d").mkdir()
    subprocess.run(
        ["slapadd", "-n0", "-F", str(tmp_path / "slapd.d"), "-l", str(tmp_path / "config.ldif")],
        check=True,
        capture_output=True,
    )
    subprocess.run(["slaptest", "-F", str(tmp_path / "slapd.d"), "-u"], check=True, capture_output=True)
    assert slapd.values_of(tmp_path)["olcSizeLimit"] == "3"


def test_defaults_and_targets() -> None:
    from mailadmin.stack.slapd_menu import DEFAULTS

    assert DEFAULTS["olcSizeLimit"] == "500" and DEFAULTS["olcTimeLimit"] == "3600"
    # the renderer's entries are the registry's
    assert {key: ENTRY_DNS[key] for key in TARGETS} == TARGETS
    assert {p.target for p in SLAPD.params} <= set(ENTRY_DNS)


# --- the renderer's part (no daemon needed) ---------------------------------------------------------------
def _params(**menu: str) -> SlapdParams:
    return SlapdParams(
        base_dn="dc=example",
        root_dn="cn=manager,dc=example",
        root_pw_hash="{SSHA}abcdefgh",
        run_dir=Path("/srv/ldap/run"),
        db_dir=Path("/srv/ldap/data"),
        project_schema=Path("/srv/schema.ldif"),
        menu=menu,
        menu_targets={p.name: p.target for p in SLAPD.params},
    )


def test_menu_values_go_into_their_entries() -> None:
    plain = parse_config_ldif(render_config_ldif(_params()))
    entries = parse_config_ldif(
        render_config_ldif(
            _params(olcSizeLimit="3", olcLogLevel="stats sync", olcTimeLimit="60", olcIdleTimeout="900")
        )
    )
    assert entries[MDB]["olcSizeLimit"] == ["size.soft=3 size.hard=3 size.prtotal=unlimited"]
    assert entries[MDB]["olcTimeLimit"] == ["60"]
    assert entries["cn=config"]["olcLogLevel"] == ["stats sync"]
    assert entries["cn=config"]["olcIdleTimeout"] == ["900"]
    # nothing else moves: same entries, same attributes in the same order
    assert list(entries) == list(plain)
    assert list(plain[MDB]) == [a for a in entries[MDB] if a != "olcTimeLimit"]


def test_an_empty_menu_value_removes_the_attribute() -> None:
    entries = parse_config_ldif(render_config_ldif(_params(olcPPolicyUseLockout="")))
    assert "olcPPolicyUseLockout" not in entries[ENTRY_DNS["ppolicy"]]


@pytest.mark.parametrize(
    ("attr", "value"),
    [
        ("olcSizeLimit", "3\nolcRootPW: x"),
        ("olcLogLevel", ": base64"),
        ("olcAccess", "to * by * write"),  # the console's rules are never the menu's
        ("olcLimits", "dn.exact=x size=unlimited"),
        ("olcNoSuchTarget", "1"),  # no entry to go into
        ("cn: x\nolcX", "1"),
    ],
)
def test_menu_values_cannot_change_the_structure(attr: str, value: str) -> None:
    with pytest.raises(ConfigValueError):
        render_config_ldif(_params(**{attr: value}))


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("size.soft=3 size.hard=3 size.prtotal=unlimited", "3"),
        ("500", "500"),
        ("size=unlimited", "unlimited"),
        ("size.soft=3 size.hard=10", "size.soft=3 size.hard=10"),
    ],
)
def test_size_limit_reads_back_as_the_number(raw: str, shown: str) -> None:
    assert menu_value_back("olcSizeLimit", raw) == shown


def test_gateway_puts_earlier_entries_back_when_slapd_refuses_a_later_one(stack: Any) -> None:
    """directory.config.apply_changes: cn=config takes the first modify, refuses the second; the first is
    undone, so a change spanning entries is all or nothing."""
    from mailadmin.directory import config as gateway
    from mailadmin.directory.errors import DirectoryError

    assert cn_config(stack, "cn=config", "olcIdleTimeout") == []
    size_before = cn_config(stack, MDB, "olcSizeLimit")
    with pytest.raises(DirectoryError, match="unable to parse limit"):
        gateway.apply_changes(
            {"cn=config": {"olcIdleTimeout": ["900"]}, MDB: {"olcSizeLimit": ["banana"]}},
            uri=stack.layout.ldapi_uri,
        )
    assert cn_config(stack, "cn=config", "olcIdleTimeout") == []
    assert cn_config(stack, MDB, "olcSizeLimit") == size_before
    # and the gateway refuses what is not its business
    with pytest.raises(DirectoryError):
        gateway.modify_config(MDB, {"olcAccess": ["to * by * write"]}, uri=stack.layout.ldapi_uri)
    with pytest.raises(DirectoryError):
        gateway.modify_config(f"ou=domains,{settings.LDAP_BASE_DN}", {"olcSizeLimit": ["1"]})
