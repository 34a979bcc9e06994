"""The menu of the manual (Accounts, Aliases, Mail Folders, Mail Delivery, Configuration, Tools, System,
Web Client), filtered by what the person may open. Items whose page is not built yet lead to a page that
says so, with the manual's capability ID."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from mailadmin.actor import Actor
from mailadmin.permissions import Level, _level_ok


@dataclass(frozen=True)
class Item:
    slug: str
    title: str | Promise
    level: Level
    ref: str = ""  # MANUAL-MAP ID(s)
    url_name: str = ""  # a built page; empty = "not built yet"
    min_rank: int = 0  # on top of `level`: e.g. 2 = domain administrators and up (see Roles.rank)

    @property
    def built(self) -> bool:
        """A page is built when its URL name is registered (menu items are named before their pages)."""
        return bool(self.url_name) and _resolved(self.url_name) is not None


@lru_cache(maxsize=256)
def _resolved(url_name: str) -> str | None:
    # The URLconf does not change while the process runs; the menu asks on every page.
    try:
        return reverse(url_name)
    except NoReverseMatch:
        return None


@dataclass(frozen=True)
class Section:
    slug: str
    title: str | Promise
    items: tuple[Item, ...]


MENU: tuple[Section, ...] = (
    Section(
        "accounts",
        _("Accounts"),
        (
            Item("browser", _("Account browser"), Level.DELEGATED, "ACC-01…ACC-11", "account_browser"),
            Item("create-domain", _("Create Domain"), Level.ADMIN, "ACC-02", "domain_create"),
            Item("search", _("Search accounts"), Level.DELEGATED, "ACC-09", "account_search"),
            Item("administrators", _("Administrators"), Level.ADMIN, "ACC-12", "administrators"),
            Item("domain-admins", _("Domain administrators"), Level.DELEGATED, "ACC-13", "domain_admins"),
            Item("group-admins", _("Group administrators"), Level.DELEGATED, "ACC-14", "group_admins"),
            Item("reconcile", _("Drift check"), Level.ADMIN, "ACC-07", "reconcile"),
            Item("password", _("Change my password"), Level.USER, "ACC-16", "password_change"),
        ),
    ),
    Section(
        "aliases",
        _("Aliases"),
        (
            # any user: an alias's owners reach their aliases here (the pages list only what they may see)
            Item("view", _("View aliases"), Level.USER, "ALI-01, ALI-04", "alias_list"),
            Item("find", _("Find aliases"), Level.USER, "ALI-02", "alias_find"),
            Item("create", _("Create alias"), Level.DELEGATED, "ALI-03", "alias_create"),
            Item("system", _("System aliases"), Level.ADMIN, "ALI-05", "system_aliases"),
            # domain admins too, for their own domains (group administrators have no alias rights)
            Item("explain", _("Explain this address"), Level.DELEGATED, "ALI-X1", "explain_address", 2),
            Item("forwarding", _("My forwarding"), Level.USER, "ALI-X2", "my_forwarding"),
        ),
    ),
    Section(
        "folders",
        _("Mail Folders"),
        (
            Item("tree", _("View folders"), Level.ADMIN, "FLD-01", "folders_tree"),
            Item("create", _("Create folder"), Level.ADMIN, "FLD-02", "folders_create"),
            Item("permissions", _("Permissions"), Level.ADMIN, "FLD-04", "folders_permissions"),
        ),
    ),
    Section(
        "delivery",
        _("Mail Delivery"),
        (
            Item("queue", _("Mail queue"), Level.DELEGATED, "DLV-01, DLV-02", "queue_list"),
            Item("disclaimers", _("Disclaimers"), Level.ADMIN, "DLV-03", "disclaimers"),
            Item("relay-rules", _("SMTP relay rules"), Level.ADMIN, "DLV-04", "relay_rules"),
        ),
    ),
    Section(
        "configuration",
        _("Configuration"),
        (
            Item("overview", _("Services"), Level.ADMIN, "CFG-01", "config_overview"),
            Item("postfix", _("Postfix"), Level.ADMIN, "CFG-01", "config_postfix"),
            Item("cyrus", _("Cyrus IMAP"), Level.ADMIN, "CFG-01", "config_cyrus"),
            Item("openldap", _("OpenLDAP"), Level.ADMIN, "CFG-01", "config_slapd"),
            Item("webserver", _("Web server"), Level.ADMIN, "CFG-01", "config_nginx"),
            Item("ftp", _("Free/busy FTP"), Level.ADMIN, "CFG-01", "config_proftpd"),
            Item("help", _("Help browser"), Level.ADMIN, "CFG-06", "config_help"),
            Item("uce", _("UCE controls"), Level.ADMIN, "CFG-02", "config_uce"),
            Item("content-filter", _("Content filtering"), Level.ADMIN, "CFG-03"),
            Item("replication", _("LDAP replication"), Level.ADMIN, "CFG-04"),
            Item("distributed", _("Distributed mail"), Level.ADMIN, "CFG-05"),
        ),
    ),
    Section(
        "tools",
        _("Tools"),
        (
            Item("check", _("Check the mail system"), Level.ADMIN, "", "checkstack"),
            Item("jobs", _("Jobs"), Level.DELEGATED, "", "job_list"),
            Item("audit", _("Audit log"), Level.DELEGATED, "", "audit_list"),
            Item("backup", _("Backup & restore"), Level.DELEGATED, "TLS-06", "backup_index", 2),
            Item("schedule", _("Scheduled tasks"), Level.ADMIN, "TLS-07", "schedule_list"),
            Item("migration", _("Migration"), Level.ADMIN, "TLS-01, TLS-02"),
            # domain and group administrators import into their own domains or group
            Item("ldif", _("Import accounts"), Level.DELEGATED, "TLS-03", "import_index"),
            Item("mail-import", _("Import mail archive"), Level.DELEGATED, "TLS-02", "mail_import"),
            Item("my-mail-import", _("Import my mail archive"), Level.USER, "TLS-05", "my_mail_import"),
            Item("statistics", _("Statistics"), Level.ADMIN, "TLS-09"),
            Item("logs", _("Logging"), Level.ADMIN, "TLS-10"),
            Item("cyrus-recovery", _("Cyrus recovery"), Level.ADMIN, "TLS-08", "cyrus_recovery"),
        ),
    ),
    Section(
        "system",
        _("System"),
        (
            Item("status", _("Status"), Level.DELEGATED, "", "dashboard"),
            Item("preflight", _("Installation checks"), Level.ADMIN, "SYS-02", "preflight"),
            Item("languages", _("Languages"), Level.USER, "SYS-01", "languages"),
        ),
    ),
    Section(
        "webclient",
        _("Web Client"),
        (
            Item("open", _("Open the web client"), Level.USER, "WEB-01"),
            Item("access", _("Web Client access"), Level.DELEGATED, "WEB-02"),
        ),
    ),
)


def find_item(section: str, slug: str) -> tuple[Section, Item] | None:
    for sec in MENU:
        if sec.slug == section:
            for item in sec.items:
                if item.slug == slug:
                    return sec, item
    return None


def item_url(section: Section, item: Item) -> str:
    return _item_url(section.slug, item.slug, item.url_name)


@lru_cache(maxsize=256)
def _item_url(section: str, slug: str, url_name: str) -> str:
    url = _resolved(url_name) if url_name else None
    if url is not None:
        return url
    return reverse("placeholder", kwargs={"section": section, "slug": slug})


def visible_menu(actor: Actor | None) -> list[dict[str, Any]]:
    menu = []
    for section in MENU:
        items = [
            {"title": item.title, "url": item_url(section, item), "built": item.built, "slug": item.slug}
            for item in section.items
            if _level_ok(actor, item.level) and (actor is None or actor.roles.rank >= item.min_rank)
        ]
        if items:
            menu.append({"slug": section.slug, "title": section.title, "items": items})
    return menu


def menu(request: HttpRequest) -> dict[str, Any]:
    """Template context processor."""
    actor = getattr(request, "actor", None)
    if actor is None:
        return {"menu": []}
    # A callable: the template calls it only when the cached menu fragment has to be rendered again.
    return {"menu": lambda: visible_menu(actor), "menu_version": menu_version(), "actor": actor}


@lru_cache(maxsize=1)
def menu_version() -> str:
    """Part of the menu's cache key: a release with other items, or pages newly built, gets a fresh menu."""
    shape = [(s.slug, [(i.slug, i.level, i.min_rank, item_url(s, i)) for i in s.items]) for s in MENU]
    return hashlib.sha256(repr(shape).encode()).hexdigest()[:12]
