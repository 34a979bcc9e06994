"""URLs of the Accounts menu: each view module keeps its own `urlpatterns`; this file only joins them."""

from __future__ import annotations

from django.urls import path

from accounts.views import admins, browser, containers, export, objects, reconcile, search, users

urlpatterns = [
    path("object/", objects.account_detail, name="account_detail"),
    path("password-reset/", objects.account_password_reset, name="account_password_reset"),
    *browser.urlpatterns,
    *containers.urlpatterns,
    *users.urlpatterns,
    *admins.urlpatterns,
    *search.urlpatterns,
    *export.urlpatterns,
    *reconcile.urlpatterns,
]
