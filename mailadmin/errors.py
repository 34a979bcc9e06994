"""The one base class of every gateway error (directory, IMAP, Postfix).

Each gateway raises its own subclasses with a sentence a view can show as it is. `permanent=False` means
trying again later may succeed (server down, busy, timed out); jobs retry only those.
"""

from __future__ import annotations


class GatewayError(Exception):
    def __init__(self, message: str, permanent: bool = True) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent

    def __str__(self) -> str:
        return self.message
