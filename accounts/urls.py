from __future__ import annotations

from django.urls import path

from accounts import views

urlpatterns = [
    path("object/", views.account_detail, name="account_detail"),
    path("password-reset/", views.account_password_reset, name="account_password_reset"),
]
