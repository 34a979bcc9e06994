"""nginx in front of the console: a complete standalone nginx.conf (one HTTPS server on loopback that serves
/static/ itself, proxies everything else to gunicorn, and answers a health URL on its own), and the small
file that tells scripts/run.sh how many gunicorn workers to start.

The Configuration menu's values (`settings`, already checked by the registry, mailadmin/configfiles/registry/
nginx.py) replace the defaults below name by name. This module checks only that a value cannot change the
file's structure (no `;`, brace, quote, comment, newline...); whether nginx likes the value is for `nginx -t`
to say, before any file is used (mailadmin/stack/web.py).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from mailadmin.configfiles import values as v
from mailadmin.configfiles.files import with_header

SOURCE = "mailadmin/configfiles/nginx.py"
HEALTH_PATH = "/.well-known/mailadmin-health"
# The health answer carries a digest of the rendered file: after a reload, the new digest in the answer
# proves nginx serves the new configuration (mailadmin/stack/web.py waits for it).
GENERATION_HEADER = "X-Mailadmin-Config"
_GENERATION_LINE = re.compile(rf'add_header {GENERATION_HEADER} "(?P<gen>[0-9a-f]{{16}})" always;')
_LISTEN_LINE = re.compile(r"^\s*listen 127\.0\.0\.1:(?P<port>[0-9]{1,5}) ssl;", re.MULTILINE)
_SERVER_NAME_LINE = re.compile(r"^\s*server_name (?P<name>\S+);", re.MULTILINE)
_CERT_LINE = re.compile(r"^\s*ssl_certificate (?P<path>\S+);", re.MULTILINE)

# Characters with a meaning of their own in nginx.conf: statement end, blocks, quotes, escapes, variables.
FORBID = ";{}\"'\\$`"

# What the stack writes when the menu has no value for a name. The server name, port and certificate come
# from the stack (NginxParams); gunicorn_workers goes to gunicorn.env, not to nginx.conf.
DEFAULTS: dict[str, str] = {
    "client_max_body_size": "10m",
    "proxy_read_timeout": "60s",
    "proxy_connect_timeout": "5s",
    "keepalive_timeout": "65s",
    "client_body_timeout": "60s",
    "send_timeout": "60s",
    "worker_processes": "1",
    "worker_connections": "256",
    "gzip": "on",
    "ssl_protocols": "TLSv1.2 TLSv1.3",
    "gunicorn_workers": "2",
}
# One word each; ssl_protocols is a list (commas or spaces in the menu, spaces in the file).
_SINGLE = (
    "client_max_body_size",
    "proxy_read_timeout",
    "proxy_connect_timeout",
    "keepalive_timeout",
    "client_body_timeout",
    "send_timeout",
    "worker_processes",
    "worker_connections",
    "gzip",
)
SETTINGS = frozenset(
    {*DEFAULTS, "server_name", "listen_port", "ssl_certificate", "ssl_certificate_key", "ssl_protocols"}
)


@dataclass(frozen=True)
class NginxParams:
    pid_file: Path
    error_log: Path
    access_log: Path
    temp_dir: Path  # client bodies and proxied answers too big for memory; subdirectories per kind
    static_dir: Path  # served at /static/ (the console's collectstatic target)
    https_port: int
    console_port: int  # gunicorn on 127.0.0.1
    server_name: str
    ssl_certificate: Path
    ssl_certificate_key: Path
    user: str = "www-data"  # the workers' user; the master stays root (it reads the key)
    mime_types: Path = Path("/etc/nginx/mime.types")
    settings: Mapping[str, str] = field(default_factory=dict)


def _setting(p: NginxParams, name: str) -> str:
    return p.settings.get(name, DEFAULTS[name])


def _word(name: str, value: object) -> str:
    return v.text(name, value, forbid=FORBID + " ", max_length=256)


def effective(p: NginxParams) -> dict[str, str]:
    """Every value the file is rendered with, checked, by the menu's names (gunicorn_workers excluded)."""
    unknown = sorted(set(p.settings) - SETTINGS)
    if unknown:
        raise v.ConfigValueError(unknown[0], "is not a setting of nginx.conf", unknown[0])
    out = {name: _word(name, _setting(p, name)) for name in _SINGLE}
    protocols = v.text("ssl_protocols", _setting(p, "ssl_protocols"), forbid=FORBID, max_length=256)
    out["ssl_protocols"] = " ".join(v.words("ssl_protocols", re.split(r"[,\s]+", protocols)))
    out["server_name"] = v.host("server_name", p.settings.get("server_name", p.server_name))
    port = p.settings.get("listen_port", str(p.https_port))
    if not port.isdigit():
        raise v.ConfigValueError("listen_port", "must be a port number", port)
    out["listen_port"] = str(v.port("listen_port", int(port)))
    out["ssl_certificate"] = v.path("ssl_certificate", p.settings.get("ssl_certificate", p.ssl_certificate))
    out["ssl_certificate_key"] = v.path(
        "ssl_certificate_key", p.settings.get("ssl_certificate_key", p.ssl_certificate_key)
    )
    return out


def render_nginx_conf(p: NginxParams) -> str:
    s = effective(p)
    tmp = v.path("temp_dir", p.temp_dir)
    static = v.path("static_dir", p.static_dir).rstrip("/") + "/"
    console = v.port("console_port", p.console_port)
    lines = [
        "daemon on;",
        f"user {v.word('user', p.user)};",
        f"pid {v.path('pid_file', p.pid_file)};",
        f"error_log {v.path('error_log', p.error_log)} warn;",
        f"worker_processes {s['worker_processes']};",
        "",
        "events {",
        f"    worker_connections {s['worker_connections']};",
        "}",
        "",
        "http {",
        f"    include {v.path('mime_types', p.mime_types)};",
        "    default_type application/octet-stream;",
        f"    access_log {v.path('access_log', p.access_log)};",
        f"    client_body_temp_path {tmp}/body;",
        f"    proxy_temp_path {tmp}/proxy;",
        f"    fastcgi_temp_path {tmp}/fastcgi;",
        f"    uwsgi_temp_path {tmp}/uwsgi;",
        f"    scgi_temp_path {tmp}/scgi;",
        "    sendfile on;",
        "    server_tokens off;",
        f"    keepalive_timeout {s['keepalive_timeout']};",
        f"    client_max_body_size {s['client_max_body_size']};",
        f"    client_body_timeout {s['client_body_timeout']};",
        f"    send_timeout {s['send_timeout']};",
        f"    gzip {s['gzip']};",
        "    gzip_types text/css text/plain application/javascript application/json image/svg+xml;",
        "",
        "    server {",
        f"        listen 127.0.0.1:{s['listen_port']} ssl;",
        f"        server_name {s['server_name']};",
        f"        ssl_certificate {s['ssl_certificate']};",
        f"        ssl_certificate_key {s['ssl_certificate_key']};",
        f"        ssl_protocols {s['ssl_protocols']};",
        "        ssl_session_cache shared:mailadmin_tls:1m;",
        "",
        f"        location = {HEALTH_PATH} {{",
        "            access_log off;",
        "            default_type text/plain;",
        "            @GENERATION@",
        '            return 200 "ok\\n";',
        "        }",
        "",
        "        location /static/ {",
        f"            alias {static};",
        "            expires 1h;",
        "        }",
        "",
        "        location / {",
        f"            proxy_pass http://127.0.0.1:{console};",
        # $http_host keeps the port: Django's CSRF check compares the Origin with it.
        "            proxy_set_header Host $http_host;",
        "            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
        "            proxy_set_header X-Forwarded-Proto $scheme;",
        "            proxy_set_header X-Real-IP $remote_addr;",
        "            proxy_redirect off;",
        f"            proxy_connect_timeout {s['proxy_connect_timeout']};",
        f"            proxy_read_timeout {s['proxy_read_timeout']};",
        "        }",
        "    }",
        "}",
    ]
    body = "\n".join(lines) + "\n"
    generation = hashlib.sha256(body.encode("utf-8")).hexdigest()[:16]
    body = body.replace("@GENERATION@", f'add_header {GENERATION_HEADER} "{generation}" always;')
    return with_header(body, source=SOURCE)


def render_gunicorn_env(settings: Mapping[str, str]) -> str:
    """GUNICORN_WORKERS=N for scripts/run.sh (read line by line there, never sourced)."""
    raw = v.text("gunicorn_workers", settings.get("gunicorn_workers", DEFAULTS["gunicorn_workers"]))
    if not raw.isdigit():
        raise v.ConfigValueError("gunicorn_workers", "must be a whole number", raw)
    workers = v.integer("gunicorn_workers", int(raw), minimum=1, maximum=64)
    return with_header(f"GUNICORN_WORKERS={workers}\n", source=SOURCE)


# --- reading a rendered file back (what the running nginx was given) ----------------------------------------
def generation(text: str) -> str | None:
    match = _GENERATION_LINE.search(text)
    return match["gen"] if match else None


def listen_port(text: str) -> int | None:
    match = _LISTEN_LINE.search(text)
    return int(match["port"]) if match else None


def server_name(text: str) -> str | None:
    match = _SERVER_NAME_LINE.search(text)
    return match["name"] if match else None


def certificate(text: str) -> str | None:
    match = _CERT_LINE.search(text)
    return match["path"] if match else None


def values_in(text: str, gunicorn_env: str | None = None) -> dict[str, str]:
    """The menu's parameters as a rendered nginx.conf (and gunicorn.env) set them."""
    found: dict[str, str] = {}
    for name in (*_SINGLE, "ssl_protocols", "ssl_certificate", "ssl_certificate_key", "server_name"):
        match = re.search(rf"^\s*{name} (?P<value>[^;]*);", text, re.MULTILINE)
        if match:
            found[name] = match["value"].strip()
    port = listen_port(text)
    if port is not None:
        found["listen_port"] = str(port)
    match = re.search(r"^GUNICORN_WORKERS=(?P<n>[0-9]+)$", gunicorn_env or "", re.MULTILINE)
    if match:
        found["gunicorn_workers"] = match["n"]
    return found
