"""The write layer of the Aliases menu: aliases of a domain (aliases.py, checks.py), a user's extra addresses
and forwarding, catch-all and alias domains (addresses.py), system aliases (system.py), and the aliases that
follow an address when it changes or goes (membership.py). Reads are aliases.selectors.

Other menus use these through this package (`from aliases.services import membership`)."""

from aliases.services import addresses, membership, system
from aliases.services.aliases import (
    alias_create,
    alias_delete,
    alias_member_add,
    alias_member_remove,
    alias_owner_add,
    alias_owner_remove,
    alias_update,
)
from aliases.services.checks import check_members, check_no_loop, check_owners, owner_logins

__all__ = [
    "addresses",
    "alias_create",
    "alias_delete",
    "alias_member_add",
    "alias_member_remove",
    "alias_owner_add",
    "alias_owner_remove",
    "alias_update",
    "check_members",
    "check_no_loop",
    "check_owners",
    "membership",
    "owner_logins",
    "system",
]
