"""A user's extra addresses and forwarding; a domain's catch-all and alias domains."""

from __future__ import annotations

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
