"""URLs of the mail archive import (included at tools/archives/ by mailadmin/urls.py)."""

from __future__ import annotations

from django.urls import path

from migration.archives import views

urlpatterns = [
    path("", views.mail_import, name="mail_import"),
    path("mine/", views.my_mail_import, name="my_mail_import"),
    path("mine/<uuid:job_id>/", views.my_mail_import_status, name="my_mail_import_status"),
    path("mine/<uuid:job_id>/cancel/", views.my_mail_import_cancel, name="my_mail_import_cancel"),
]
