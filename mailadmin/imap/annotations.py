"""Folder types: Kolab's /shared/vendor/kolab/folder-type annotation, read and set with METADATA (RFC 5464),
which imapclient has no call for; the commands go through its raw command path with names quoted here."""

from __future__ import annotations

from mailadmin.directory.names import InvalidName
from mailadmin.imap.wire import IMAPClient, IMAPClientError, failure, parse_response, quote_name
from mailadmin.imap_names import FOLDER_TYPE_KEY, FOLDER_TYPES, ImapError


def get_folder_type(client: IMAPClient, mailbox: str, *, label: str) -> str | None:
    """The folder type of `mailbox` (the admin's name); None if unset. `label` names it in an error."""
    try:
        data = client._raw_command_untagged(  # noqa: SLF001
            b"GETMETADATA",
            [quote_name(mailbox), b"(" + FOLDER_TYPE_KEY.encode() + b")"],
            uid=False,
            response_name="METADATA",
        )
    except IMAPClientError as exc:
        raise ImapError(f"Cyrus did not report the folder type of {label}: {failure(exc)}") from exc
    for item in data:
        if item is None:
            continue
        parsed = parse_response(item if isinstance(item, list) else [item])
        values = parsed[1] if len(parsed) > 1 and isinstance(parsed[1], tuple) else ()
        for key, value in zip(values[::2], values[1::2], strict=False):
            if isinstance(key, bytes) and key.decode().lower() == FOLDER_TYPE_KEY and value is not None:
                return value.decode() if isinstance(value, bytes) else str(value)
    return None


def set_folder_type(client: IMAPClient, mailbox: str, value: str, *, label: str) -> None:
    """SETMETADATA of the folder type; `label` names the folder in an error."""
    if value not in FOLDER_TYPES:
        raise InvalidName("Not a known folder type.", "folder_type")
    entry = FOLDER_TYPE_KEY.encode() + b' "' + value.encode() + b'"'
    try:
        client._raw_command_untagged(  # noqa: SLF001
            b"SETMETADATA", [quote_name(mailbox), b"(" + entry + b")"], uid=False
        )
    except IMAPClientError as exc:
        raise ImapError(f"Cyrus did not set the folder type of {label}: {failure(exc)}") from exc
