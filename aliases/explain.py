"""Explain this address: how Postfix will treat an address, asked of Postfix itself.

Nothing here reads the directory. The tables and their order come from the running main.cf (`postconf -n`),
each answer from `postmap -q` on that table, so the page shows what Postfix will do, including tables other
parts of the console added. The expansion follows Postfix's virtual alias rules (virtual(5), cleanup):

- for one address, every table of virtual_alias_maps is asked for the full address first, then every table
  for `@domain`; the first answer wins;
- an answer is a comma-separated list; `@other` keeps the local part, an address without `@` gets
  `@$myorigin`; an answer naming the address itself is not expanded again;
- what is left is delivered: to a Cyrus mailbox when its domain is the mailbox domain and
  virtual_mailbox_maps knows it, to the relay host when its domain is not hosted, else it bounces.
"""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from mailadmin import postfix
from mailadmin.directory import check_address

MAX_DEPTH = 20  # Postfix allows 100 levels (virtual_alias_recursion_limit); more here means a loop
MAX_LOOKUPS = 200  # postmap runs per explanation (each is a process and an LDAP query)
WORKERS = 8  # postmap processes at once
_SPLIT = re.compile(r"[\s,]+")
# Restrictions whose table is keyed by the recipient address; the others depend on the sender or client.
_RECIPIENT_CHECKS = frozenset({"check_recipient_access"})
_SENDER_CHECKS = frozenset({"check_sender_access", "check_sasl_access", "check_client_access"})


@dataclass(frozen=True)
class Lookup:
    table: str
    key: str
    answer: str | None
    error: str = ""


@dataclass
class Step:
    address: str
    depth: int
    lookups: list[Lookup] = field(default_factory=list)
    result: list[str] = field(default_factory=list)
    note: str = ""


@dataclass(frozen=True)
class Final:
    address: str
    kind: str  # "mailbox" | "external" | "unknown" | "loop" | "elsewhere"
    detail: str


@dataclass(frozen=True)
class Restriction:
    check: str
    table: str
    answer: str | None
    meaning: str  # the restriction class' own rules when the answer names one
    applies_to: str  # "recipient" or "sender"


@dataclass
class Explanation:
    address: str
    domain_class: str  # "mailbox domain" | "hosted" | "alias domain" | "internal" | "remote"
    steps: list[Step] = field(default_factory=list)
    finals: list[Final] = field(default_factory=list)
    restrictions: list[Restriction] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    relayhost: str = ""


def words(value: str) -> list[str]:
    """A Postfix list: items separated by commas or white space, except inside `{ }` (inline:{a=1, b=2})."""
    items: list[str] = []
    current: list[str] = []
    depth = 0
    for ch in value:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth = max(0, depth - 1)
        if depth == 0 and (ch == "," or ch.isspace()):
            if current:
                items.append("".join(current))
                current = []
            continue
        current.append(ch)
    if current:
        items.append("".join(current))
    return items


def table_list(value: str) -> list[str]:
    """`ldap:/a.cf, ldap:/b.cf` -> the table references in order."""
    return [t for t in words(value) if ":" in t]


class _Asker:
    """Runs `postmap -q`, remembering each (key, table) answer for this explanation. Each run is a process
    and an LDAP bind (~70 ms), so the lookups of one round run side by side (`first`)."""

    def __init__(self, config_dir: str | Path, pool: ThreadPoolExecutor) -> None:
        self.config_dir = config_dir
        self.pool = pool
        self.count = 0
        self.errors: list[str] = []
        self.lock = threading.Lock()
        self.memo: dict[tuple[str, str], Lookup] = {}

    def ask(self, key: str, table: str) -> Lookup:
        with self.lock:
            if (key, table) in self.memo:
                return self.memo[(key, table)]
            if self.count >= MAX_LOOKUPS:
                return Lookup(table, key, None, "lookup limit reached")
            self.count += 1
        try:
            lookup = Lookup(table, key, postfix.postmap_query(key, table, self.config_dir))
        except postfix.PostfixError as exc:
            with self.lock:
                self.errors.append(exc.message)
            lookup = Lookup(table, key, None, exc.message)
        with self.lock:
            self.memo[(key, table)] = lookup
        return lookup

    def first(self, pairs: list[tuple[str, str]]) -> tuple[list[Lookup], Lookup | None]:
        """Ask every (key, table) at once; return them in order up to the first answer, and that answer
        (Postfix asks in this order and stops there)."""
        futures = [self.pool.submit(self.ask, key, table) for key, table in pairs]
        shown: list[Lookup] = []
        for future in futures:
            lookup = future.result()
            shown.append(lookup)
            if lookup.answer is not None:
                return shown, lookup
        return shown, None

    def in_list(self, key: str, items: list[str]) -> bool:
        """A domain in a Postfix domain list: literal names or tables."""
        if any(":" not in item and item.lower() == key for item in items):
            return True
        _shown, hit = self.first([(key, item) for item in items if ":" in item])
        return hit is not None


def _expand_result(address: str, raw: str, myorigin: str) -> list[str]:
    local = address.rpartition("@")[0]
    out = []
    for part in _SPLIT.split(raw.strip()):
        if not part:
            continue
        if part.startswith("@"):
            part = f"{local}{part}"
        elif "@" not in part:
            part = f"{part}@{myorigin}"
        out.append(part.lower())
    return out


def explain_address(
    address: str, config_dir: str | Path, *, within: frozenset[str] | None = None
) -> Explanation:
    """The whole story of `address` (checked with the address allow-list first; InvalidName otherwise).

    `within`: the domains a domain administrator may look into (None: an administrator, everything). The
    expansion stops at an address of another hosted domain: that domain's aliases, forwards and mailboxes are
    not theirs to read."""
    address = check_address(address.strip(), "address")
    conf = postfix.postconf_n(config_dir)
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        return _explain(address, conf, _Asker(config_dir, pool), within)


def _explain(address: str, conf: dict[str, str], asker: _Asker, within: frozenset[str] | None) -> Explanation:
    myorigin = conf.get("mydomain") or conf.get("myhostname", "")
    if conf.get("myorigin", "$mydomain") not in ("$mydomain", "${mydomain}"):
        myorigin = conf.get("myorigin", myorigin)
    # literal domain names and tables, in order
    mailbox_domains = words(conf.get("virtual_mailbox_domains", ""))
    alias_domains = table_list(conf.get("virtual_alias_domains", ""))
    alias_maps = table_list(conf.get("virtual_alias_maps", ""))
    mailbox_maps = table_list(conf.get("virtual_mailbox_maps", ""))
    internal = conf.get("mydomain", "").lower()

    def domain_class(domain: str) -> str:
        if domain == internal:
            return "internal"
        if asker.in_list(domain, mailbox_domains):
            return "hosted"
        if alias_domains and asker.in_list(domain, alias_domains):
            return "alias domain"
        return "remote"

    top_domain = address.rpartition("@")[2]
    result = Explanation(address, domain_class(top_domain), relayhost=conf.get("relayhost", ""))
    seen: set[str] = set()

    def expand(addr: str, depth: int) -> None:
        if addr in seen:
            result.finals.append(Final(addr, "loop", "reached twice: Postfix stops here (mail loops)"))
            return
        seen.add(addr)
        step = Step(addr, depth)
        result.steps.append(step)
        if depth > MAX_DEPTH:
            step.note = "too deep"
            result.finals.append(Final(addr, "loop", f"more than {MAX_DEPTH} levels of aliases"))
            return
        domain = addr.rpartition("@")[2]
        if within is not None and domain not in within and domain != internal:
            klass = domain_class(domain)
            if klass != "remote":
                step.note = "another domain"
                result.finals.append(Final(addr, "elsewhere", "another domain of this server: not followed"))
                return
        # every table for the full address, then every table for @domain
        step.lookups, answer = asker.first([(key, t) for key in (addr, f"@{domain}") for t in alias_maps])
        if answer is None or answer.answer is None:
            result.finals.append(_deliver(addr, domain_class(domain), mailbox_maps, asker, result.relayhost))
            return
        step.result = _expand_result(addr, answer.answer, myorigin)
        for target in step.result:
            if target == addr:
                result.finals.append(
                    _deliver(addr, domain_class(domain), mailbox_maps, asker, result.relayhost)
                )
            else:
                expand(target, depth + 1)

    if result.domain_class == "remote":
        result.finals.append(
            Final(
                address,
                "external",
                f"not hosted here: sent to {result.relayhost or 'its MX'} (local senders only)",
            )
        )
    else:
        expand(address, 0)
    result.restrictions = _restrictions(address, conf, asker)
    result.errors = asker.errors
    return result


def _deliver(addr: str, klass: str, mailbox_maps: list[str], asker: _Asker, relayhost: str) -> Final:
    if klass == "remote":
        return Final(addr, "external", f"sent to {relayhost or 'its MX'}")
    if klass == "internal":
        for table in mailbox_maps:
            if asker.ask(addr, table).answer is not None:
                return Final(addr, "mailbox", f"Cyrus mailbox user/{addr.partition('@')[0]} (LMTP)")
        return Final(addr, "unknown", "no such mailbox: refused (550) or bounced")
    return Final(addr, "unknown", "no account, alias or catch-all answers: refused at RCPT (550)")


def _restrictions(address: str, conf: dict[str, str], asker: _Asker) -> list[Restriction]:
    classes = set(words(conf.get("smtpd_restriction_classes", "")))
    tokens = words(conf.get("smtpd_recipient_restrictions", ""))
    # warm the memo side by side; the loop below then reads the answers in order
    wanted = [
        tokens[i + 1] for i, t in enumerate(tokens[:-1]) if t in _RECIPIENT_CHECKS and ":" in tokens[i + 1]
    ]
    list(asker.pool.map(lambda table: asker.ask(address, table), wanted))
    found: list[Restriction] = []
    i = 0
    while i < len(tokens):
        check = tokens[i]
        table = tokens[i + 1] if i + 1 < len(tokens) and ":" in tokens[i + 1] else ""
        i += 2 if table else 1
        if check in _RECIPIENT_CHECKS and table:
            lookup = asker.ask(address, table)
            meaning = ""
            if lookup.answer is not None:
                word = lookup.answer.split()[0]
                meaning = conf.get(word, "") if word in classes else lookup.answer
            found.append(Restriction(check, table, lookup.answer, meaning, "recipient"))
        elif check in _SENDER_CHECKS and table:
            found.append(Restriction(check, table, None, "decided per sender", "sender"))
        elif check == "check_policy_service":
            found.append(Restriction(check, table, None, "a policy service decides", "sender"))
    return found
