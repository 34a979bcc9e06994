"""System aliases, valid for every domain (ALI-05)."""

from __future__ import annotations

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
