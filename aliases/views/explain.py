"""Explain this address: how Postfix will treat it, asked of Postfix itself."""

from __future__ import annotations

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
