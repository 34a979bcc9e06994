"""Rendering the access rules of private containers (ACC-03): no DN, however crafted, changes the structure of
an olcAccess rule or of the bootstrap LDIF, and slapd itself accepts what is rendered.

Pure rendering plus `slapadd -n0`/`slaptest` on a scratch cn=config: no directory server is involved.
"""

from __future__ import annotations

import base64
import re
import subprocess
from pathlib import Path

import pytest

from mailadmin.configfiles import ConfigValueError, atomic_write
from mailadmin.configfiles.slapd import SlapdParams, render_config_ldif
from mailadmin.configfiles.slapd_acl import access_rules, acl_dn, private_rule_container
from mailadmin.directory import DirectoryRefused, acl
from mailadmin.stack.config import PROJECT_SCHEMA

SERVICES = ["cn=postfix,ou=services,dc=mailadmin", "cn=saslauthd,ou=services,dc=mailadmin"]
DOMAINS = "ou=domains,dc=mailadmin"
TAIL = [("o", "a.test"), ("dc", "a.test"), ("ou", "domains"), ("dc", "mailadmin")]
HOSTILE_VALUES = [
    'x" by * write',
    "a,ou=admins",
    "a+uid=root",
    "(x)",
    "#x",
    " lead",
    "trail ",
    "a\nolcAccess: to * by * write",
    "nul\x00",
    "crlf\r\n",
    "*)(uid=*",
    '"><img src=x onerror=alert(1)>',
    "x" * 300,
    "Müller & Söhne",
]
SAFE = re.compile(r"[A-Za-z0-9._=,\\-]+")


@pytest.mark.parametrize("value", HOSTILE_VALUES)
def test_any_value_becomes_one_inert_escaped_dn(value: str) -> None:
    spelled = acl_dn([("ou", value), *TAIL])
    assert SAFE.fullmatch(spelled)
    assert spelled.endswith(",o=a.test,dc=a.test,ou=domains,dc=mailadmin")
    assert spelled.count(",") == 4  # a comma in the value is \2c, never a new RDN
    rules = access_rules(service_dns=SERVICES, private_containers=[spelled])
    (rule,) = [r for r in rules if private_rule_container(r)]
    assert private_rule_container(rule) == spelled.lower()
    assert rule.count('"') == 8


@pytest.mark.parametrize(
    "container",
    [
        'ou=x",o=a.test,dc=mailadmin',
        'ou=x" by * write,dc=mailadmin',
        "ou=x y,dc=mailadmin",
        "ou=x\nolcAccess: {0}to * by * write",
        "ou=x) by * write,dc=mailadmin",
        "ou=a\\2C,dc=mailadmin",  # upper-case hex: acl_dn never writes it, so it was not made by acl_dn
        "ou=a\\,b,dc=mailadmin",
        "ou=a#,dc=mailadmin",
        "ou=$x,dc=mailadmin",
        "",
        "ou=,dc=mailadmin",
    ],
)
def test_a_dn_not_spelled_by_acl_dn_is_refused(container: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigValueError) as refused:
        access_rules(service_dns=SERVICES, private_containers=[container])
    assert refused.value.parameter == "private_containers[0]"
    params = _params(tmp_path, private_containers=(container,))
    target = tmp_path / "config.ldif"
    with pytest.raises(ConfigValueError):
        atomic_write(target, render_config_ldif(params))
    assert not target.exists()


@pytest.mark.parametrize(
    "rdns",
    [[], [("ou,uid", "x")], [("o u", "x")], [("ou", "")], [("ou\n", "x")], [("1ou", "x")]],
)
def test_acl_dn_refuses_bad_attribute_types_and_empty_values(rdns: list[tuple[str, str]]) -> None:
    with pytest.raises(ConfigValueError):
        acl_dn(rdns)


@pytest.mark.parametrize(
    "dn",
    [
        DOMAINS,  # the container of all domains is not itself a container one can make private
        "ou=admins,dc=mailadmin",
        "cn=administrators,ou=roles,dc=mailadmin",
        "ou=x+uid=root,dc=a.test,ou=domains,dc=mailadmin",
        "not a dn",
        "dc=a.test,ou=domains,dc=mailadmin2",
    ],
)
def test_the_gateway_only_spells_containers_inside_ou_domains(dn: str) -> None:
    with pytest.raises(DirectoryRefused):
        acl.acl_dn(dn, domains_dn=DOMAINS)


def test_the_gateway_spelling_matches_the_parsed_dn() -> None:
    dn = "ou=evil\\22 by \\2A write\\2C (x),o=a.test,dc=a.test,ou=domains,dc=mailadmin"
    assert acl.acl_dn(dn, domains_dn=DOMAINS) == acl_dn([("ou", 'evil" by * write, (x)'), *TAIL])


def test_deeper_containers_come_first_and_duplicates_collapse() -> None:
    org = acl_dn(TAIL)
    group = acl_dn([("ou", "sales"), *TAIL])
    inner = acl_dn([("ou", "inner"), ("ou", "sales"), *TAIL])
    other = acl_dn([("dc", "b.test"), ("ou", "domains"), ("dc", "mailadmin")])
    rules = access_rules(service_dns=SERVICES, private_containers=[other, org, group, inner, org.upper()])
    order = [private_rule_container(r) for r in rules if private_rule_container(r)]
    assert order == [inner, group, org, other]
    # the password and ppolicy rules stay in front, the catch-all read rule last
    assert rules[1].startswith("to attrs=userPassword")
    assert rules[2].startswith("to attrs=pwdChangedTime")
    assert rules[-1] == (
        'to * by dn.exact="cn=postfix,ou=services,dc=mailadmin" read '
        'by dn.exact="cn=saslauthd,ou=services,dc=mailadmin" read by users read by * none'
    )


def test_without_private_containers_the_list_is_the_base_list() -> None:
    rules = access_rules(service_dns=SERVICES)
    assert len(rules) == 4
    assert all(private_rule_container(r) is None for r in rules)


@pytest.mark.parametrize("service", ["cn=x\nolcAccess: to * by * write", 'cn=x" by * write', "cn=a,dc=b #"])
def test_hostile_service_dns_are_refused(service: str) -> None:
    with pytest.raises(ConfigValueError) as refused:
        access_rules(service_dns=[service])
    assert refused.value.parameter == "service_dns[0]"


def test_slapcat_output_is_read_including_base64_dns() -> None:
    weird = 'ou=Müller\\2C "x",o=a.test,dc=a.test,ou=domains,dc=mailadmin'
    ldif = (
        "dn: o=a.test,dc=a.test,ou=domains,dc=mailadmin\nobjectClass: organization\nmailPrivate: TRUE\n\n"
        f"dn:: {base64.b64encode(weird.encode()).decode()}\nobjectClass: organizationalUnit\n\n"
    )
    assert acl.private_containers_from_ldif(ldif) == ["o=a.test,dc=a.test,ou=domains,dc=mailadmin", weird]


def _params(tmp_path: Path, **changes: object) -> SlapdParams:
    values: dict[str, object] = {
        "base_dn": "dc=mailadmin",
        "root_dn": "cn=manager,dc=mailadmin",
        "root_pw_hash": "{SSHA}c2VjcmV0c2VjcmV0c2VjcmV0",
        "run_dir": tmp_path / "run",
        "db_dir": tmp_path / "data",
        "project_schema": PROJECT_SCHEMA,
        "service_dns": SERVICES,
    }
    values.update(changes)
    return SlapdParams(**values)  # type: ignore[arg-type]


def test_slapd_accepts_the_rendered_rules(tmp_path: Path) -> None:
    """slapadd -n0 parses every olcAccess value with slapd's own ACL parser; slaptest checks the result."""
    hostile = [acl_dn([("ou", value), *TAIL]) for value in HOSTILE_VALUES]
    params = _params(tmp_path, private_containers=(acl_dn(TAIL), *hostile))
    (tmp_path / "run").mkdir()
    (tmp_path / "data").mkdir()
    config = atomic_write(tmp_path / "config.ldif", render_config_ldif(params))
    slapd_d = tmp_path / "slapd.d"
    slapd_d.mkdir()
    added = subprocess.run(
        ["slapadd", "-n0", "-F", slapd_d, "-l", config],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert added.returncode == 0, added.stdout + added.stderr
    tested = subprocess.run(
        ["slaptest", "-u", "-F", slapd_d], capture_output=True, text=True, timeout=60, check=False
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr
    stored = (slapd_d / "cn=config" / "olcDatabase={1}mdb.ldif").read_text()
    assert stored.count("olcAccess:") == 4 + 1 + len(HOSTILE_VALUES)
