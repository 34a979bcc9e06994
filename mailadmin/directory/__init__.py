"""The directory gateway: the only code that imports `ldap` (python-ldap).

Import from here: `from mailadmin.directory import get_entry, DirectoryConflict, dit`.
Modules: connection (pool, binds), errors, names (allow-lists, escaping), dit (tree layout), entries,
search (reads, paging, sorting), window (VLV pages), write (changes, passwords), hashes (pre-hashed
passwords from imports: which schemes slapd verifies, writing one as given), roles (roles_for, counts),
standing (an account's state, read on every request), accounts (account reads, free names), hosted (hosted
domain names), acl (the access rules of private containers, written live to cn=config).
"""

from __future__ import annotations

from mailadmin.directory import dit
from mailadmin.directory.accounts import get_account, preflight_unique
from mailadmin.directory.acl import (
    AccessState,
    AclMismatch,
    access_apply,
    access_state,
    private_containers,
)
from mailadmin.directory.connection import bind_as, close_all
from mailadmin.directory.dit import domain_name, domains_of, is_inside, same_dn, valid_dn
from mailadmin.directory.entries import Entry, Page, Window, is_account
from mailadmin.directory.errors import (
    DirectoryConflict,
    DirectoryError,
    DirectoryNotFound,
    DirectoryPageExpired,
    DirectoryRefused,
    DirectorySizeLimit,
    DirectoryUnavailable,
)
from mailadmin.directory.hashes import (
    check_password_hash,
    password_hash_set,
    scheme_of,
    verifiable_schemes,
)
from mailadmin.directory.hosted import hosted_domains
from mailadmin.directory.names import (
    InvalidName,
    check_address,
    check_container_name,
    check_domain,
    check_login,
    check_password,
    check_value,
    escape_dn,
    escape_filter,
)
from mailadmin.directory.policy import (
    account_lock,
    account_lock_state,
    account_locked,
    account_unlock,
    admin_policy_dn,
    admin_policy_ensure,
    password_min_length,
    password_must_change,
    password_reset_required,
    policy_assign,
)
from mailadmin.directory.roles import administrators, counts, domain_admins, group_admins, roles_for
from mailadmin.directory.search import (
    NO_ATTRS,
    count,
    exists,
    filter_and,
    filter_eq,
    filter_or,
    get_entry,
    iter_paged,
    search,
    search_page,
)
from mailadmin.directory.server import schema_loaded, server_info
from mailadmin.directory.standing import LOCKED_FOREVER, Standing, entry_disabled, standing_for
from mailadmin.directory.window import search_window
from mailadmin.directory.write import (
    Change,
    add,
    add_values,
    delete,
    delete_subtree,
    delete_values,
    modify,
    password_modify,
    password_modify_as_user,
    rename,
    replace,
    value_changes,
)

__all__ = [
    "AccessState",
    "AclMismatch",
    "Change",
    "DirectoryConflict",
    "DirectoryError",
    "DirectoryNotFound",
    "DirectoryPageExpired",
    "DirectoryRefused",
    "DirectorySizeLimit",
    "DirectoryUnavailable",
    "Entry",
    "LOCKED_FOREVER",
    "Standing",
    "InvalidName",
    "NO_ATTRS",
    "Page",
    "Window",
    "access_apply",
    "access_state",
    "account_lock",
    "account_lock_state",
    "account_locked",
    "account_unlock",
    "add",
    "add_values",
    "admin_policy_dn",
    "admin_policy_ensure",
    "administrators",
    "bind_as",
    "check_address",
    "check_container_name",
    "check_domain",
    "check_login",
    "check_password",
    "check_password_hash",
    "check_value",
    "close_all",
    "count",
    "counts",
    "delete",
    "delete_subtree",
    "delete_values",
    "dit",
    "domain_admins",
    "domain_name",
    "domains_of",
    "entry_disabled",
    "escape_dn",
    "escape_filter",
    "exists",
    "filter_and",
    "filter_eq",
    "filter_or",
    "get_account",
    "get_entry",
    "group_admins",
    "hosted_domains",
    "is_account",
    "is_inside",
    "iter_paged",
    "modify",
    "password_min_length",
    "password_modify",
    "password_hash_set",
    "password_modify_as_user",
    "password_must_change",
    "password_reset_required",
    "preflight_unique",
    "policy_assign",
    "private_containers",
    "rename",
    "replace",
    "roles_for",
    "same_dn",
    "scheme_of",
    "schema_loaded",
    "search",
    "search_page",
    "search_window",
    "server_info",
    "standing_for",
    "valid_dn",
    "verifiable_schemes",
    "value_changes",
]
