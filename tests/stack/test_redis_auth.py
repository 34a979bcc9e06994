"""Redis requires a password: without AUTH nothing is answered; the console, Celery and the policy service
connect with the one in REDIS_URL."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import cache


def _ask(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(data)
        return sock.recv(256)


def test_redis_refuses_clients_without_the_password(stack: object) -> None:
    url = urlsplit(settings.REDIS_URL)
    assert url.password and url.port
    assert _ask(url.port, b"PING\r\n").startswith(b"-NOAUTH")
    assert _ask(url.port, b"AUTH wrong-password\r\n").startswith(b"-WRONGPASS")
    assert _ask(url.port, b"AUTH " + url.password.encode() + b"\r\nPING\r\n").startswith(b"+OK\r\n")


def test_the_console_uses_it_through_the_url(stack: object) -> None:
    cache.set("redis-auth-probe", 7, 30)
    assert cache.get("redis-auth-probe") == 7
