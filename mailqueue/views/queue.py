"""The mail queue: list, detail, actions (DLV-01, DLV-02)."""

from __future__ import annotations

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
