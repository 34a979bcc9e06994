"""The archive upload: streamed chunk by chunk into the import's directory, never held in memory, and cut
off at a size cap. Django's default handlers would keep small files in memory and big ones in the system's
temporary directory; this one writes only `<import dir>/upload` (O_EXCL | O_NOFOLLOW, mode 0600).

Set it before the request body is read (`request.upload_handlers = [...]`, in a csrf_exempt view that
checks the token itself afterwards: CsrfViewMiddleware would otherwise read the body first).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, SkipFile, StopFutureHandlers, StopUpload
from django.http import HttpRequest

FIELD = "archive"


class CappedArchiveUpload(FileUploadHandler):
    chunk_size = 1024 * 1024

    def __init__(self, request: HttpRequest, target: Path, cap: int) -> None:
        super().__init__(request)
        self.target = target
        self.cap = cap
        self.size = 0
        self.too_large = False
        self.received = False
        self._fd: int | None = None

    def new_file(self, field_name: str, file_name: str, *args: Any, **kwargs: Any) -> None:
        super().new_file(field_name, file_name, *args, **kwargs)
        if field_name != FIELD or self.received or self.too_large:
            raise SkipFile  # one archive per upload; any other file field is dropped unread
        self.received = True
        self._fd = os.open(self.target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        raise StopFutureHandlers

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        if self._fd is None:
            return None
        self.size += len(raw_data)
        if self.size > self.cap:
            self.too_large = True
            self._discard()
            raise StopUpload(connection_reset=False)
        view = memoryview(raw_data)
        while view:
            view = view[os.write(self._fd, view) :]
        return None

    def file_complete(self, file_size: int) -> UploadedFile | None:
        if self._fd is None:
            return None
        os.close(self._fd)
        self._fd = None
        return UploadedFile(file=None, name=self.file_name, size=file_size, content_type=self.content_type)

    def upload_interrupted(self) -> None:
        self._discard()

    def _discard(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        with contextlib.suppress(FileNotFoundError):
            self.target.unlink()
