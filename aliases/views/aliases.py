"""Aliases in a domain: view, find, create, edit, delete (ALI-01 … ALI-04)."""

from __future__ import annotations

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
