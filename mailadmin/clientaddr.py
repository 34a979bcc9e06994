"""The client's address, as the login throttle and the audit log must see it.

`REMOTE_ADDR` is the address that opened the connection. Behind a reverse proxy (nginx in front of gunicorn)
that is the proxy, and the real client is in `X-Forwarded-For` — a header anyone can send. So the header is
believed only when the connection comes from a proxy listed in MAILADMIN_TRUSTED_PROXIES (addresses or
networks), and only as far as that chain of trusted proxies goes: read from the right, the first address that
is not a trusted proxy is the client. Decision 0011.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Sequence

from django.conf import settings
from django.http import HttpRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@functools.lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(e, strict=False) for e in entries)


def trusted_networks() -> tuple[Network, ...]:
    """MAILADMIN_TRUSTED_PROXIES parsed (settings.py has already refused malformed entries)."""
    return _networks(tuple(settings.TRUSTED_PROXIES))


def _address(text: str) -> Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [2001:db8::1]:443
        text = text[1 : text.index("]")]
    elif text.count(":") == 1 and "." in text:  # 192.0.2.1:443
        text = text.partition(":")[0]
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


def _trusted(addr: Address, networks: Sequence[Network]) -> bool:
    return any(addr in net for net in networks)


def client_address(request: HttpRequest) -> str:
    """The client's IP address as text ("" if the server gave none)."""
    remote = _address(str(request.META.get("REMOTE_ADDR", "")))
    if remote is None:
        return ""
    networks = trusted_networks()
    if not networks or not _trusted(remote, networks):
        return str(remote)
    hops = str(request.META.get("HTTP_X_FORWARDED_FOR", "")).split(",")
    nearest = remote
    for hop in reversed(hops):
        addr = _address(hop)
        if addr is None:
            break  # garbage left of a trusted proxy was sent by the client: stop believing the header
        if not _trusted(addr, networks):
            return str(addr)
        nearest = addr
    return str(nearest)
