"""Disclaimer HTML: an allow-list (nh3, the Ammonia sanitiser) of basic formatting, links and images.

Images: `http(s)` URLs, or inline `data:image/png|gif|jpeg|webp;base64,` (no SVG: it can carry script).
Links: http(s) and mailto only. No `style` attributes, no classes, no event handlers, no scripts, no forms.
"""

from __future__ import annotations

import html
import re

import nh3

TAGS = frozenset(
    {
        "a", "b", "br", "div", "em", "hr", "i", "img", "li", "ol", "p", "small", "span", "strong",
        "table", "tbody", "td", "th", "thead", "tr", "u", "ul",
    }
)  # fmt: skip
ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
}
SCHEMES = frozenset({"http", "https", "mailto", "data"})
_DATA_IMAGE = re.compile(r"data:image/(png|gif|jpeg|webp);base64,[A-Za-z0-9+/=\s]*\Z")
_SIZE = re.compile(r"\d{1,4}%?\Z")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

MAX_TEXT = 4000
MAX_HTML = 200_000  # room for a small inline logo


def _attribute(tag: str, attr: str, value: str) -> str | None:
    lowered = value.strip().lower()
    if attr in ("href", "src") and lowered.startswith("data:"):
        return value if tag == "img" and attr == "src" and _DATA_IMAGE.match(value.strip()) else None
    if attr == "href" and not lowered.startswith(("http://", "https://", "mailto:")):
        return None  # relative links mean nothing in a mail
    if attr == "src" and not lowered.startswith(("http://", "https://")):
        return None
    if attr in ("width", "height") and not _SIZE.match(value.strip()):
        return None
    return value


def clean_html(value: str) -> str:
    return nh3.clean(
        _CONTROL.sub("", value),
        tags=set(TAGS),
        attributes={tag: set(attrs) for tag, attrs in ATTRIBUTES.items()},
        url_schemes=set(SCHEMES),
        attribute_filter=_attribute,
        link_rel="noopener noreferrer",
        strip_comments=True,
    ).strip()


def clean_text(value: str) -> str:
    """Plain text: no control characters but newlines and tabs, CRLF as LF, no trailing blanks."""
    text = _CONTROL.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))
    return "\n".join(line.rstrip() for line in text.split("\n")).strip("\n")


def text_from_html(value: str) -> str:
    """The plain-text part's version of an HTML-only disclaimer."""
    spaced = re.sub(r"(?i)<br\s*/?>|</p>|</div>|</tr>|</li>", "\n", value)
    return clean_text(html.unescape(nh3.clean(spaced, tags=set())))


def html_from_text(value: str) -> str:
    return "<br>\n".join(html.escape(line) for line in value.split("\n"))
