"""The base entries of the directory tree (docs/directory.md), as LDIF text for `slapadd`/`ldapadd`.

Pure text on purpose: the private stack loads it offline with `slapadd` before slapd runs, so nothing here may
need a connection (or python-ldap). Password hashes are made by the caller (`slappasswd`), never here.
"""

from __future__ import annotations

from mailadmin.configfiles import values as v

POLICY = {
    "pwdAttribute": "userPassword",
    "pwdLockout": "TRUE",
    "pwdMaxFailure": "10",
    "pwdLockoutDuration": "300",
    "pwdFailureCountInterval": "300",
    "pwdMinLength": "8",
    # 1: slapd checks what it can (the length of a clear-text password sent by Password Modify) and lets
    # through what it cannot (a pre-hashed value from an import).
    "pwdCheckQuality": "1",
    "pwdMustChange": "FALSE",
    "pwdAllowUserChange": "TRUE",
}
# The administrators' policy (decision 0011): no lockout. slapd would lock an account after pwdMaxFailure
# wrong binds from anyone anywhere, so a stranger could lock the administrators out of the console; instead
# the console's throttle counts failures per (account, client address): it locks out nobody but the guesser.
ADMIN_POLICY = {**POLICY, "pwdLockout": "FALSE", "pwdMaxFailure": "0"}
CONTAINERS = ("admins", "roles", "services", "policies", "system-aliases", "domains")


def _hash(name: str, value: str) -> str:
    checked = v.secret(name, value)
    if not checked.startswith("{"):
        raise v.ConfigValueError(name, "must be a hashed password such as {SSHA}...", secret=True)
    return checked


def skeleton_ldif(base_dn: str, *, postfix_pw_hash: str, saslauthd_pw_hash: str) -> str:
    """Suffix, containers, the administrators role, the daemons' bind accounts, the default ppolicy and the
    administrators' ppolicy (no lockout).

    `cn=administrators` is a groupOfNames, which MUST have a member, and no administrator exists yet when the
    tree is made: the suffix DN itself stands in as a placeholder member. It grants nothing (the suffix entry
    has no password, so nobody binds as it); refint's `olcRefintNothing` uses the same placeholder when the
    last real member is removed. Code listing administrators skips it.
    """
    base = v.dn("base_dn", base_dn)
    first_attr, _, rest = base.partition(",")[0].partition("=")
    if first_attr.lower() != "dc":
        raise v.ConfigValueError("base_dn", "must start with a dc= component (dcObject suffix)", base_dn)
    dc = rest
    postfix_hash = _hash("postfix_pw_hash", postfix_pw_hash)
    saslauthd_hash = _hash("saslauthd_pw_hash", saslauthd_pw_hash)

    entries: list[list[str]] = [
        [f"dn: {base}", "objectClass: dcObject", "objectClass: organization", f"dc: {dc}", f"o: {dc}"],
    ]
    entries += [[f"dn: ou={ou},{base}", "objectClass: organizationalUnit", f"ou: {ou}"] for ou in CONTAINERS]
    entries.append(
        [
            f"dn: cn=administrators,ou=roles,{base}",
            "objectClass: groupOfNames",
            "cn: administrators",
            "description: Console administrators (the suffix DN is a placeholder member)",
            f"member: {base}",
        ]
    )
    for name, pw_hash in (("postfix", postfix_hash), ("saslauthd", saslauthd_hash)):
        entries.append(
            [
                f"dn: cn={name},ou=services,{base}",
                "objectClass: organizationalRole",
                "objectClass: simpleSecurityObject",
                f"cn: {name}",
                f"description: Bind account of {name} (read-only)",
                f"userPassword: {pw_hash}",
            ]
        )
    for name, policy in (("default", POLICY), ("administrators", ADMIN_POLICY)):
        entries.append(
            [
                f"dn: cn={name},ou=policies,{base}",
                "objectClass: device",
                "objectClass: pwdPolicy",
                f"cn: {name}",
                *(f"{key}: {value}" for key, value in policy.items()),
            ]
        )
    return "\n\n".join("\n".join(lines) for lines in entries) + "\n"
