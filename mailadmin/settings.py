"""Settings for mailadmin. One file, every value from the environment (see docs/deploy.md).

The private stack (`manage.py stack start`) writes `var/stack.env`; it is read here for any variable the
environment does not already set, so `manage.py` finds the daemons without further setup.
"""

from __future__ import annotations

import ipaddress
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from mailadmin.env import envbool, envint, envlist, envsecret, envstr, load_env_file

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(envstr("MAILADMIN_VAR_DIR", str(BASE_DIR / "var")))
if not envbool("MAILADMIN_IGNORE_STACK_ENV"):
    # DATABASE_URL stays out: the console's own database is SQLite under var/ unless DATABASE_URL is set
    # in the environment; the stack's PostgreSQL is there for tests and for whoever points at it.
    load_env_file(
        Path(envstr("MAILADMIN_STACK_ENV", str(VAR_DIR / "stack.env"))), exclude=frozenset({"DATABASE_URL"})
    )


def _secret_key() -> str:
    key = envsecret("MAILADMIN_SECRET_KEY")
    if key:
        return key
    # Embedded default: a random key kept under var/, made on first use.
    path = VAR_DIR / "secret_key"
    if path.is_file():
        return path.read_text(encoding="utf-8").strip()
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    path.touch(mode=0o600)
    path.write_text(key, encoding="utf-8")
    return key


SECRET_KEY = _secret_key()
DEBUG = envbool("MAILADMIN_DEBUG")
ALLOWED_HOSTS = envlist("MAILADMIN_ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = envlist("MAILADMIN_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "django_celery_beat",
    "django_celery_results",
    "mailadmin",
    "mailadmin.audit",
    "mailadmin.jobs",
    "accounts",
    "aliases",
    "folders",
    "mailqueue",
    "mailqueue.disclaimers",
    "mailqueue.relayrules",
    "configuration",
    "backup",
    "migration",
    "monitoring",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "mailadmin.middleware.ActorMiddleware",
    "mailadmin.middleware.GatewayUnavailableMiddleware",
]

ROOT_URLCONF = "mailadmin.urls"
WSGI_APPLICATION = "mailadmin.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "mailadmin.navigation.menu",
            ],
        },
    },
]


def _database(url: str) -> dict[str, Any]:
    if not url:
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": VAR_DIR / "mailadmin.sqlite3"}
    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql"}:
        raise ValueError(
            f"DATABASE_URL: unsupported scheme {parts.scheme!r} (postgres:// or empty for SQLite)"
        )
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parts.path.lstrip("/")),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(parts.port or ""),
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": True,
    }


DATABASES = {"default": _database(envsecret("DATABASE_URL"))}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# redis://:<password>@host:port/0 — Redis requires a password (the stack's and docker-compose's do);
# REDIS_URL_FILE names a file holding the URL.
REDIS_URL = envsecret("REDIS_URL")
# The cache (login throttle, ...) has its own Redis database: clearing it never touches Celery's queue.
CACHE_URL = envstr("MAILADMIN_CACHE_URL", REDIS_URL.rsplit("/", 1)[0] + "/1" if REDIS_URL else "")
if CACHE_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- the daemons -------------------------------------------------------------------------------------------
# Everything is a setting so the console can run the private stack or a system install (docs/deploy.md).
LDAP_URI = envstr("LDAP_URI", "ldap://127.0.0.1:10389")
LDAP_BASE_DN = envstr("LDAP_BASE_DN", "dc=mailadmin")
LDAP_ADMIN_DN = envstr("LDAP_ADMIN_DN", f"cn=manager,{LDAP_BASE_DN}")
LDAP_ADMIN_PASSWORD = envsecret("LDAP_ADMIN_PASSWORD")
LDAP_TIMEOUT = envint("LDAP_TIMEOUT", 10)
LDAP_STARTTLS = envbool("LDAP_STARTTLS")
# cn=config, where the console rewrites the access rules of private containers (docs/deploy.md). Empty DN:
# SASL EXTERNAL over ldapi:// (root on the slapd host); otherwise a simple bind allowed to write cn=config.
LDAP_CONFIG_URI = envstr("LDAP_CONFIG_URI", envstr("LDAPI_URI"))
LDAP_CONFIG_DN = envstr("LDAP_CONFIG_DN")
LDAP_CONFIG_PASSWORD = envsecret("LDAP_CONFIG_PASSWORD")
# The daemons' bind accounts read everything, private containers included. `;`-separated: DNs hold commas.
LDAP_SERVICE_DNS = [
    dn.strip()
    for dn in envstr(
        "LDAP_SERVICE_DNS", f"cn=postfix,ou=services,{LDAP_BASE_DN};cn=saslauthd,ou=services,{LDAP_BASE_DN}"
    ).split(";")
    if dn.strip()
]

# Postfix's own read-only bind account (the first of LDAP_SERVICE_DNS): `manage.py render_postfix` writes its
# password into the ldap: tables of a system Postfix (docs/deploy.md).
LDAP_POSTFIX_PASSWORD = envsecret("LDAP_POSTFIX_PASSWORD")

SMTP_HOST = envstr("SMTP_HOST", "127.0.0.1")
SMTP_PORT = envint("SMTP_PORT", 10025)
IMAP_HOST = envstr("IMAP_HOST", "127.0.0.1")
IMAP_PORT = envint("IMAP_PORT", 10143)
IMAP_SSL = envbool("IMAP_SSL")
CYRUS_ADMIN = envstr("CYRUS_ADMIN", "cyrus")
CYRUS_ADMIN_PASSWORD = envsecret("CYRUS_ADMIN_PASSWORD")
CYRUS_CONF = envstr("CYRUS_CONF", "/etc/imapd.conf")
CYRUS_BIN_DIR = envstr("CYRUS_BIN_DIR", "/usr/lib/cyrus/bin")
POSTFIX_CONFIG_DIR = envstr("POSTFIX_CONFIG_DIR", "/etc/postfix")
MAILBOX_DOMAIN = envstr("MAILADMIN_MAILBOX_DOMAIN", "mailbox.internal")
CONSOLE_URL = envstr("CONSOLE_URL", "http://127.0.0.1:8000/")
STACK_DIR = envstr("STACK_DIR")
# The content filter (CFG-03): amavisd's and clamd's loopback ports (0: none, the dashboard leaves them
# out), amavisd's log and Postfix's, which mailadmin/verdicts.py counts.
AMAVIS_PORT = envint("AMAVIS_PORT", 0)
CLAMD_PORT = envint("CLAMD_PORT", 0)
AMAVIS_LOG = envstr("AMAVIS_LOG")
POSTFIX_MAILLOG = envstr("POSTFIX_MAILLOG")

# --- login -------------------------------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = ["mailadmin.directory.djangoauth.DirectoryBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"
LOGIN_THROTTLE_FAILURES = envint("MAILADMIN_LOGIN_THROTTLE_FAILURES", 5)
LOGIN_THROTTLE_WINDOW = envint("MAILADMIN_LOGIN_THROTTLE_WINDOW", 900)
LOGIN_THROTTLE_IP_FAILURES = envint("MAILADMIN_LOGIN_THROTTLE_IP_FAILURES", 20)


def _proxies(entries: list[str]) -> list[str]:
    """MAILADMIN_TRUSTED_PROXIES: comma-separated addresses or networks whose X-Forwarded-For is believed."""
    for entry in entries:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError as exc:
            raise ValueError(f"MAILADMIN_TRUSTED_PROXIES: {entry!r} is not an address or network") from exc
    return entries


TRUSTED_PROXIES = _proxies(envlist("MAILADMIN_TRUSTED_PROXIES"))
SESSION_COOKIE_AGE = envint("MAILADMIN_SESSION_SECONDS", 8 * 3600)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

# --- jobs --------------------------------------------------------------------------------------------------
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = "django-db"
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ALWAYS_EAGER = envbool("MAILADMIN_JOBS_EAGER", default=not REDIS_URL)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
JOB_RESULT_DIR = VAR_DIR / "jobs"

# --- mail archive imports (docs/mail-import.md) ------------------------------------------------------------
# Each import works in its own directory under MAIL_IMPORT_DIR (mode 0700), removed when the job ends.
MAIL_IMPORT_DIR = Path(envstr("MAILADMIN_MAIL_IMPORT_DIR", str(VAR_DIR / "mail-imports")))
MAIL_IMPORT_MAX_UPLOAD = envint("MAILADMIN_MAIL_IMPORT_MAX_UPLOAD", 4 * 1024**3)  # bytes, administrators
MAIL_IMPORT_USER_MAX_UPLOAD = envint("MAILADMIN_MAIL_IMPORT_USER_MAX_UPLOAD", 1024**3)  # bytes, self-service
MAIL_IMPORT_MAX_EXPANDED = envint("MAILADMIN_MAIL_IMPORT_MAX_EXPANDED", 8 * 1024**3)  # bytes once unpacked
MAIL_IMPORT_MAX_MEMBERS = envint("MAILADMIN_MAIL_IMPORT_MAX_MEMBERS", 200_000)
MAIL_IMPORT_MAX_RATIO = envint("MAILADMIN_MAIL_IMPORT_MAX_RATIO", 100)  # expanded / packed size
MAIL_IMPORT_MAX_MESSAGE = envint("MAILADMIN_MAIL_IMPORT_MAX_MESSAGE", 64 * 1024**2)  # larger ones are refused
MAIL_IMPORT_READPST = envstr("MAILADMIN_MAIL_IMPORT_READPST", "/usr/bin/readpst")
MAIL_IMPORT_READPST_SECONDS = envint("MAILADMIN_MAIL_IMPORT_READPST_SECONDS", 1800)
MAIL_IMPORT_READPST_USER = envstr("MAILADMIN_MAIL_IMPORT_READPST_USER", "nobody")  # when run as root

# --- backups (backup/, docs/backup.md) ----------------------------------------------------------------------
# The catalogue: complete backup files only (a backup is written under a dot-name and renamed when done).
BACKUP_DIR = Path(envstr("MAILADMIN_BACKUP_DIR", str(VAR_DIR / "backups")))
BACKUP_MAX_UPLOAD = envint("MAILADMIN_BACKUP_MAX_UPLOAD", 20 * 1024**3)  # bytes of one uploaded file
BACKUP_MAX_EXPANDED = envint("MAILADMIN_BACKUP_MAX_EXPANDED", 200 * 1024**3)  # bytes once decompressed
BACKUP_MAX_MEMBERS = envint("MAILADMIN_BACKUP_MAX_MEMBERS", 5_000_000)
BACKUP_MAX_RATIO = envint("MAILADMIN_BACKUP_MAX_RATIO", 200)  # expanded / packed size, above 16 MiB
BACKUP_COMPRESSION = envstr("MAILADMIN_BACKUP_COMPRESSION", "zstd")  # the form's default

# --- directory imports (migration/, docs/imports.md) --------------------------------------------------------
# Uploads wait here, one directory per import (0700, files 0600), until the import ends or expires.
IMPORT_DIR = Path(envstr("MAILADMIN_IMPORT_DIR", str(VAR_DIR / "imports")))
IMPORT_MAX_BYTES = envint("MAILADMIN_IMPORT_MAX_BYTES", 50 * 1024 * 1024)  # all files of one import together
IMPORT_MAX_ENTRIES = envint("MAILADMIN_IMPORT_MAX_ENTRIES", 100_000)
IMPORT_KEEP_HOURS = envint("MAILADMIN_IMPORT_KEEP_HOURS", 24)  # a checked, unconfirmed import expires then

# --- web ---------------------------------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("de", "Deutsch")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = envstr("MAILADMIN_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG and envbool("MAILADMIN_MANIFEST_STATIC", True)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# --- security ----------------------------------------------------------------------------------------------
# MAILADMIN_TLS=1 (the default) is the production shape: the console sits behind TLS.
# `make run` serves plain HTTP on loopback and sets MAILADMIN_TLS=0.
TLS = envbool("MAILADMIN_TLS", True)
SESSION_COOKIE_SECURE = TLS
CSRF_COOKIE_SECURE = TLS
SECURE_SSL_REDIRECT = TLS and envbool("MAILADMIN_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = envint("MAILADMIN_HSTS_SECONDS", 31536000) if TLS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("MAILADMIN_HSTS_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = envbool("MAILADMIN_HSTS_PRELOAD", False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if envbool("MAILADMIN_BEHIND_PROXY") else None
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SILENCED_SYSTEM_CHECKS = [
    # HSTS preload is a public, hard-to-undo commitment for a whole domain; an intranet console opts in
    # with MAILADMIN_HSTS_PRELOAD=1 rather than by default.
    "security.W021",
]

# Errors (every 500 with its traceback, failed jobs) also go to a file: under `make run` gunicorn runs
# detached and stderr is easy to lose. WatchedFileHandler: several processes append; logrotate may move it.
LOG_DIR = Path(envstr("MAILADMIN_LOG_DIR", str(VAR_DIR / "log")))


def _log_handlers() -> dict[str, dict[str, Any]]:
    handlers: dict[str, dict[str, Any]] = {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"}
    }
    try:
        LOG_DIR.mkdir(parents=True, exist_ok=True)
    except OSError:
        return handlers  # a read-only deployment: stderr only (the container's log)
    handlers["errors"] = {
        "class": "logging.handlers.WatchedFileHandler",
        "filename": str(LOG_DIR / "errors.log"),
        "formatter": "plain",
        "level": "ERROR",
    }
    return handlers


_HANDLERS = _log_handlers()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(process)d %(levelname)s %(name)s %(message)s"}},
    "handlers": _HANDLERS,
    "root": {"handlers": list(_HANDLERS), "level": envstr("MAILADMIN_LOG_LEVEL", "INFO")},
    # django-auth-ldap warns for every optional attribute an entry lacks (givenName, mail): noise.
    "loggers": {"django_auth_ldap": {"level": "ERROR"}},
}
