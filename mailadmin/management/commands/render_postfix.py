"""manage.py render_postfix DIR: the `ldap:` tables of the directory contract and the main.cf / master.cf
lines that name them, for a Postfix the console did not start (docs/deploy.md, section 3)."""

from __future__ import annotations

import grp
import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from mailadmin import postfix
from mailadmin.configfiles import ConfigValueError
from mailadmin.configfiles.postfix_maps import MAIN_FRAGMENT, MASTER_FRAGMENT, PostfixMaps, write_postfix_maps


class Command(BaseCommand):
    help = (
        "Write every ldap: table Postfix needs into DIR (mode 0640, group postfix: they hold the bind "
        f"password), each proved with postmap -q, plus {MAIN_FRAGMENT} and {MASTER_FRAGMENT} to add to "
        "main.cf and master.cf. Values come from the settings unless given."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "dir", help="where the tables go and where main.cf will name them, e.g. /etc/postfix/mailadmin"
        )
        parser.add_argument("--ldap-uri", help="default: LDAP_URI")
        parser.add_argument("--base-dn", help="default: LDAP_BASE_DN")
        parser.add_argument(
            "--bind-dn", help="Postfix's bind account; default: cn=postfix,... in LDAP_SERVICE_DNS"
        )
        parser.add_argument(
            "--bind-password-file",
            help="file with the bind password ('-': standard input); default: LDAP_POSTFIX_PASSWORD",
        )
        parser.add_argument("--mailbox-domain", help="default: MAILBOX_DOMAIN")
        parser.add_argument(
            "--postfix-config-dir",
            help="the Postfix whose postmap proves the tables; default: POSTFIX_CONFIG_DIR",
        )
        parser.add_argument("--group", default="postfix", help="group of the table files (default: postfix)")

    def handle(self, *args: Any, **options: Any) -> None:
        group = str(options["group"])
        try:
            grp.getgrnam(group)
        except KeyError:
            raise CommandError(f"there is no group {group!r}") from None
        maps = PostfixMaps(
            server_uri=options["ldap_uri"] or str(settings.LDAP_URI),
            base_dn=options["base_dn"] or str(settings.LDAP_BASE_DN),
            bind_dn=options["bind_dn"] or _postfix_dn(),
            bind_pw=_password(options["bind_password_file"]),
            mailbox_domain=options["mailbox_domain"] or str(settings.MAILBOX_DOMAIN),
            table_dir=Path(options["dir"]).absolute(),
        )
        config_dir = Path(options["postfix_config_dir"] or str(settings.POSTFIX_CONFIG_DIR))
        try:
            written = write_postfix_maps(maps, config_dir=config_dir, group=group)
        except ConfigValueError as exc:
            raise CommandError(f"refused, nothing written: {exc}") from exc
        except postfix.PostfixError as exc:
            raise CommandError(f"Postfix did not accept a file (the old one stays): {exc}") from exc
        for path in written:
            self.stdout.write(f"wrote {path}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Add {maps.table_dir / MAIN_FRAGMENT} to main.cf (each line is one `postconf -e` argument) "
                f"and {maps.table_dir / MASTER_FRAGMENT} to master.cf, then `postfix reload`."
            )
        )


def _postfix_dn() -> str:
    dns = [str(dn) for dn in settings.LDAP_SERVICE_DNS]
    for dn in dns:
        if dn.lower().startswith("cn=postfix,"):
            return dn
    if not dns:
        raise CommandError("no --bind-dn and LDAP_SERVICE_DNS is empty")
    return dns[0]


def _password(path: str | None) -> str:
    if path is None:
        value = str(getattr(settings, "LDAP_POSTFIX_PASSWORD", "") or "")
        if not value:
            raise CommandError("give --bind-password-file (the password of the bind account)")
        return value
    try:
        if path == "-":
            text = sys.stdin.readline()
        else:
            # newline="": a carriage return stays what it is (and is refused), never becomes a line end
            with open(path, encoding="utf-8", newline="") as handle:
                text = handle.read()
    except OSError as exc:
        raise CommandError(f"cannot read the password file: {exc.strerror}") from exc
    except UnicodeDecodeError:
        raise CommandError("the password file is not UTF-8 text") from None  # the error would quote it
    # one final newline is how files end (echo, editors); any other line break is refused with the value
    return text[:-1] if text.endswith("\n") else text
