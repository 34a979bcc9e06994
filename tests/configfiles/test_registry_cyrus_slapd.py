"""The Cyrus and slapd parameter registries against the installed daemons (CFG-01, CFG-06).

Cyrus: every name is an option `cyr_info conf-default` knows, and an imapd.conf with every editable parameter
set to its example passes `cyr_info conf-lint` (which prints unknown options and stops with "fatal error" on
a value it cannot parse). slapd: a cn=config with every parameter set to its example, each in its target
entry, loads with `slapadd -n0` (which refuses unknown attributes, attributes the entry's object classes do
not allow, and values slapd cannot parse). Neither needs the running stack.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest
from django.utils.functional import Promise

from mailadmin.configfiles import values as v
from mailadmin.configfiles.cyrus import CyrusParams, render_imapd_conf
from mailadmin.configfiles.registry import Kind, Param, Registry, check
from mailadmin.configfiles.registry.cyrus import CYRUS, SIEVE_EXTENSIONS
from mailadmin.configfiles.registry.slapd import ALLOWS, DISALLOWS, LOG_LEVELS, REQUIRES, SLAPD, TARGETS
from mailadmin.configfiles.slapd import SlapdParams, render_config_ldif

CYR_INFO = Path("/usr/lib/cyrus/bin/cyr_info")
ALLOWED_DIRS = ["/etc/ssl", "/etc/ldap"]
HOSTILE = ["a\nb", "x\\", " lead", "#x", "$(id)", "${x}", "y" * 10_240]
PROJECT_SCHEMA = Path(__file__).resolve().parents[2] / "mailadmin" / "directory" / "schema" / "mailadmin.ldif"
NUMERIC = (Kind.NUMBER, Kind.SIZE, Kind.TIME)

needs_cyrus = pytest.mark.skipif(not CYR_INFO.exists(), reason="needs Cyrus's cyr_info")
needs_slapd = pytest.mark.skipif(shutil.which("slapadd") is None, reason="needs slapd's slapadd")


def _ids(params: Sequence[Param]) -> list[str]:
    return [p.name for p in params]


EDITABLE = [*CYRUS.editable(), *SLAPD.editable()]
FIXED = [p for p in (*CYRUS.params, *SLAPD.params) if p.fixed]
RANGED = [p for p in EDITABLE if p.kind in NUMERIC]


# --- shape of the registries -------------------------------------------------------------------------------


def test_cyrus_has_at_least_30_editable_parameters() -> None:
    assert len(CYRUS.editable()) >= 30
    assert CYRUS.service == "cyrus" and CYRUS.file == "imapd.conf"


def test_slapd_targets_are_known_entries() -> None:
    assert SLAPD.service == "slapd" and SLAPD.file == "cn=config"
    assert len(SLAPD.editable()) >= 20
    assert {p.target for p in SLAPD.params} <= set(TARGETS)
    assert SLAPD["olcSizeLimit"].kind is Kind.NUMBER and SLAPD["olcSizeLimit"].target == "mdb"
    assert "paged" in str(SLAPD["olcSizeLimit"].help)


@pytest.mark.parametrize("registry", [CYRUS, SLAPD], ids=["cyrus", "slapd"])
def test_every_group_is_used_and_titled(registry: Registry) -> None:
    for group in registry.groups:
        assert isinstance(group.title, Promise)
        assert registry.in_group(group.key), group.key


@pytest.mark.parametrize("param", [*CYRUS.params, *SLAPD.params], ids=_ids([*CYRUS.params, *SLAPD.params]))
def test_help_is_lazy_with_an_example(param: Param) -> None:
    assert isinstance(param.help, Promise)
    text = str(param.help)
    assert "example" in text.lower() and param.example, param.name
    assert 1 <= text.count(". ") + 1 <= 4 and len(text) <= 420, param.name
    if param.kind in NUMERIC and not param.fixed:
        assert param.unit, param.name
    if param.fixed:
        assert isinstance(param.fixed, Promise) and str(param.fixed)


# --- check(): examples pass, hostile values and fixed parameters do not ------------------------------------


@pytest.mark.parametrize("param", EDITABLE, ids=_ids(EDITABLE))
def test_example_passes_check_unchanged(param: Param) -> None:
    assert check(param, param.example, allowed_dirs=ALLOWED_DIRS) == param.example


@pytest.mark.parametrize("param", EDITABLE, ids=_ids(EDITABLE))
@pytest.mark.parametrize(
    "hostile", HOSTILE, ids=["newline", "backslash", "lead", "hash", "cmd", "var", "10k"]
)
def test_hostile_value_refused(param: Param, hostile: str) -> None:
    with pytest.raises(v.ConfigValueError):
        check(param, hostile, allowed_dirs=ALLOWED_DIRS)


@pytest.mark.parametrize("param", RANGED, ids=_ids(RANGED))
def test_number_out_of_range_refused(param: Param) -> None:
    assert param.maximum is not None and param.minimum is not None
    with pytest.raises(v.ConfigValueError):
        check(param, str(param.maximum + 1))
    if param.minimum > 0:
        with pytest.raises(v.ConfigValueError):
            check(param, str(param.minimum - 1))
    with pytest.raises(v.ConfigValueError):
        check(param, "-1")


@pytest.mark.parametrize("param", FIXED, ids=_ids(FIXED))
def test_fixed_parameter_refused(param: Param) -> None:
    with pytest.raises(v.ConfigValueError):
        check(param, param.example, allowed_dirs=ALLOWED_DIRS)


def test_word_lists_refuse_commas_and_unknown_words() -> None:
    """Both daemons refuse `a, b` in a word list, so the registry must too."""
    for param, bad in (
        (CYRUS["sieve_extensions"], "fileinto, reject"),
        (CYRUS["sieve_extensions"], "fileinto telepathy"),
        (CYRUS["autocreate_users"], "anyone, bob"),
        (SLAPD["olcLogLevel"], "stats, acl"),
        (SLAPD["olcDisallows"], "bind_simple"),
        (SLAPD["olcRequires"], "strong"),
        (SLAPD["olcRequires"], "bind none"),
        (SLAPD["olcPasswordHash"], "{CLEARTEXT}"),
        (CYRUS["autocreate_quota"], "-2"),
        (CYRUS["timeout"], "2w"),
        (SLAPD["olcTLSCertificateFile"], "/home/x/cert.pem"),
        (SLAPD["olcTLSCertificateFile"], "/etc/ssl/../shadow"),
    ):
        with pytest.raises(v.ConfigValueError):
            check(param, bad, allowed_dirs=ALLOWED_DIRS)


# --- Cyrus: names and values against cyr_info --------------------------------------------------------------


def _cyr_info(conf: Path, command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CYR_INFO), "-C", str(conf), command], capture_output=True, text=True, timeout=60, check=False
    )


@pytest.fixture(scope="module")
def cyrus_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cyrusreg")


def _imapd_conf(root: Path, settings: Mapping[str, str]) -> Path:
    """The stack's imapd.conf for a stack rooted at `root`, with `settings` replacing or adding lines."""
    base = render_imapd_conf(
        CyrusParams(
            imapd_conf=root / "imapd.conf",
            config_dir=root / "conf",
            partition_dir=root / "spool",
            run_dir=root / "run",
            servername="mail.example.org",
            saslauthd_mux=root / "saslauthd" / "mux",
            sasldb=root / "sasldb2",
            imap_port=1143,
            lmtp_port=1024,
        )
    )
    lines = [line for line in base.splitlines() if line.split(":", 1)[0] not in settings]
    lines += [f"{key}: {value}" for key, value in settings.items()]
    conf = root / "imapd.conf"
    conf.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return conf


@needs_cyrus
def test_every_cyrus_name_is_a_cyrus_option(cyrus_dir: Path) -> None:
    result = _cyr_info(_imapd_conf(cyrus_dir, {}), "conf-default")
    assert result.returncode == 0, result.stderr
    known = {line.split(":", 1)[0] for line in result.stdout.splitlines() if ":" in line}
    assert len(known) > 400
    missing = [p.name for p in CYRUS.params if p.name not in known]
    assert not missing


@needs_cyrus
def test_conf_lint_accepts_every_editable_example(cyrus_dir: Path) -> None:
    settings = {p.name: check(p, p.example) for p in CYRUS.editable()}
    result = _cyr_info(_imapd_conf(cyrus_dir, settings), "conf-lint")
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    # and Cyrus reads each value back as written. Not sieve_extensions: cyr_info's listing of that bitfield
    # does not match what was written even for one word ("fileinto" comes back "fileinto
    # vnd.cyrus.jmapquery"), so it is checked by conf-lint alone.
    shown = _cyr_info(cyrus_dir / "imapd.conf", "conf-all").stdout.splitlines()
    for name, value in settings.items():
        assert name == "sieve_extensions" or f"{name}: {value}" in shown


@needs_cyrus
def test_conf_lint_would_notice(cyrus_dir: Path) -> None:
    """The two ways conf-lint complains, so the test above cannot pass by accident."""
    unknown = _cyr_info(_imapd_conf(cyrus_dir, {"no_such_option": "1"}), "conf-lint")
    assert unknown.returncode == 0 and unknown.stdout == "no_such_option: 1\n"
    bad = _cyr_info(_imapd_conf(cyrus_dir, {"timeout": "2w"}), "conf-lint")
    assert bad.returncode != 0 and "fatal error" in bad.stderr


@needs_cyrus
def test_every_sieve_extension_word_is_accepted(cyrus_dir: Path) -> None:
    value = check(CYRUS["sieve_extensions"], " ".join(SIEVE_EXTENSIONS))
    result = _cyr_info(_imapd_conf(cyrus_dir, {"sieve_extensions": value}), "conf-lint")
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


# --- slapd: names, placement and values against slapadd -n0 ------------------------------------------------


def _config_ldif(root: Path) -> str:
    (root / "db").mkdir(exist_ok=True)
    (root / "run").mkdir(exist_ok=True)
    return render_config_ldif(
        SlapdParams(
            base_dn="dc=example,dc=test",
            root_dn="cn=manager,dc=example,dc=test",
            root_pw_hash="{SSHA}c2VjcmV0c2VjcmV0c2VjcmV0",
            run_dir=root / "run",
            db_dir=root / "db",
            project_schema=PROJECT_SCHEMA,
        )
    )


def _with_values(ldif: str, values: Mapping[str, Mapping[str, str]]) -> str:
    """`ldif` with, per entry DN, each named attribute replaced by (or added with) one value."""
    out = []
    for block in ldif.split("\n\n"):
        lines = block.split("\n")
        dns = [line[4:] for line in lines if line.startswith("dn: ")]
        wanted = values.get(dns[0], {}) if dns else {}
        if wanted:
            names = {n.lower() for n in wanted}
            lines = [line for line in lines if line.split(":", 1)[0].lower() not in names]
            lines += [f"{name}: {value}" for name, value in wanted.items()]
        out.append("\n".join(lines))
    return "\n\n".join(out)


def _slapadd(root: Path, ldif: str) -> subprocess.CompletedProcess[str]:
    config = root / "slapd.d"
    shutil.rmtree(config, ignore_errors=True)
    config.mkdir()
    source = root / "config.ldif"
    source.write_text(ldif, encoding="utf-8")
    return subprocess.run(
        ["slapadd", "-n0", "-F", str(config), "-l", str(source)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _slapcat_entries(root: Path) -> dict[str, set[str]]:
    """Attribute names (lower case) per entry DN of the loaded cn=config."""
    result = subprocess.run(
        ["slapcat", "-n0", "-F", str(root / "slapd.d")],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    entries: dict[str, set[str]] = {}
    for block in result.stdout.replace("\n ", "").split("\n\n"):
        lines = [line for line in block.splitlines() if ":" in line]
        if lines and lines[0].startswith("dn: "):
            entries[lines[0][4:]] = {line.split(":", 1)[0].lower() for line in lines[1:]}
    return entries


def _present(ldif: str) -> dict[str, set[str]]:
    present: dict[str, set[str]] = {}
    for block in ldif.split("\n\n"):
        dns = [line[4:] for line in block.split("\n") if line.startswith("dn: ")]
        if dns:
            present[dns[0]] = {line.split(":", 1)[0].lower() for line in block.split("\n") if ":" in line}
    return present


@pytest.fixture(scope="module")
def slapd_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("slapdreg")


@needs_slapd
def test_cn_config_loads_with_every_parameter(slapd_dir: Path) -> None:
    """Editable parameters at their examples; fixed ones the renderer does not write, at theirs."""
    base = _config_ldif(slapd_dir)
    present = _present(base)
    values: dict[str, dict[str, str]] = {}
    for param in SLAPD.params:
        dn = TARGETS[param.target]
        if param.fixed:
            if param.name.lower() in present.get(dn, set()):
                continue  # written by the renderer (multi-valued ones like olcAccess stay as they are)
            value = param.example
        else:
            value = check(param, param.example, allowed_dirs=ALLOWED_DIRS)
        values.setdefault(dn, {})[param.name] = value
    result = _slapadd(slapd_dir, _with_values(base, values))
    assert result.returncode == 0, result.stderr
    entries = _slapcat_entries(slapd_dir)
    for param in SLAPD.params:
        assert param.name.lower() in entries[TARGETS[param.target]], param.name


@needs_slapd
@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("olcLogLevel", " ".join(LOG_LEVELS[1:]) + " 256 0x100"),
        ("olcLogLevel", "none"),
        ("olcRequires", " ".join(REQUIRES)),
        ("olcRequires", "none"),
        ("olcAllows", " ".join(ALLOWS)),
        ("olcDisallows", " ".join(DISALLOWS)),
        ("olcPasswordHash", "{SMD5}"),
        ("olcTLSVerifyClient", "demand"),
    ],
)
def test_every_allowed_word_loads(slapd_dir: Path, name: str, value: str) -> None:
    param = SLAPD[name]
    checked = check(param, value)
    result = _slapadd(
        slapd_dir, _with_values(_config_ldif(slapd_dir), {TARGETS[param.target]: {name: checked}})
    )
    assert result.returncode == 0, result.stderr


@needs_slapd
def test_slapadd_would_notice(slapd_dir: Path) -> None:
    """Misplaced, unknown and malformed attributes all fail, so the load test cannot pass by accident."""
    base = _config_ldif(slapd_dir)
    for values in (
        {TARGETS["mdb"]: {"olcThreads": "8"}},
        {TARGETS["global"]: {"olcNoSuchThing": "1"}},
        {TARGETS["global"]: {"olcLogLevel": "stats, acl"}},
    ):
        assert _slapadd(slapd_dir, _with_values(base, values)).returncode != 0, values
