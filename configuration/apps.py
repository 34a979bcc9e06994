from __future__ import annotations

from django.apps import AppConfig


class ConfigurationConfig(AppConfig):
    name = "configuration"
    label = "configuration"
    verbose_name = "Configuration"
    default_auto_field = "django.db.models.BigAutoField"
