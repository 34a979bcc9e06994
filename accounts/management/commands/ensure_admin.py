from __future__ import annotations

import os
import secrets
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from accounts import services
from mailadmin import directory
from mailadmin.actor import Actor
from mailadmin.directory import dit


class Command(BaseCommand):
    help = (
        "Create the `admin` manager account if it does not exist (ACC-15). Its password comes from "
        "MAILADMIN_ADMIN_PASSWORD or is generated and printed once; it must be changed at first login."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        dn = dit.manager_dn()
        try:
            # Directories made before the administrators' policy existed get it, and so do their admins.
            if directory.admin_policy_ensure():
                self.stdout.write("administrators' password policy (no lockout): added")
            for admin_dn in directory.administrators():
                directory.policy_assign(admin_dn, administrator=True)
            if directory.get_entry(dn, ["uid"]) is not None:
                self.stdout.write("admin account: exists")
                return
            given = os.environ.get("MAILADMIN_ADMIN_PASSWORD", "")
            password = given or secrets.token_urlsafe(12)
            actor = Actor.system("install")
            services.user_create(
                actor=actor,
                container_dn=dit.admins_dn(),
                uid="admin",
                password=password,
                last_name="Administrator",
                first_name="Mail",
                create_mailbox=False,
            )
            services.administrator_add(actor=actor, account_dn=dn)
            directory.password_reset_required(dn)
        except directory.DirectoryError as exc:
            raise CommandError(f"cannot create the admin account: {exc}") from exc
        if given:
            self.stdout.write("admin account: created with the password from MAILADMIN_ADMIN_PASSWORD")
        else:
            # Printed once, never stored by the console: slapd keeps only its hash.
            self.stdout.write(
                self.style.WARNING(f"admin account created. Login: admin  password: {password}")
            )
        self.stdout.write("The password must be changed at the first login.")
