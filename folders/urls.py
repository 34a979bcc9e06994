"""URLs of the Mail Folders menu: each view module keeps its own `urlpatterns`; this file only joins them."""

from __future__ import annotations

from folders.views import edit, permissions, tree, user

urlpatterns = [
    *tree.urlpatterns,
    *edit.urlpatterns,
    *permissions.urlpatterns,
    *user.urlpatterns,
]
