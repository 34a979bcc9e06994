"""ACC-03 "Make private from rest of directory", enforced by slapd's access rules.

Visibility is checked with real binds as users on both sides (python-ldap on a fresh connection bound as the
user, as an address book would), the daemons' view with their own bind accounts and `postmap`, and mail flow
with a real IMAP login and SMTP delivery.
"""

from __future__ import annotations

import os
import shutil
import smtplib
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import ldap
import pytest
from django.conf import settings
from imapclient import IMAPClient

from accounts.services.containers import domain_create, group_create
from accounts.services.privacy import (
    container_set_private,
    private_containers_drift,
    private_containers_prepare_move,
    private_containers_sync,
)
from accounts.services.users import user_create
from mailadmin import directory, imap, postfix
from mailadmin.actor import Actor
from mailadmin.directory import DirectoryNotFound, acl, dit
from mailadmin.directory.connection import user_connection
from mailadmin.stack import Stack, StackConfig
from tests import ldaptool

pytestmark = pytest.mark.django_db
PASSWORD = "Private-pass-1"
ACTOR = Actor.system("tests")


@dataclass(frozen=True)
class Tree:
    domain: str
    domain_dn: str
    org: str  # the domain's organization (public unless a test makes it private)
    group: str  # a group in it
    inner: str  # a group inside `group`
    in1: str  # users in `group`
    in2: str
    deep: str  # user in `inner`
    out: str  # user in `org`, outside `group`
    far: str  # user of another domain


def _user(container: str, uid: str, *, mailbox: bool = False) -> str:
    return user_create(
        actor=ACTOR,
        container_dn=container,
        uid=uid,
        password=PASSWORD,
        last_name="Private",
        create_mailbox=mailbox,
    )


@pytest.fixture
def tree(domain: str, unique: Callable[[str], str]) -> Tree:
    org = dit.organization_dn(domain, domain)
    group = group_create(actor=ACTOR, parent_dn=org, name="Team (private)")
    inner = group_create(actor=ACTOR, parent_dn=group, name="inner")
    other = f"t{uuid.uuid4().hex[:10]}.test"
    domain_create(actor=ACTOR, name=other)
    return Tree(
        domain=domain,
        domain_dn=dit.domain_dn(domain),
        org=org,
        group=group,
        inner=inner,
        in1=_user(group, unique("in"), mailbox=True),
        in2=_user(group, unique("in")),
        deep=_user(inner, unique("deep")),
        out=_user(org, unique("out")),
        far=_user(dit.organization_dn(other, other), unique("far")),
    )


@pytest.fixture(autouse=True)
def _public_again() -> Iterator[None]:
    """Every test leaves no private container behind (the stack is shared by the whole session)."""
    yield
    for dn in acl.private_containers():
        directory.modify(dn, [directory.replace("mailPrivate", None)])
    private_containers_sync(actor=ACTOR)


def _norm(dns: Iterator[str] | list[str] | set[str]) -> set[str]:
    return {dit.normalize_dn(dn) for dn in dns}


def visible(as_dn: str, base: str, *, password: str = PASSWORD) -> set[str]:
    """Every DN under `base` that a search bound as `as_dn` returns."""
    with user_connection(as_dn, password) as conn:
        try:
            found = conn.search_ext_s(base, ldap.SCOPE_SUBTREE, "(objectClass=*)", ["1.1"])
        except ldap.NO_SUCH_OBJECT:
            return set()
    return _norm([dn for dn, _ in found if dn])


def readable(as_dn: str, dn: str, *, password: str = PASSWORD) -> bool:
    """A base read of `dn` bound as `as_dn` (what a client that guessed the DN gets)."""
    with user_connection(as_dn, password) as conn:
        try:
            return bool(conn.search_ext_s(dn, ldap.SCOPE_BASE, "(objectClass=*)", ["cn", "mail"]))
        except ldap.NO_SUCH_OBJECT:
            return False


def live_rules() -> list[str]:
    return directory.access_state().live


# --- who sees what -----------------------------------------------------------------------------------------
def test_members_see_each_other_and_public_entries_outsiders_only_public(tree: Tree) -> None:
    everything = visible(tree.in1, tree.domain_dn)
    assert _norm([tree.group, tree.in1, tree.in2, tree.inner, tree.deep, tree.out, tree.org]) <= everything

    container_set_private(actor=ACTOR, dn=tree.group, private=True)

    hidden = _norm([tree.group, tree.in1, tree.in2, tree.inner, tree.deep])
    inside = visible(tree.in1, tree.domain_dn)
    assert inside == everything  # members: each other, and everything public
    assert visible(tree.deep, tree.domain_dn) == everything  # a public group inside counts as inside
    outside = visible(tree.out, tree.domain_dn)
    assert outside == everything - hidden
    assert _norm([tree.out, tree.org, tree.domain_dn]) <= outside
    assert visible(tree.far, tree.domain_dn) == everything - hidden
    for dn in (tree.group, tree.in1, tree.deep):
        assert not readable(tree.out, dn)  # not even by guessing the DN
        assert not readable(tree.far, dn)
        assert readable(tree.in2, dn)


def test_nested_private_group_in_a_private_organization(tree: Tree) -> None:
    container_set_private(actor=ACTOR, dn=tree.org, private=True)
    container_set_private(actor=ACTOR, dn=tree.inner, private=True)

    rules = [acl.slapd_acl.private_rule_container(rule) for rule in live_rules()]
    rules = [r for r in rules if r]
    assert rules.index(acl.acl_dn(tree.inner).lower()) < rules.index(acl.acl_dn(tree.org).lower())

    inner = _norm([tree.inner, tree.deep])
    org = _norm([tree.org, tree.group, tree.in1, tree.in2, tree.out])
    domain = visible(tree.deep, tree.domain_dn)
    assert inner | org <= domain  # the innermost sees the organization around it
    assert visible(tree.in1, tree.domain_dn) == domain - inner
    assert visible(tree.out, tree.domain_dn) == domain - inner
    assert visible(tree.far, tree.domain_dn) == domain - inner - org
    assert readable(tree.far, tree.domain_dn)  # the domain itself stayed public


def test_making_it_public_again_restores_visibility(tree: Tree) -> None:
    container_set_private(actor=ACTOR, dn=tree.group, private=True)
    assert not readable(tree.out, tree.in1)
    container_set_private(actor=ACTOR, dn=tree.group, private=False)
    assert readable(tree.out, tree.in1)
    assert ldaptool.attribute(tree.group, "mailPrivate") == []
    assert all(acl.slapd_acl.private_rule_container(rule) is None for rule in live_rules())


def test_a_private_domain_is_invisible_to_other_domains(tree: Tree) -> None:
    container_set_private(actor=ACTOR, dn=tree.domain_dn, private=True)
    assert visible(tree.far, tree.domain_dn) == set()
    assert not readable(tree.far, tree.domain_dn)
    assert _norm([tree.domain_dn, tree.org, tree.in1, tree.out]) <= visible(tree.out, tree.domain_dn)


def test_the_daemons_and_the_manager_still_see_everything(tree: Tree) -> None:
    container_set_private(actor=ACTOR, dn=tree.org, private=True)
    container_set_private(actor=ACTOR, dn=tree.group, private=True)
    members = _norm([tree.in1, tree.deep, tree.out])
    for service in ("POSTFIX", "SASLAUTHD"):
        seen = visible(
            os.environ[f"LDAP_{service}_DN"], tree.domain_dn, password=os.environ[f"LDAP_{service}_PASSWORD"]
        )
        assert members <= seen
    assert directory.get_entry(tree.deep) is not None  # the console's manager
    mail = ldaptool.attribute(tree.in1, "mail")[0]
    table = f"ldap:{settings.POSTFIX_CONFIG_DIR}/accounts.cf"
    assert postfix.postmap_query(mail, table, settings.POSTFIX_CONFIG_DIR) is not None


def test_a_member_still_logs_in_over_imap_and_receives_mail(tree: Tree) -> None:
    container_set_private(actor=ACTOR, dn=tree.group, private=True)
    uid = ldaptool.attribute(tree.in1, "uid")[0]
    mail = ldaptool.attribute(tree.in1, "mail")[0]
    assert imap.login_check(uid, PASSWORD)  # Cyrus -> saslauthd (its bind account) -> bind as the user
    subject = f"private {uuid.uuid4().hex}"
    with smtplib.SMTP(settings.SMTP_HOST, int(settings.SMTP_PORT), timeout=15) as smtp:
        assert smtp.sendmail("sender@remote.example", [mail], f"Subject: {subject}\r\n\r\nhi\r\n") == {}
    client = IMAPClient(settings.IMAP_HOST, port=int(settings.IMAP_PORT), ssl=False, timeout=10)
    try:
        client.login(uid, PASSWORD)
        deadline = time.monotonic() + 30
        while not client.select_folder("INBOX", readonly=True) or not client.search(["SUBJECT", subject]):
            if time.monotonic() > deadline:
                pytest.fail("the message to a member of a private group did not arrive")
            time.sleep(0.25)
    finally:
        client.logout()


def test_a_moved_private_group_stays_hidden_at_every_moment(tree: Tree, unique: Callable[[str], str]) -> None:
    """The move services call prepare_move before the rename and sync after it (docs/decisions/0004)."""
    container_set_private(actor=ACTOR, dn=tree.inner, private=True)
    target = group_create(actor=ACTOR, parent_dn=tree.org, name=unique("target"))
    new_group = f"ou=moved,{target}"
    new_inner = f"ou=inner,{new_group}"
    new_deep = acl.relocated(tree.deep, tree.group, new_group)
    assert dit.same_dn(new_deep, dit.account_dn(new_inner, dit.rdn_value(tree.deep)))
    private_containers_prepare_move(dn=tree.group, new_dn=new_group)
    assert not readable(tree.out, tree.deep)  # the old place is still covered
    directory.rename(tree.group, "ou=moved", target)
    assert not readable(tree.out, new_deep)  # ... and the new one already was
    assert readable(new_deep, new_inner)
    assert private_containers_sync(actor=ACTOR) is True  # drops the rule of the old place
    assert private_containers_drift().in_sync
    assert not readable(tree.out, new_deep)
    assert readable(tree.out, f"ou=moved,{target}")  # the moved group itself was never private


# --- no injection, no foreign objects ----------------------------------------------------------------------
HOSTILE_NAME = 'evil" by * write, (x) #'


def test_a_crafted_container_name_cannot_inject_into_the_rules(
    tree: Tree, unique: Callable[[str], str]
) -> None:
    # Written straight into LDAP (as an import could), past the console's allow-list for names.
    crafted = f"ou={directory.escape_dn(HOSTILE_NAME)},{tree.org}"
    directory.add(crafted, {"objectClass": ["organizationalUnit", "mailContainer"], "ou": HOSTILE_NAME})
    member = _user(crafted, unique("crafted"))
    container_set_private(actor=ACTOR, dn=crafted, private=True)

    rules = live_rules()
    (rule,) = [r for r in rules if acl.slapd_acl.private_rule_container(r)]
    assert rule.count('"') == 2 * 4  # dn.subtree, two services, dn.subtree: nothing else is quoted
    # the hostile bytes are hex escapes inside the one quoted DN, never words of the rule
    assert " write" not in rule and "(x)" not in rule and "#" not in rule
    assert "evil\\22\\20by\\20\\2a\\20write\\2c\\20\\28x\\29\\20\\23" in rule
    assert [r for r in rules if " write" in r] == [
        "to attrs=userPassword by self write by anonymous auth by * none"
    ]

    assert not readable(tree.out, member)
    assert not readable(tree.out, crafted)
    assert readable(member, crafted)
    with user_connection(tree.out, PASSWORD) as conn, pytest.raises(ldap.LDAPError):
        conn.modify_ext_s(crafted, [(ldap.MOD_REPLACE, "description", [b"owned"])])
    assert ldaptool.attribute(crafted, "description") == []


@pytest.mark.parametrize(
    "dn",
    [
        "*)(uid=*",
        "x,ou=admins",
        "a+uid=root",
        "#ou=x",
        "ou=x ",
        "ou=x\x00",
        "ou=x\r\nchangetype: delete",
        "o=" + "x" * 300,
        '"><img src=x onerror=alert(1)>',
        "ou=admins,dc=mailadmin",
        "cn=administrators,ou=roles,dc=mailadmin",
    ],
)
def test_only_domains_organizations_and_groups_can_be_made_private(tree: Tree, dn: str) -> None:
    before = ldaptool.dump(dit.base_dn())
    rules = live_rules()
    with pytest.raises(DirectoryNotFound):
        container_set_private(actor=ACTOR, dn=dn, private=True)
    with pytest.raises(DirectoryNotFound):
        container_set_private(actor=ACTOR, dn=tree.in1, private=True)  # an account is no container
    assert ldaptool.dump(dit.base_dn()) == before
    assert live_rules() == rules


# --- drift and the operator's own rules --------------------------------------------------------------------
def _write_live(rules: list[str]) -> None:
    with acl.config_connection() as conn:
        state = directory.access_state()
        values = [f"{{{i}}}{rule}".encode() for i, rule in enumerate(rules)]
        conn.modify_ext_s(state.database_dn, [(ldap.MOD_REPLACE, "olcAccess", values)])


def test_sync_repairs_rules_that_drifted_from_the_flags(tree: Tree) -> None:
    container_set_private(actor=ACTOR, dn=tree.group, private=True)
    assert private_containers_drift().in_sync
    _write_live(acl.access_list([]))  # e.g. a restore of an old cn=config
    assert readable(tree.out, tree.in1)
    assert not private_containers_drift().in_sync
    assert private_containers_sync(actor=ACTOR) is True
    assert private_containers_drift().in_sync
    assert not readable(tree.out, tree.in1)
    assert private_containers_sync(actor=ACTOR) is False


def test_rules_the_console_did_not_write_are_left_alone(tree: Tree) -> None:
    original = live_rules()
    edited = [*original[:-1], 'to * by dn.exact="cn=backup,dc=mailadmin" read by * break', original[-1]]
    _write_live(edited)
    try:
        with pytest.raises(directory.AclMismatch):
            container_set_private(actor=ACTOR, dn=tree.group, private=True)
        assert live_rules() == edited
        assert ldaptool.attribute(tree.group, "mailPrivate") == []
    finally:
        _write_live(original)


def test_the_install_ldif_of_deploy_md_gives_the_same_list(tree: Tree) -> None:
    """docs/deploy.md has operators apply `access_modify_ldif()` once; ldapmodify must accept it as is."""
    container_set_private(actor=ACTOR, dn=tree.group, private=True)
    state = directory.access_state()
    _write_live(acl.access_list([]))
    ldif = acl.access_modify_ldif(database_dn=state.database_dn)
    subprocess.run(
        ["ldapmodify", "-Y", "EXTERNAL", "-H", settings.LDAP_CONFIG_URI],
        input=ldif,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert private_containers_drift().in_sync
    assert not readable(tree.out, tree.in1)


# --- a restart keeps the rules -----------------------------------------------------------------------------
def _cli(env: dict[str, str], tool: str, *args: str, ldif: str | None = None) -> str:
    argv = [tool, "-x", "-H", env["LDAP_URI"], "-D", env["LDAP_ADMIN_DN"], "-w", env["LDAP_ADMIN_PASSWORD"]]
    result = subprocess.run(
        [*argv, *args], input=ldif, capture_output=True, text=True, timeout=30, check=True
    )
    return result.stdout


def _dns_seen(env: dict[str, str], as_dn: str, base: str) -> set[str]:
    result = subprocess.run(
        ["ldapsearch", "-LLL", "-o", "ldif-wrap=no", "-x", "-H", env["LDAP_URI"], "-D", as_dn, "-w", PASSWORD]
        + ["-b", base, "(objectClass=*)", "1.1"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode in (0, 32), result.stderr
    return {line[4:] for line in result.stdout.splitlines() if line.startswith("dn: ")}


@pytest.mark.slow
def test_a_restarted_stack_enforces_the_flags_from_its_data() -> None:
    """cn=config is rebuilt on every start; the rules must come back from the data before slapd serves."""
    root = Path(tempfile.mkdtemp(prefix="mailadmin-private-"))
    root.chmod(0o755)
    stack = Stack(StackConfig(state_dir=root / "stack", ports="auto"))
    try:
        env = stack.start()
        base = f"ou=domains,{env['LDAP_BASE_DN']}"
        domain = f"dc=r.test,{base}"
        group = f"ou=q\\22 \\2C(p),o=r.test,{domain}"
        inside, outside = f"uid=inside,{group}", f"uid=outside,o=r.test,{domain}"
        _cli(
            env,
            "ldapadd",
            ldif=(
                f"dn: {domain}\nobjectClass: domain\nobjectClass: mailDomain\ndc: r.test\n\n"
                f"dn: o=r.test,{domain}\nobjectClass: organization\nobjectClass: mailContainer\no: r.test\n\n"
                f'dn: {group}\nobjectClass: organizationalUnit\nobjectClass: mailContainer\nou: q" ,(p)\n'
                "mailPrivate: TRUE\n\n"
                f"dn: {inside}\nobjectClass: inetOrgPerson\nuid: inside\ncn: i\nsn: i\n\n"
                f"dn: {outside}\nobjectClass: inetOrgPerson\nuid: outside\ncn: o\nsn: o\n"
            ),
        )
        for dn in (inside, outside):
            _cli(env, "ldappasswd", "-s", PASSWORD, dn)
        assert inside.lower() in {dn.lower() for dn in _dns_seen(env, outside, domain)}  # no rule yet
        stack.stop()

        env = stack.start()
        config = subprocess.run(
            ["ldapsearch", "-LLL", "-o", "ldif-wrap=no", "-Y", "EXTERNAL", "-H", env["LDAPI_URI"]]
            + ["-b", "cn=config", "(olcSuffix=*)", "olcAccess"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
        assert 'to dn.subtree="ou=q\\22\\20\\2c\\28p\\29,o=r.test,dc=r.test,ou=domains,' in config
        assert {dn.lower() for dn in _dns_seen(env, outside, domain)} == {
            domain.lower(),
            f"o=r.test,{domain}".lower(),
            outside.lower(),
        }
        assert inside.lower() in {dn.lower() for dn in _dns_seen(env, inside, domain)}
    finally:
        stack.stop()
        shutil.rmtree(root, ignore_errors=True)
