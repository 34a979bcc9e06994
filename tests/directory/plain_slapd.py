"""A second, minimal slapd for the few tests the session stack cannot serve.

- without the sssvlv overlay: proves the paged-only fallback when the server cannot sort;
- restartable on the same port: proves the gateway reconnects after the server dropped its connections.
Real slapd, our schema, mdb, unique/refint/memberof/ppolicy; in a temp dir, stopped by its PID.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

BASE = "dc=mailadmin"
ROOT_DN = f"cn=manager,{BASE}"
SCHEMA = Path(__file__).resolve().parents[2] / "mailadmin" / "directory" / "schema" / "mailadmin.ldif"

CONFIG = """\
dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: {root}/slapd.pid
olcLogLevel: none

dn: cn=module{{0}},cn=config
objectClass: olcModuleList
cn: module{{0}}
olcModulePath: /usr/lib/ldap
olcModuleLoad: back_mdb
olcModuleLoad: unique
olcModuleLoad: refint
olcModuleLoad: memberof
olcModuleLoad: ppolicy
{sssvlv_module}
dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

include: file:///etc/ldap/schema/core.ldif
include: file:///etc/ldap/schema/cosine.ldif
include: file:///etc/ldap/schema/nis.ldif
include: file:///etc/ldap/schema/misc.ldif
include: file:///etc/ldap/schema/inetorgperson.ldif
include: file://{schema}

dn: olcDatabase={{-1}}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {{-1}}frontend

dn: olcDatabase={{0}}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {{0}}config
olcAccess: {{0}}to * by dn.exact=gidNumber=0+uidNumber=0,cn=peercred,cn=external,cn=auth manage by * break

dn: olcDatabase={{1}}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {{1}}mdb
olcSuffix: {base}
olcDbDirectory: {root}/data
olcRootDN: {rootdn}
olcRootPW: {rootpw_hash}
olcDbMaxSize: 1073741824
olcDbNoSync: TRUE
olcDbIndex: objectClass eq
olcDbIndex: uid,mail,cn eq,sub
olcDbIndex: mailAlias,mailForward,dc,o,ou,mailEnabled,member,mailAdministrator eq
olcDbIndex: entryCSN,entryUUID eq
olcLimits: {{0}}dn.exact="{rootdn}" size=unlimited time=unlimited
olcSizeLimit: size.soft=500 size.hard=500 size.prtotal=unlimited
olcAccess: {{0}}to attrs=userPassword by self write by anonymous auth by * none
olcAccess: {{1}}to * by dn.exact=gidNumber=0+uidNumber=0,cn=peercred,cn=external,cn=auth manage
  by self read by users read by * none

dn: olcOverlay={{0}}ppolicy,olcDatabase={{1}}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcPPolicyConfig
olcOverlay: {{0}}ppolicy
olcPPolicyDefault: cn=default,ou=policies,{base}
olcPPolicyHashCleartext: TRUE

dn: olcOverlay={{1}}unique,olcDatabase={{1}}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcUniqueConfig
olcOverlay: {{1}}unique
olcUniqueURI: ldap:///{base}?uid?sub
olcUniqueURI: ldap:///{base}?mail,mailAlias?sub

dn: olcOverlay={{2}}refint,olcDatabase={{1}}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcRefintConfig
olcOverlay: {{2}}refint
olcRefintAttribute: member mailAdministrator mailAliasOwner

dn: olcOverlay={{3}}memberof,olcDatabase={{1}}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcMemberOf
olcOverlay: {{3}}memberof
olcMemberOfRefInt: TRUE
{sssvlv_overlay}"""

SSSVLV_OVERLAY = """
dn: olcOverlay={{4}}sssvlv,olcDatabase={{1}}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcSssVlvConfig
olcOverlay: {{4}}sssvlv
olcSssVlvMax: 64
olcSssVlvMaxKeys: 3
olcSssVlvMaxPerConn: 16
"""

BASE_LDIF = """\
dn: {base}
objectClass: dcObject
objectClass: organization
dc: mailadmin
o: mailadmin

dn: ou=admins,{base}
objectClass: organizationalUnit
ou: admins

dn: uid=admin,ou=admins,{base}
objectClass: inetOrgPerson
uid: admin
cn: Administrator
sn: Administrator

dn: ou=roles,{base}
objectClass: organizationalUnit
ou: roles

dn: cn=administrators,ou=roles,{base}
objectClass: groupOfNames
cn: administrators
member: uid=admin,ou=admins,{base}

dn: ou=services,{base}
objectClass: organizationalUnit
ou: services

dn: ou=policies,{base}
objectClass: organizationalUnit
ou: policies

dn: cn=default,ou=policies,{base}
objectClass: device
objectClass: pwdPolicy
cn: default
pwdAttribute: userPassword
pwdMinLength: 8
pwdCheckQuality: 1
pwdMaxFailure: 5
pwdLockout: TRUE

dn: ou=system-aliases,{base}
objectClass: organizationalUnit
ou: system-aliases

dn: ou=domains,{base}
objectClass: organizationalUnit
ou: domains
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class DevSlapd:
    """One private slapd. `start()` returns the settings the gateway needs; `stop()` kills it by PID."""

    def __init__(self, *, sssvlv: bool = False) -> None:
        self.sssvlv = sssvlv
        self.root = Path(tempfile.mkdtemp(prefix="mailadmin-slapd-"))
        self.password = secrets.token_urlsafe(16)
        self.port = _free_port()
        self.pid: int | None = None

    @property
    def uri(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    @property
    def ldapi(self) -> str:
        return "ldapi://" + quote(str(self.root / "ldapi"), safe="")

    def env(self) -> dict[str, str]:
        return {
            "LDAP_URI": self.uri,
            "LDAP_BASE_DN": BASE,
            "LDAP_ADMIN_DN": ROOT_DN,
            "LDAP_ADMIN_PASSWORD": self.password,
        }

    def start(self) -> dict[str, str]:
        """Build the config and base tree offline, then launch."""
        pwfile = self.root / "rootpw"
        pwfile.write_text(self.password)
        pwfile.chmod(0o600)
        rootpw_hash = subprocess.run(
            ["slappasswd", "-T", str(pwfile)], check=True, capture_output=True, text=True
        ).stdout.strip()
        (self.root / "data").mkdir()
        (self.root / "slapd.d").mkdir()
        config = CONFIG.format(
            root=self.root,
            schema=SCHEMA,
            base=BASE,
            rootdn=ROOT_DN,
            rootpw_hash=rootpw_hash,
            sssvlv_module="olcModuleLoad: sssvlv\n" if self.sssvlv else "",
            sssvlv_overlay=SSSVLV_OVERLAY.format() if self.sssvlv else "",
        )
        (self.root / "config.ldif").write_text(config)
        (self.root / "base.ldif").write_text(BASE_LDIF.format(base=BASE))
        slapd_d = str(self.root / "slapd.d")
        subprocess.run(
            ["slapadd", "-n0", "-F", slapd_d, "-l", str(self.root / "config.ldif")],
            check=True,
            capture_output=True,
        )
        subprocess.run(
            ["slapadd", "-q", "-F", slapd_d, "-b", BASE, "-l", str(self.root / "base.ldif")],
            check=True,
            capture_output=True,
        )
        return self.launch()

    def launch(self) -> dict[str, str]:
        """Start slapd on the existing config and data (again, after `stop`)."""
        slapd_d = str(self.root / "slapd.d")
        subprocess.run(
            ["slapd", "-F", slapd_d, "-h", f"{self.uri}/ {self.ldapi}"], check=True, capture_output=True
        )
        pidfile = self.root / "slapd.pid"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if pidfile.is_file() and pidfile.read_text().strip():
                self.pid = int(pidfile.read_text().split()[0])
                try:
                    socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                    return self.env()
                except OSError:
                    pass
            time.sleep(0.05)
        raise RuntimeError(f"slapd did not start in {self.root}")

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def stop(self) -> None:
        if self.pid is None:
            return
        try:
            os.kill(self.pid, signal.SIGTERM)
        except ProcessLookupError:
            self.pid = None
            return
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        self.pid = None
