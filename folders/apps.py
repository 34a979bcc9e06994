from __future__ import annotations

from django.apps import AppConfig


class FoldersConfig(AppConfig):
    name = "folders"
    label = "folders"
    verbose_name = "Mail Folders"
    default_auto_field = "django.db.models.BigAutoField"
