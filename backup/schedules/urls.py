from __future__ import annotations

from django.urls import URLPattern, path

from backup.schedules import views

urlpatterns: list[URLPattern] = [
    path("", views.schedule_list, name="schedule_list"),
    path("new/", views.schedule_create_view, name="schedule_create"),
    path("<int:pk>/", views.schedule_edit, name="schedule_edit"),
    path("<int:pk>/delete/", views.schedule_delete_view, name="schedule_delete"),
    path("<int:pk>/enable/", views.schedule_toggle, name="schedule_toggle"),
    path("<int:pk>/run/", views.schedule_run, name="schedule_run"),
]
