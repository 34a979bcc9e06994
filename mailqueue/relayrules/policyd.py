"""The Postfix policy-delegation server behind the relay rules (`manage.py policyd`).

Protocol (SMTPD_POLICY_README): Postfix writes `name=value` lines and an empty line; we answer
`action=<access(5) action>` and an empty line, on the same connection as often as Postfix asks. The rules
live in memory and are reloaded when the console announces a change in Redis, so a
change made in the console applies to the very next RCPT (RuleCache explains how, without a Redis round
trip per request).

If Redis is unreachable the last rules stay in force; if no rules were ever loaded the answer is a 451
temporary failure, the same as Postfix's own answer when this service is down (mail waits, nothing is
let through that a rule should have stopped).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable

import redis
import redis.asyncio as aioredis

from mailqueue.relayrules import store
from mailqueue.relayrules.engine import DUNNO, Decision, Envelope, Event, Rule, evaluate

log = logging.getLogger("mailadmin.policyd")

UNAVAILABLE = "451 4.3.5 SMTP relay rules unavailable, try again later"
MAX_LINE = 4096
MAX_REQUEST = 64 * 1024  # a whole request; more closes the connection (LimitOverrunError)
MAX_ATTRIBUTES = 200
IDLE_TIMEOUT = 600.0  # Postfix closes idle connections after smtpd_policy_service_max_idle (300 s)
OWNER_TTL = 10.0
RECHECK = 5.0  # seconds between version-token reads when no change was announced


class RuleCache:
    """The rules in memory. Redis tells of changes through a pub/sub channel: before every decision the
    subscription's socket is drained without waiting (a local read, no round trip), so a change published
    before the SMTP client even connected is always seen. Every RECHECK seconds the version token is also
    read, in case a message was lost with a broken connection."""

    def __init__(self, redis_url: str, *, load_db: Callable[[], list[Rule]] | None = None) -> None:
        self.redis = aioredis.Redis.from_url(redis_url, socket_timeout=1, socket_connect_timeout=1)
        self.pubsub: aioredis.client.PubSub | None = None
        self.version: str | None = None
        self.rules: list[Rule] = []
        self.loaded = False
        self.load_db = load_db
        self._db_tried = 0.0
        self._checked = 0.0
        self._subscribe_tried = 0.0
        self._lock = asyncio.Lock()

    async def current(self) -> list[Rule] | None:
        """The rules in force, reloaded when they changed; None when none could ever be loaded.

        One connection at a time: the subscription is one socket, and two handlers draining it at once
        made redis-py raise "readuntil() called while another coroutine is already waiting" (Postfix then
        answered 451 for that RCPT). The check is a local read, so the lock costs next to nothing."""
        async with self._lock:
            try:
                if await self._changed() or time.monotonic() - self._checked > RECHECK:
                    await self.reload()
            except (redis.RedisError, OSError) as exc:
                self._drop_subscription()
                log.warning(
                    "redis: %s (keeping %d rule(s) of version %s)", exc, len(self.rules), self.version
                )
        return self.rules if self.loaded else None

    async def _changed(self) -> bool:
        if self.pubsub is None:
            if time.monotonic() - self._subscribe_tried < 1.0:
                return False
            self._subscribe_tried = time.monotonic()
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            await pubsub.subscribe(store.CHANNEL)
            self.pubsub = pubsub
            return True  # changes may have been missed while unsubscribed
        changed = False
        while await self.pubsub.get_message(ignore_subscribe_messages=True, timeout=0.0) is not None:
            changed = True
        return changed

    def _drop_subscription(self) -> None:
        if self.pubsub is not None:
            pubsub, self.pubsub = self.pubsub, None
            task = asyncio.get_running_loop().create_task(pubsub.aclose())
            task.add_done_callback(lambda t: t.exception() if not t.cancelled() else None)

    async def reload(self) -> None:
        self._checked = time.monotonic()
        raw_version = await self.redis.get(store.VERSION_KEY)
        if raw_version is None:
            await self._missing()
            return
        version = raw_version.decode() if isinstance(raw_version, bytes) else str(raw_version)
        if version == self.version and self.loaded:
            return
        raw = await self.redis.get(store.RULES_KEY)
        if raw is not None:
            self.version, self.rules = store.decode(raw)
            self.loaded = True
            log.info("relay rules version %s: %d rule(s)", self.version, len(self.rules))

    async def _missing(self) -> None:
        """Nothing published (a fresh install, or Redis restarted: it keeps nothing on disk)."""
        if self.load_db is not None and time.monotonic() - self._db_tried > 5:
            self._db_tried = time.monotonic()
            try:
                rules = await asyncio.to_thread(self.load_db)
            except Exception as exc:  # the database may not be migrated yet during `make run`
                log.warning("rules from the database: %s", exc)
            else:
                await asyncio.to_thread(store.publish, rules)
                return
        self.version, self.rules, self.loaded = None, [], True


class Owners:
    """Which logins own a MAIL FROM address (AUTH_MISMATCH): the sender-logins question, asked of LDAP."""

    def __init__(self, lookup: Callable[[str], list[str]]) -> None:
        self.lookup = lookup
        self.cache: dict[str, tuple[float, list[str]]] = {}

    async def get(self, address: str) -> list[str]:
        key = address.lower()
        hit = self.cache.get(key)
        if hit is not None and time.monotonic() - hit[0] < OWNER_TTL:
            return hit[1]
        found = await asyncio.to_thread(self.lookup, key)
        if len(self.cache) > 10_000:
            self.cache.clear()
        self.cache[key] = (time.monotonic(), found)
        return found


def ldap_owners(address: str) -> list[str]:
    """The enabled accounts with this address as mail or mailAlias (like Postfix's sender-logins table)."""
    from mailadmin import directory
    from mailadmin.directory import dit, filter_and, filter_eq, filter_or

    query = filter_and(
        "(objectClass=mailAccount)",
        "(!(mailEnabled=FALSE))",
        filter_or(filter_eq("mail", address), filter_eq("mailAlias", address)),
    )
    return [e.first("uid") for e in directory.search(dit.domains_dn(), query, ["uid"], limit=50)]


class PolicyServer:
    def __init__(self, cache: RuleCache, owners: Owners) -> None:
        self.cache = cache
        self.owners = owners

    async def decide(self, attrs: dict[str, str]) -> Decision:
        if attrs.get("request") != "smtpd_access_policy":
            return DUNNO
        rules = await self.cache.current()
        if rules is None:
            return Decision(None, UNAVAILABLE)
        env = Envelope.from_attrs(attrs)
        owned: Iterable[str] = ()
        if env.sasl_username and env.sender and any(r.event is Event.AUTH_MISMATCH for r in rules):
            try:
                owned = await self.owners.get(env.sender)
            except Exception as exc:  # LDAP down: a mismatch cannot be told; fail like the service being down
                log.warning("owner of %s: %s", env.sender, exc)
                return Decision(None, UNAVAILABLE)
        owned_list = list(owned)
        return evaluate(rules, env, lambda _address: owned_list)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                attrs = await self._read_request(reader)
                if attrs is None:
                    return
                try:
                    decision = await self.decide(attrs)
                except Exception:  # a bug must not cost the connection: answer "try again later"
                    log.exception("decision failed")
                    decision = Decision(None, UNAVAILABLE)
                if decision.rule is not None:
                    log.info(
                        "rule %d (%s %s) -> %s [client=%s sasl=%s from=<%s> to=<%s> ctx=%s]",
                        decision.rule.position,
                        decision.rule.event,
                        decision.rule.pattern,
                        decision.action,
                        attrs.get("client_address", ""),
                        attrs.get("sasl_username", ""),
                        attrs.get("sender", ""),
                        attrs.get("recipient", ""),
                        attrs.get("policy_context", ""),
                    )
                writer.write(f"action={decision.action}\n\n".encode("ascii", "replace"))
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            return
        except TimeoutError:
            return
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _read_request(self, reader: asyncio.StreamReader) -> dict[str, str] | None:
        """One request: everything up to the empty line, read in one call (Postfix sends ~30 lines; a
        timeout per line cost more than the decision itself)."""
        try:
            block = await asyncio.wait_for(reader.readuntil(b"\n\n"), IDLE_TIMEOUT)
        except asyncio.IncompleteReadError as exc:
            if exc.partial.strip():
                raise
            return None  # Postfix closed the connection between requests
        attrs: dict[str, str] = {}
        for line in block.decode("utf-8", "replace").split("\n"):
            if len(line) > MAX_LINE:
                raise ValueError("line too long")
            name, sep, value = line.rstrip("\r").partition("=")
            if sep and len(attrs) < MAX_ATTRIBUTES:
                attrs[name] = value
        return attrs


async def serve(
    host: str,
    port: int,
    redis_url: str,
    *,
    load_db: Callable[[], list[Rule]] | None = None,
    owners: Callable[[str], list[str]] = ldap_owners,
    started: Callable[[], None] | None = None,
) -> None:
    server_obj = PolicyServer(RuleCache(redis_url, load_db=load_db), Owners(owners))
    await server_obj.cache.current()
    server = await asyncio.start_server(server_obj.handle, host, port, limit=MAX_REQUEST, reuse_address=True)
    log.info("policyd listening on %s:%d", host, port)
    if started is not None:
        started()
    async with server:
        await server.serve_forever()
