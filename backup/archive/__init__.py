"""The backup file: a tar stream, compressed by zstd, gzip or xz, with a manifest as its LAST member
(`layout`: names and limits; `writer`; `reader`).

Writing streams: each member goes through a hashing writer into the compressor's stdin, so nothing is held in
memory and the archive is written once. The manifest (what, when, versions, and the sha256 and size of every
member) is known only at the end, so it is the last member; a reader therefore verifies a file by reading it
whole once (`inspect`) before anything in it is used, and reads it a second time to restore
(docs/decisions/0014).

The file is written under a dot-name in the catalogue directory, fsynced, and renamed: a crash or a kill
leaves at most a `.…partial` file, which the catalogue never lists and the temp clean-up removes.

Reading trusts nothing: the compression is told by the first bytes; every member must be a regular file whose
name fits the layout we write (so no absolute path, no `..`, no link, no device can pass); member count,
expanded bytes and the compression ratio are capped while reading, not after.
"""

from backup.archive.layout import (
    CHUNK,
    COMPRESSIONS,
    FORMAT,
    MANIFEST,
    MEMBER_NAME,
    PAX_FLAGS,
    BackupRefused,
    Limits,
    Manifest,
    compression_of,
    file_sha256,
)
from backup.archive.reader import Entry, entries, inspect
from backup.archive.writer import Writer

__all__ = [
    "CHUNK",
    "COMPRESSIONS",
    "FORMAT",
    "MANIFEST",
    "MEMBER_NAME",
    "PAX_FLAGS",
    "BackupRefused",
    "Entry",
    "Limits",
    "Manifest",
    "Writer",
    "compression_of",
    "entries",
    "file_sha256",
    "inspect",
]
