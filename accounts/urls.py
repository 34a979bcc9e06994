from __future__ import annotations

from django.urls import path

from accounts.views import objects

urlpatterns = [
    path("object/", objects.account_detail, name="account_detail"),
    path("password-reset/", objects.account_password_reset, name="account_password_reset"),
]
