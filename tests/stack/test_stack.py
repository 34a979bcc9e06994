"""The private stack itself: every daemon answers, the directory keeps its invariants, Postfix's LDAP tables
and saslauthd see what ldapadd writes, start/stop behave, and no hostile value reaches a config file.

Entries are written with the OpenLDAP command-line tools (not the console's gateway) so these tests prove the
stack, not the console. Each test works in its own uniquely named domain.
"""

from __future__ import annotations

import dataclasses
import imaplib
import shutil
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from mailadmin import postfix
from mailadmin.configfiles import ConfigValueError, atomic_write, is_hand_edited
from mailadmin.configfiles.cyrus import CyrusParams, render_imapd_conf
from mailadmin.configfiles.postfix import PostfixParams, render_main_cf
from mailadmin.configfiles.postfix_tables import LdapTable, render_ldap_table
from mailadmin.configfiles.saslauthd import SaslauthdParams, render_saslauthd_conf
from mailadmin.configfiles.slapd import SlapdParams, render_config_ldif
from mailadmin.cyrus import conf_lint
from mailadmin.directory.skeleton import skeleton_ldif
from mailadmin.stack import Ports, Stack, StackConfig, StackError
from mailadmin.stack.process import alive, processes_referencing, read_pid

PASSWORD = "Stack-test-pass-1"


# --- helpers ---------------------------------------------------------------------------------------------
def ldap(env: dict[str, str], tool: str, *args: str, ldif: str | None = None, check: bool = True) -> str:
    """Run an OpenLDAP client as the manager (rootDN)."""
    argv = [
        tool,
        "-x",
        "-H",
        env["LDAP_URI"],
        "-D",
        env["LDAP_ADMIN_DN"],
        "-w",
        env["LDAP_ADMIN_PASSWORD"],
        *args,
    ]
    result = subprocess.run(argv, input=ldif, capture_output=True, text=True, timeout=30, check=False)
    if check and result.returncode != 0:
        raise AssertionError(f"{tool} failed: {result.stderr}")
    return result.stdout + result.stderr


def account_ldif(dn: str, uid: str, mail: str, *, alias: str = "", enabled: bool = True) -> str:
    lines = [
        f"dn: {dn}",
        "objectClass: inetOrgPerson",
        "objectClass: mailAccount",
        f"uid: {uid}",
        f"cn: {uid}",
        f"sn: {uid}",
        f"mail: {mail}",
        f"mailEnabled: {'TRUE' if enabled else 'FALSE'}",
    ]
    if alias:
        lines.append(f"mailAlias: {alias}")
    return "\n".join(lines) + "\n"


class Domain:
    """A fresh mail domain with its organization; `account()` adds users with a password."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.tag = uuid.uuid4().hex[:8]
        self.name = f"d{self.tag}.test"
        self.dn = f"dc={self.name},ou=domains,{env['LDAP_BASE_DN']}"
        self.org = f"o={self.name},{self.dn}"
        ldif = (
            f"dn: {self.dn}\nobjectClass: domain\nobjectClass: mailDomain\ndc: {self.name}\n\n"
            f"dn: {self.org}\nobjectClass: organization\nobjectClass: mailContainer\no: {self.name}\n"
        )
        ldap(env, "ldapadd", ldif=ldif)

    def account(self, local: str, *, alias: str = "", enabled: bool = True) -> tuple[str, str]:
        """Returns (uid, dn); the uid is unique server-wide, the address is local@domain."""
        uid = f"{local}{self.tag}"
        dn = f"uid={uid},{self.org}"
        alias_address = f"{alias}@{self.name}" if alias else ""
        ldap(
            self.env,
            "ldapadd",
            ldif=account_ldif(dn, uid, f"{local}@{self.name}", alias=alias_address, enabled=enabled),
        )
        ldap(self.env, "ldappasswd", "-s", PASSWORD, dn)
        return uid, dn


@pytest.fixture
def env(stack: Stack) -> dict[str, str]:
    return stack.env()


@pytest.fixture
def domain(env: dict[str, str]) -> Domain:
    return Domain(env)


@pytest.fixture
def state_root() -> Iterator[Path]:
    """A directory for a second stack. Not tmp_path: /tmp/pytest-of-root is 0700, and the daemons run as
    postfix, cyrus and postgres."""
    root = Path(tempfile.mkdtemp(prefix="mailadmin-stack-test-"))
    root.chmod(0o755)
    yield root
    shutil.rmtree(root, ignore_errors=True)


def wait_for(check: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


def banner(port: int) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        return sock.recv(256)


# --- the daemons -----------------------------------------------------------------------------------------
def test_every_daemon_answers(stack: Stack, env: dict[str, str]) -> None:
    states = stack.status()
    assert {"slapd", "saslauthd", "cyrus", "postfix", "redis", "postgres"} <= set(states)
    assert all(state.up and state.pid for state in states.values()), states

    assert "dn:cn=manager" in ldap(env, "ldapwhoami")
    assert banner(int(env["IMAP_PORT"])).startswith(b"* OK")
    assert banner(int(env["LMTP_PORT"])).startswith(b"220")
    assert banner(int(env["SMTP_PORT"])).startswith(b"220")
    assert banner(int(env["SUBMISSION_PORT"])).startswith(b"220")
    redis_url = urlsplit(env["REDIS_URL"])
    assert redis_url.password  # Redis requires a password (tests/stack/test_redis_auth.py)
    with socket.create_connection(("127.0.0.1", int(redis_url.port or 0))) as sock:
        sock.sendall(b"AUTH " + redis_url.password.encode() + b"\r\nPING\r\n")
        answer = b""
        while answer.count(b"\r\n") < 2:
            answer += sock.recv(16)
        assert answer == b"+OK\r\n+PONG\r\n"
    psql = subprocess.run(
        ["psql", env["DATABASE_URL"], "-qAt", "-c", "select current_database()"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert psql.stdout.strip() == "mailadmin"
    imap = imaplib.IMAP4(env["IMAP_HOST"], int(env["IMAP_PORT"]))
    assert imap.login(env["CYRUS_ADMIN"], env["CYRUS_ADMIN_PASSWORD"])[0] == "OK"
    imap.logout()


def test_env_has_the_documented_keys(env: dict[str, str], stack: Stack) -> None:
    keys = [
        *("STACK_DIR", "LDAP_URI", "LDAPI_URI", "LDAP_BASE_DN", "LDAP_ADMIN_DN", "LDAP_ADMIN_PASSWORD"),
        *("SMTP_HOST", "SMTP_PORT", "SUBMISSION_PORT", "IMAP_HOST", "IMAP_PORT", "LMTP_PORT"),
        *("CYRUS_ADMIN", "CYRUS_ADMIN_PASSWORD", "CYRUS_CONF", "CYRUS_BIN_DIR", "POSTFIX_CONFIG_DIR"),
        *("REDIS_URL", "DATABASE_URL", "RELAY_PORT", "MAILADMIN_MAILBOX_DOMAIN", "CONSOLE_URL"),
    ]
    assert all(env.get(key) for key in keys), [k for k in keys if not env.get(k)]
    assert env["LDAP_ADMIN_DN"] == f"cn=manager,{env['LDAP_BASE_DN']}"
    env_file = stack.layout.env_file
    assert env_file.stat().st_mode & 0o777 == 0o600
    assert f"LDAP_ADMIN_PASSWORD={env['LDAP_ADMIN_PASSWORD']}" in env_file.read_text()


def test_postconf_is_clean(env: dict[str, str]) -> None:
    params = postfix.postconf_n(env["POSTFIX_CONFIG_DIR"])
    assert postfix.postconf_warnings(env["POSTFIX_CONFIG_DIR"]) == []
    assert params["virtual_transport"] == f"lmtp:inet:127.0.0.1:{env['LMTP_PORT']}"
    assert params["config_directory"] == env["POSTFIX_CONFIG_DIR"]


def test_cyrus_config_has_no_unknown_keys(env: dict[str, str]) -> None:
    assert conf_lint(env["CYRUS_CONF"]) == []


def test_postmap_answers_for_domain_and_addresses(env: dict[str, str], domain: Domain) -> None:
    uid, _ = domain.account("alice", alias="a.able")
    disabled, _ = domain.account("gone", enabled=False)
    conf, mailbox_domain = env["POSTFIX_CONFIG_DIR"], env["MAILADMIN_MAILBOX_DOMAIN"]

    def query(key: str, table: str) -> str | None:
        return postfix.postmap_query(key, f"ldap:{conf}/{table}.cf", conf)

    assert query(domain.name, "domains") == domain.name
    assert query(f"x{domain.name}", "domains") is None
    assert query(f"alice@{domain.name}", "accounts") == f"{uid}@{mailbox_domain}"
    assert query(f"a.able@{domain.name}", "accounts") == f"{uid}@{mailbox_domain}"
    assert query(f"nobody@{domain.name}", "accounts") is None
    assert query(f"gone@{domain.name}", "accounts") is None
    assert query(f"{uid}@{mailbox_domain}", "mailboxes") == uid
    assert query(f"{disabled}@{mailbox_domain}", "mailboxes") is None
    # the mailbox table answers only for the mailbox domain
    assert query(f"{uid}@{domain.name}", "mailboxes") is None


def test_postmap_reports_a_broken_table_as_an_error(env: dict[str, str], tmp_path: Path) -> None:
    """A refused bind must not look like "not found": postmap exits 1 for both, stderr tells them apart."""
    table = tmp_path / "broken.cf"
    # backdated: Postfix naps until a freshly written table file is 2 s old
    atomic_write(
        table,
        f"server_host = {env['LDAP_URI']}\nbind = yes\nbind_dn = {env['LDAP_POSTFIX_DN']}\nbind_pw = wrong\n"
        f"search_base = {env['LDAP_BASE_DN']}\nquery_filter = (mail=%s)\nresult_attribute = uid\n",
        backdate=3,
    )
    with pytest.raises(postfix.PostfixError):
        postfix.postmap_query("a@b.test", f"ldap:{table}", env["POSTFIX_CONFIG_DIR"])


# --- the directory's invariants --------------------------------------------------------------------------
def test_unique_refuses_duplicate_uid_and_address(env: dict[str, str], domain: Domain) -> None:
    uid, _ = domain.account("carol", alias="c.alias")
    base = env["LDAP_BASE_DN"]
    # the same login name anywhere under the suffix, here among the console's own accounts
    admin = f"dn: uid={uid},ou=admins,{base}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: x\nsn: x\n"
    assert "Constraint violation" in ldap(env, "ldapadd", ldif=admin, check=False)
    # the same mail, or the same mailAlias, on a second account
    other = f"uid=other{domain.tag},{domain.org}"
    same_mail = account_ldif(other, f"other{domain.tag}", f"carol@{domain.name}")
    assert "Constraint violation" in ldap(env, "ldapadd", ldif=same_mail, check=False)
    same_alias = account_ldif(other, f"other{domain.tag}", f"o@{domain.name}", alias=f"c.alias@{domain.name}")
    assert "Constraint violation" in ldap(env, "ldapadd", ldif=same_alias, check=False)
    # an alias entry claiming an account's address
    alias = (
        f"dn: cn=team,{domain.dn}\nobjectClass: nisMailAlias\nobjectClass: mailAliasEntry\ncn: team\n"
        f"mail: carol@{domain.name}\n"
    )
    assert "Constraint violation" in ldap(env, "ldapadd", ldif=alias, check=False)


def test_unique_does_not_compare_mail_with_mailalias(env: dict[str, str], domain: Domain) -> None:
    """slapo-unique (2.5) checks each attribute of a multi-attribute URI only against itself: its filter is
    (|(mail=v)) for a mail value, never (mailAlias=v). So an account's mail may equal another's mailAlias;
    the console must check that cross case itself before writing. This test pins the behaviour down."""
    domain.account("dave", alias="d.alias")
    other = f"uid=eve{domain.tag},{domain.org}"
    clash = account_ldif(other, f"eve{domain.tag}", f"d.alias@{domain.name}")
    assert "Constraint violation" not in ldap(env, "ldapadd", ldif=clash, check=False)


def test_memberof_and_refint_keep_groups_right(env: dict[str, str], domain: Domain) -> None:
    _, dn = domain.account("frank")
    group = f"cn=administrators,ou=roles,{env['LDAP_BASE_DN']}"
    ldap(env, "ldapmodify", ldif=f"dn: {group}\nchangetype: modify\nadd: member\nmember: {dn}\n")
    assert f"memberOf: {group}" in ldap(env, "ldapsearch", "-LLL", "-b", dn, "-s", "base", "memberOf")
    ldap(env, "ldapdelete", dn)
    members = ldap(env, "ldapsearch", "-LLL", "-b", group, "-s", "base", "member")
    assert dn not in members
    assert f"member: {env['LDAP_BASE_DN']}" in members  # the placeholder keeps the group valid


def test_acls(env: dict[str, str], domain: Domain) -> None:
    uid, dn = domain.account("grace")
    search = ["ldapsearch", "-x", "-H", env["LDAP_URI"], "-LLL", "-b", dn, "-s", "base"]
    anonymous = subprocess.run([*search, "uid"], capture_output=True, text=True, check=False)
    assert f"uid: {uid}" not in anonymous.stdout
    as_postfix = [*search, "-D", env["LDAP_POSTFIX_DN"], "-w", env["LDAP_POSTFIX_PASSWORD"]]
    seen = subprocess.run(
        [*as_postfix, "uid", "userPassword"], capture_output=True, text=True, check=True
    ).stdout
    assert f"uid: {uid}" in seen
    assert "userPassword" not in seen
    as_self = [*search, "-D", dn, "-w", PASSWORD, "userPassword"]
    assert "userPassword" in subprocess.run(as_self, capture_output=True, text=True, check=True).stdout


# --- logins and mail ---------------------------------------------------------------------------------------
def test_ldap_account_logs_in_over_imap_and_receives_mail(env: dict[str, str], domain: Domain) -> None:
    uid, _ = domain.account("heidi", alias="h.alias")
    off, _ = domain.account("ivan", enabled=False)
    admin = imaplib.IMAP4(env["IMAP_HOST"], int(env["IMAP_PORT"]))
    admin.login(env["CYRUS_ADMIN"], env["CYRUS_ADMIN_PASSWORD"])
    assert admin.create(f"user/{uid}")[0] == "OK"
    assert admin.setacl(f"user/{uid}", env["CYRUS_ADMIN"], "lrswipkxtea")[0] == "OK"
    admin.logout()

    user = imaplib.IMAP4(env["IMAP_HOST"], int(env["IMAP_PORT"]))
    assert user.login(uid, PASSWORD)[0] == "OK"  # Cyrus -> saslauthd -> LDAP bind
    with pytest.raises(imaplib.IMAP4.error):
        imaplib.IMAP4(env["IMAP_HOST"], int(env["IMAP_PORT"])).login(uid, "wrong-password")
    with pytest.raises(imaplib.IMAP4.error):
        imaplib.IMAP4(env["IMAP_HOST"], int(env["IMAP_PORT"])).login(off, PASSWORD)

    subject = f"stack test {domain.tag}"
    with smtplib.SMTP(env["SMTP_HOST"], int(env["SMTP_PORT"])) as smtp:
        message = f"Subject: {subject}\r\n\r\nhello\r\n"
        assert smtp.sendmail("sender@remote.test", [f"h.alias@{domain.name}"], message) == {}
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            smtp.sendmail("sender@remote.test", [f"ivan@{domain.name}"], message)
        assert refused.value.recipients[f"ivan@{domain.name}"][0] == 550

    def delivered() -> bool:
        user.select("INBOX")
        return bool(user.search(None, "SUBJECT", f'"{subject}"')[1][0])

    assert wait_for(delivered)
    user.logout()


def test_submission_requires_and_accepts_sasl_auth(env: dict[str, str], domain: Domain) -> None:
    uid, _ = domain.account("judy")
    with (
        smtplib.SMTP(env["SMTP_HOST"], int(env["SUBMISSION_PORT"])) as smtp,
        pytest.raises(smtplib.SMTPRecipientsRefused),
    ):
        smtp.sendmail(f"judy@{domain.name}", [f"judy@{domain.name}"], "Subject: x\r\n\r\nx\r\n")
    with smtplib.SMTP(env["SMTP_HOST"], int(env["SUBMISSION_PORT"])) as smtp:
        smtp.login(uid, PASSWORD)
        assert smtp.sendmail(f"judy@{domain.name}", [f"judy@{domain.name}"], "Subject: x\r\n\r\nx\r\n") == {}


# --- start and stop ----------------------------------------------------------------------------------------
def test_second_start_is_refused_and_changes_nothing(stack: Stack) -> None:
    before = {name: state.pid for name, state in stack.status().items()}
    env_before = stack.layout.env_file.read_bytes()
    again = Stack(StackConfig(state_dir=stack.layout.root, ports="auto"))
    with pytest.raises(StackError, match="already running"):
        again.start()
    after = stack.status()
    assert {name: state.pid for name, state in after.items()} == before
    assert all(state.up for state in after.values())
    assert stack.layout.env_file.read_bytes() == env_before


def test_stop_leaves_nothing_and_restart_keeps_data(state_root: Path) -> None:
    state = state_root / "stack"
    first = Stack(StackConfig(state_dir=state, ports="auto"))
    env = first.start()
    try:
        ldap(
            env,
            "ldapadd",
            ldif=f"dn: ou=kept,{env['LDAP_BASE_DN']}\nobjectClass: organizationalUnit\nou: kept\n",
        )
        pids = [read_pid(p) for p in state.rglob("*.pid")]
    finally:
        first.stop()
    assert processes_referencing(state) == []
    assert not any(alive(pid) for pid in pids)

    second = Stack(StackConfig(state_dir=state, ports="auto"))
    env2 = second.start()
    try:
        assert env2["LDAP_ADMIN_PASSWORD"] == env["LDAP_ADMIN_PASSWORD"]
        assert env2["CYRUS_ADMIN_PASSWORD"] == env["CYRUS_ADMIN_PASSWORD"]
        assert "ou: kept" in ldap(env2, "ldapsearch", "-LLL", "-b", f"ou=kept,{env['LDAP_BASE_DN']}", "ou")
    finally:
        second.stop()
    assert processes_referencing(state) == []


def test_start_refuses_a_busy_port(state_root: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        stack = Stack(
            StackConfig(state_dir=state_root / "stack", ports=dataclasses.replace(Ports.auto(), imap=port))
        )
        with pytest.raises(StackError, match=f"imap={port}"):
            stack.start()
    assert processes_referencing(state_root / "stack") == []


# --- config files never carry a hostile value -------------------------------------------------------------
HOSTILE = "x\nmydestination = evil"


def _postfix_params(**changes: object) -> PostfixParams:
    values: dict[str, object] = {
        "config_dir": Path("/tmp/pf/etc"),
        "queue_dir": Path("/tmp/pf/spool"),
        "data_dir": Path("/tmp/pf/data"),
        "log_file": Path("/tmp/pf/log/maillog"),
        "myhostname": "mx.test",
        "mailbox_domain": "mailbox.internal",
        "relay_host": "127.0.0.1",
        "relay_port": 10029,
        "lmtp_host": "127.0.0.1",
        "lmtp_port": 10024,
        "smtp_port": 10025,
    }
    values.update(changes)
    return PostfixParams(**values)  # type: ignore[arg-type]


RENDERINGS: list[tuple[str, Callable[[], str]]] = [
    ("myhostname", lambda: render_main_cf(_postfix_params(myhostname=HOSTILE))),
    ("mailbox_domain", lambda: render_main_cf(_postfix_params(mailbox_domain="a.test\n"))),
    ("extra[0](x)", lambda: render_main_cf(_postfix_params(extra=(("x", "$evil"),)))),
    ("log_file", lambda: render_main_cf(_postfix_params(log_file=Path("/tmp/a b")))),
    ("relay_port", lambda: render_main_cf(_postfix_params(relay_port=70000))),
    (
        "t.bind_dn",
        lambda: render_ldap_table(
            LdapTable("t", "ldap://x", "cn=a,dc=b\nbind_dn = cn=evil", "pw", "dc=b", "(uid=%s)", "uid")
        ),
    ),
    (
        "t.query_filter",
        lambda: render_ldap_table(LdapTable("t", "ldap://x", "cn=a", "pw", "dc=b", "(uid=%x)", "uid")),
    ),
    (
        "servername",
        lambda: render_imapd_conf(
            CyrusParams(
                Path("/c/imapd.conf"),
                Path("/c/lib"),
                Path("/c/spool"),
                Path("/c/run"),
                HOSTILE,
                Path("/s/mux"),
                Path("/c/sasldb2"),
                10143,
                10024,
            )
        ),
    ),
    ("search_base", lambda: render_saslauthd_conf(SaslauthdParams("ldap://x/", "cn=a", "pw", "dc=b # x"))),
    (
        "base_dn",
        lambda: render_config_ldif(
            SlapdParams(HOSTILE, "cn=m", "{SSHA}x", Path("/r"), Path("/d"), Path("/s.ldif"))
        ),
    ),
    (
        "root_pw_hash",
        lambda: render_config_ldif(
            SlapdParams("dc=x", "cn=m", "\nolcRootPW: x", Path("/r"), Path("/d"), Path("/s"))
        ),
    ),
    ("base_dn", lambda: skeleton_ldif(HOSTILE, postfix_pw_hash="{SSHA}a", saslauthd_pw_hash="{SSHA}b")),
]


@pytest.mark.parametrize(
    ("parameter", "render"), RENDERINGS, ids=[f"{i}-{p}" for i, (p, _) in enumerate(RENDERINGS)]
)
def test_hostile_value_is_refused_and_no_file_is_written(
    parameter: str, render: Callable[[], str], tmp_path: Path
) -> None:
    target = tmp_path / "out.cf"
    with pytest.raises(ConfigValueError) as refused:
        atomic_write(target, render())
    assert refused.value.parameter == parameter
    assert parameter in str(refused.value)
    assert list(tmp_path.iterdir()) == []


def test_secrets_never_appear_in_refusals() -> None:
    with pytest.raises(ConfigValueError) as refused:
        render_ldap_table(LdapTable("t", "ldap://x", "cn=a", "top secret\n", "dc=b", "(uid=%s)", "uid"))
    assert "top secret" not in str(refused.value)


def test_rendered_files_carry_the_managed_header(env: dict[str, str]) -> None:
    main_cf = (Path(env["POSTFIX_CONFIG_DIR"]) / "main.cf").read_text()
    assert main_cf.startswith("# Managed by mailadmin - do not edit")
    assert not is_hand_edited(main_cf)
    assert is_hand_edited(main_cf + "mydestination = evil\n")
    table = Path(env["POSTFIX_CONFIG_DIR"]) / "accounts.cf"
    assert table.stat().st_mode & 0o777 == 0o640
    assert table.group() == "postfix"


def test_a_parent_naming_the_state_dir_is_not_a_leftover(tmp_path: Path) -> None:
    """`timeout 60 manage.py stack stop --dir DIR`: the wrapper's command line names DIR, but it is the stop's
    own ancestor, not a daemon left behind."""
    code = (
        "import sys\nfrom pathlib import Path\nfrom mailadmin.stack.process import processes_referencing\n"
        "print(processes_referencing(Path(sys.argv[1])))"
    )
    result = subprocess.run(
        ["timeout", "30", sys.executable, "-c", code, str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert result.stdout.strip() == "[]"
