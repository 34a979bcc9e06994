"""Who is acting: the person behind a request, a job, or the system itself.

Services take `actor=` so the audit log can say who did what from where, and so the permission check
(`mailadmin.permissions`) has one object to reason about.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Roles:
    """What an account may administer, read from the directory at login (and refreshed)."""

    administrator: bool = False
    domains: frozenset[str] = field(default_factory=frozenset)  # DNs of domains it administers
    groups: frozenset[str] = field(default_factory=frozenset)  # DNs of groups it administers

    @property
    def rank(self) -> int:
        """Higher outranks lower; nobody may act on someone of a higher rank."""
        if self.administrator:
            return 3
        if self.domains:
            return 2
        if self.groups:
            return 1
        return 0

    @property
    def label(self) -> str:
        return {3: "administrator", 2: "domain administrator", 1: "group administrator", 0: "user"}[self.rank]

    def to_json(self) -> dict[str, object]:
        return {
            "administrator": self.administrator,
            "domains": sorted(self.domains),
            "groups": sorted(self.groups),
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Roles:
        domains = data.get("domains") or []
        groups = data.get("groups") or []
        if not isinstance(domains, list) or not isinstance(groups, list):
            return cls()
        return cls(
            administrator=bool(data.get("administrator")),
            domains=frozenset(str(d) for d in domains),
            groups=frozenset(str(g) for g in groups),
        )


@dataclass(frozen=True)
class Actor:
    username: str
    dn: str
    roles: Roles
    ip: str = ""

    @classmethod
    def system(cls, what: str = "system") -> Actor:
        """The console itself (bootstrap, scheduled jobs): an administrator without a person behind it."""
        return cls(username=f"<{what}>", dn="", roles=Roles(administrator=True))

    @property
    def is_system(self) -> bool:
        return self.username.startswith("<")
