"""The nginx registry of the Configuration menu: the settings of the HTTPS front of the console (nginx.conf,
mailadmin/configfiles/nginx.py) and the number of gunicorn workers behind it (gunicorn.env, read by
scripts/run.sh).

Every name except gunicorn_workers is an nginx 1.22 directive of the same name (listen_port is the port of
the server's `listen`). A value replaces the renderer's; the renderer's values are the defaults.

The data table is laid out by hand (one parameter, then its help), hence `fmt: off`.
"""

from __future__ import annotations

import re

from django.utils.translation import gettext_lazy as _

from mailadmin.configfiles.registry import Group, Kind, Param, Registry

SITE, LIMITS, WORKERS = "site", "limits", "workers"

GROUPS = (
    Group(SITE, _("Site and TLS")),
    Group(LIMITS, _("Limits and timeouts")),
    Group(WORKERS, _("Workers")),
)

# nginx sizes: a number of bytes, or of kilobytes / megabytes / gigabytes with k, m or g
SIZE = re.compile(r"[0-9]{1,9}[kKmMgG]?")
TLS_PROTOCOL = re.compile(r"TLSv1\.[23]")
WORKER_PROCESSES = re.compile(r"auto|[1-9][0-9]{0,2}")
_ON_OFF = ("on", "off")
_SMH = "smh"

# fmt: off
PARAMS = (
    # --- site and TLS -----------------------------------------------------------------------------------
    Param("server_name", Kind.HOST, SITE, example="mail.example.org", help=_(
        "The host name under which browsers reach the console through nginx. nginx answers to it, and unless "
        "a certificate is set below, the console makes a self-signed certificate for exactly this name (and "
        "127.0.0.1) the moment the change is proposed. The name must also be among the console's allowed "
        "host names. Example: mail.example.org.")),
    Param("listen_port", Kind.NUMBER, SITE, unit="port", example="443", minimum=1, maximum=65535, help=_(
        "The TCP port on 127.0.0.1 where nginx accepts HTTPS connections. Another program must not use it "
        "already. Example: 443.")),
    Param("ssl_certificate", Kind.PATH, SITE, example="/etc/ssl/certs/mail.example.org.pem", help=_(
        "The certificate nginx shows to browsers, as a PEM file, followed by any intermediate certificates. "
        "Set it together with the key below; when neither is set, the self-signed certificate made for the "
        "server name is used. Example: /etc/ssl/certs/mail.example.org.pem.")),
    Param("ssl_certificate_key", Kind.PATH, SITE, example="/etc/ssl/private/mail.example.org.key", help=_(
        "The private key that belongs to the certificate above, as a PEM file without a passphrase. Only "
        "root should be able to read it. Example: /etc/ssl/private/mail.example.org.key.")),
    Param("ssl_protocols", Kind.LIST, SITE, example="TLSv1.2 TLSv1.3", pattern=TLS_PROTOCOL, help=_(
        "The TLS versions nginx agrees to speak, separated by spaces. Older versions than 1.2 are not "
        "offered: browsers no longer use them. Example: TLSv1.2 TLSv1.3.")),
    Param("gzip", Kind.BOOLEAN, SITE, example="on", bool_words=_ON_OFF, help=_(
        "Whether nginx compresses text answers (pages, style sheets, scripts) for browsers that accept it; "
        "it saves bandwidth at a small cost in processor time. Example: on.")),
    # --- limits and timeouts ----------------------------------------------------------------------------
    Param("client_max_body_size", Kind.TEXT, LIMITS, unit="bytes", example="10m", pattern=SIZE, help=_(
        "The largest request body nginx accepts, for example an uploaded file; a larger one is refused with "
        "413 before it reaches the console. A number of bytes, or with k, m or g for kilobytes, megabytes "
        "or gigabytes; 0 removes the limit. Example: 10m.")),
    Param("proxy_connect_timeout", Kind.TIME, LIMITS, unit="seconds", example="5s", minimum=1, maximum=75,
          time_units=_SMH, help=_(
        "How long nginx waits for the console to accept a connection before it answers 502. nginx allows "
        "at most 75 seconds. A bare number counts seconds; m and h mean minutes and hours. Example: 5s.")),
    Param("proxy_read_timeout", Kind.TIME, LIMITS, unit="seconds", example="60s", minimum=1,
          maximum=86400, time_units=_SMH, help=_(
        "How long nginx waits between two pieces of the console's answer before it gives up with 504; "
        "long reports need more. A bare number counts seconds; m and h mean minutes and hours. "
        "Example: 60s.")),
    Param("keepalive_timeout", Kind.TIME, LIMITS, unit="seconds", example="65s", minimum=0, maximum=3600,
          time_units=_SMH, help=_(
        "How long an idle browser connection stays open for the next request; 0 closes it after each "
        "answer. A bare number counts seconds. Example: 65s.")),
    Param("client_body_timeout", Kind.TIME, LIMITS, unit="seconds", example="60s", minimum=1,
          maximum=3600, time_units=_SMH, help=_(
        "How long nginx waits between two pieces of a request body (an upload) before it answers 408. "
        "A bare number counts seconds. Example: 60s.")),
    Param("send_timeout", Kind.TIME, LIMITS, unit="seconds", example="60s", minimum=1, maximum=3600,
          time_units=_SMH, help=_(
        "How long nginx waits for a slow browser to take the next piece of an answer before it closes the "
        "connection. A bare number counts seconds. Example: 60s.")),
    # --- workers ------------------------------------------------------------------------------------------
    Param("worker_processes", Kind.TEXT, WORKERS, example="auto", pattern=WORKER_PROCESSES, help=_(
        "How many nginx worker processes serve connections; auto starts one per processor core. "
        "Example: 2.")),
    Param("worker_connections", Kind.NUMBER, WORKERS, unit="connections", example="1024", minimum=16,
          maximum=65535, help=_(
        "How many connections one nginx worker may hold at once, counting those to the console: every "
        "proxied request uses two. Example: 1024.")),
    Param("gunicorn_workers", Kind.NUMBER, WORKERS, unit="processes", example="4", minimum=1, maximum=64,
          restart=True, help=_(
        "How many console (gunicorn) processes answer behind nginx; each handles one request at a time. "
        "Not an nginx setting: it is written to gunicorn.env, and takes effect when the console is started "
        "again (make stop, then make run). Example: 4.")),
)
# fmt: on

NGINX = Registry(
    service="nginx", title=_("Web server (nginx)"), file="nginx.conf", groups=GROUPS, params=PARAMS
)
