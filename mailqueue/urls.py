"""URLs of the Mail Delivery menu: each view module keeps its own `urlpatterns`; this file only joins them."""

from __future__ import annotations

from mailqueue.disclaimers import views as disclaimers
from mailqueue.relayrules import views as relayrules
from mailqueue.views import queue, queue_ids

urlpatterns = [
    *queue.urlpatterns,
    *queue_ids.urlpatterns,
    *disclaimers.urlpatterns,
    *relayrules.urlpatterns,
]
