"""Result rows of the long lists (search, account browser) rendered in Python.

Fifty rows through the template engine cost about as much as the rest of the page (a variable lookup,
an autoescape and a localize call per cell); here each cell is one `escape`. The markup is the same the
templates produced, and every value is escaped: only this module's own literal tags are unescaped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from html import escape
from typing import Any

from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _


def _e(value: Any) -> str:
    return escape(str(value), quote=True)


def _empty(colspan: int, text: str) -> SafeString:
    return mark_safe(f'<tr><td colspan="{colspan}" class="muted">{_e(text)}</td></tr>')  # noqa: S308


def search_rows(rows: Iterable[Mapping[str, Any]]) -> SafeString:
    """The <tr> elements of the account search's result table."""
    select, disabled = _e(_("Select")), _e(_("disabled"))
    out = []
    for row in rows:
        name = _e(row["cn"] or row["dn"])
        state = f'<span class="tag">{disabled}</span>' if not row["enabled"] else ""
        if row["quota"]:
            state += f' <span class="muted">{_e(row["quota"])} KiB</span>'
        out.append(
            f'<tr><td><input type="checkbox" name="dn" value="{_e(row["dn"])}" id="{_e(row["id"])}">'
            f'<label for="{_e(row["id"])}" class="visually-hidden">{select} {name}</label></td>'
            f'<td><a href="{_e(row["url"])}">{name}</a></td>'
            f"<td>{_e(row['uid'])}</td><td>{_e(row['mail'])}</td><td>{_e(row['kind'])}</td>"
            f"<td>{state}</td></tr>\n"
        )
    if not out:
        return _empty(6, _("Nothing found."))
    return mark_safe("".join(out))  # noqa: S308 — every value above went through escape()


def object_rows(rows: Iterable[Mapping[str, Any]]) -> SafeString:
    """The <tr> elements of the account browser's users, resources and contacts."""
    disabled, move = _e(_("disabled")), _e(_("Move"))
    out = []
    for row in rows:
        name = _e(row["name"])
        cell = f'<a href="{_e(row["url"])}">{name}</a>' if row["url"] else name
        if row["disabled"]:
            cell += f' <span class="tag">{disabled}</span>'
        action = f'<a href="{_e(row["move_url"])}">{move}</a>' if row["move_url"] else ""
        out.append(
            f"<tr><td>{cell}</td><td>{_e(row['uid'])}</td><td>{_e(row['mail'])}</td>"
            f"<td>{_e(row['kind'])}</td><td>{action}</td></tr>\n"
        )
    if not out:
        return _empty(5, _("None."))
    return mark_safe("".join(out))  # noqa: S308 — every value above went through escape()
