"""Receiving uploaded files (an import's, a backup set): straight into their own directory, nowhere else.

Django would keep a small upload in memory and a large one in the system's temp directory; an import's
files hold clear passwords and a backup holds everything, and both may be large, so the upload views put
this handler in place of Django's (before the request body is read): each expected file is written as
`<slot>.upload` (mode 0600) into the upload's own directory (mode 0700; `IMPORT_DIR/<run id>/`,
`BACKUP_DIR/.incoming/<id>/`) while it arrives, counted against a cap for all files together. A file over
the cap is deleted at once and the rest of it skipped; files the form does not expect are skipped unread.
The client's file name is kept for display only.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, SkipFile

MAX_NAME = 200


class StoredUpload(UploadedFile):
    """A file the handler wrote to disk; `path` is where, `name` what the browser called it."""

    def __init__(self, path: Path, name: str, size: int) -> None:
        super().__init__(file=None, name=name, content_type="application/octet-stream", size=size)
        self.path = path


def display_name(name: str | None) -> str:
    """The browser's file name without directories or control characters, for the report's heading."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    clean = "".join(ch for ch in base if ch.isprintable())
    return clean[:MAX_NAME] or "upload"


def make_private_dir(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.parent.chmod(0o700)
    path.mkdir(mode=0o700, exist_ok=True)
    path.chmod(0o700)


class ImportUploadHandler(FileUploadHandler):
    """Used by the imports (migration/) and the backup upload (backup/)."""

    chunk_size = 64 * 1024

    def __init__(self, request: Any, *, directory: Path, slots: Iterable[str], max_bytes: int) -> None:
        super().__init__(request)
        self.directory = directory
        self.slots = frozenset(slots)
        self.max_bytes = max_bytes
        self.total = 0
        self.too_big = False
        self.stored: dict[str, StoredUpload] = {}
        self.out: Any = None  # not `file`: Django closes a handler's `file` itself, even when it is None
        self.path: Path | None = None

    def new_file(self, field_name: str, file_name: str, *args: Any, **kwargs: Any) -> None:
        super().new_file(field_name, file_name, *args, **kwargs)
        if field_name not in self.slots or field_name in self.stored or self.too_big:
            raise SkipFile
        make_private_dir(self.directory)
        self.path = self.directory / f"{field_name}.upload"
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW
        self.out = os.fdopen(os.open(self.path, flags, 0o600), "wb")

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        self.total += len(raw_data)
        if self.total > self.max_bytes:
            self.too_big = True
            self._drop()
            raise SkipFile
        self.out.write(raw_data)
        return None

    def file_complete(self, file_size: int) -> StoredUpload | None:
        if self.out is None or self.path is None:
            return None
        self.out.close()
        self.out = None
        upload = StoredUpload(self.path, display_name(self.file_name), file_size)
        self.stored[self.field_name] = upload
        return upload

    def upload_interrupted(self) -> None:
        self._drop()

    def _drop(self) -> None:
        if self.out is not None:
            self.out.close()
            self.out = None
        if self.path is not None:
            self.path.unlink(missing_ok=True)
            self.path = None
