"""Which disclaimer a message gets: the SENDER's (envelope sender -> account -> its containers).

Most specific wins: the account's own disclaimer, else the nearest group (groups nest: the inner one), else
the organization, else the domain. A sender that is no account (an alias, a list, a forged local address)
gets its domain's disclaimer, if the domain is hosted here. Lookups go to LDAP through the gateway and are
cached for a short while: a burst of mail from one sender costs one search.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from mailadmin.directory import (
    NO_ATTRS,
    DirectoryError,
    InvalidName,
    check_domain,
    dit,
    escape_filter,
    exists,
    search,
)
from mailqueue.mailfilter.snapshot import Published, SnapshotReader

TTL = 30.0  # seconds an LDAP answer is trusted (a moved account gets its new disclaimer within this)
MAX_CACHED = 10_000


class _TtlCache:
    def __init__(self) -> None:
        self._data: dict[str, tuple[float, object]] = {}
        self._lock = threading.Lock()

    def has(self, key: str) -> bool:
        with self._lock:
            hit = self._data.get(key)
        return hit is not None and hit[0] > time.monotonic()

    def get(self, key: str, compute: Callable[[], object]) -> object:
        now = time.monotonic()
        with self._lock:
            hit = self._data.get(key)
            if hit is not None and hit[0] > now:
                return hit[1]
        value = compute()
        with self._lock:
            if len(self._data) >= MAX_CACHED:
                self._data.clear()
            self._data[key] = (now + TTL, value)
        return value


class Chooser:
    def __init__(self, reader: SnapshotReader, mailbox_domain: str = "") -> None:
        self.reader = reader
        self.mailbox_domain = mailbox_domain.lower()
        self._chains = _TtlCache()
        self._hosted = _TtlCache()

    def for_sender(self, sender: str) -> Published | None:
        items = self.reader.current()
        if not items or "@" not in sender:
            return None  # no disclaimers at all, or a bounce (null sender)
        chain = self._chains.get(sender.lower(), lambda: _chain(sender.lower()))
        for dn in chain if isinstance(chain, tuple) else ():
            found = items.get(dn)
            if found is not None:
                return found
        return None

    def cached(self, sender: str, recipients: list[str]) -> bool:
        """Can for_sender and hosted answer for this message without asking LDAP? (Then the event loop may
        call them; otherwise a worker thread does.)"""
        sender = sender.lower()
        if "@" not in sender:
            return True
        if not self._chains.has(sender):
            return not self.reader.current()  # no disclaimers at all: nothing to look up
        chosen = self.for_sender(sender)
        if chosen is None or not chosen.outbound_only:
            return True
        domains = {r.rpartition("@")[2].lower() for r in recipients}
        return all(not d or d == self.mailbox_domain or self._hosted.has(d) for d in domains)

    def hosted(self, address: str) -> bool:
        """Is the recipient's domain one of ours? (for "outbound only")"""
        domain = address.rpartition("@")[2].lower()
        if not domain:
            return True  # `postmaster` without a domain is local by definition
        if domain == self.mailbox_domain:
            return True
        return bool(self._hosted.get(domain, lambda: _domain_exists(domain)))


def _chain(sender: str) -> tuple[str, ...]:
    """Normalised DNs from the sender's account up to its domain; () when it is not ours."""
    domain = sender.rpartition("@")[2]
    try:
        domain_dn = dit.domain_dn(check_domain(domain))
    except InvalidName:
        return ()
    address = escape_filter(sender)
    account_filter = f"(&(objectClass=mailAccount)(|(mail={address})(mailAlias={address})))"
    try:
        found = search(dit.domains_dn(), account_filter, NO_ATTRS, limit=2)
    except DirectoryError:
        found = []
    dn = found[0].dn if len(found) == 1 else domain_dn
    chain = []
    while dn and dit.is_inside(dn, dit.domains_dn(), strict=True):
        chain.append(dit.normalize_dn(dn))
        dn = dit.parent_dn(dn)
    return tuple(chain)


def _domain_exists(domain: str) -> bool:
    try:
        return exists(dit.domain_dn(check_domain(domain)))
    except InvalidName:
        return False
    except DirectoryError:
        return False  # unknown counts as remote: an outbound disclaimer too many beats one missing
