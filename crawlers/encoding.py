"""Decode Chinese pages right: declared charset when it is true, detection when it is not."""

from __future__ import annotations

import codecs

from w3lib.encoding import (
    html_body_declared_encoding,
    http_content_type_encoding,
    read_bom,
    resolve_encoding,
)

# GB2312 and GBK pages routinely use characters only their supersets have; GB18030 covers both.
_SUPERSETS = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "hz-gb-2312": "gb18030",
    "cp936": "gb18030",
    "ascii": "utf-8",
    "iso8859-1": "cp1252",
    "latin-1": "cp1252",
}


def _norm(name: str | None) -> str | None:
    if not name:
        return None
    resolved = resolve_encoding(name) or name
    try:
        resolved = codecs.lookup(resolved).name
    except LookupError:
        return None
    return _SUPERSETS.get(resolved, resolved)


def _decodes(body: bytes, encoding: str) -> bool:
    try:
        body.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return False
    return True


def detect_encoding(body: bytes, content_type: str | None = None, override: str = "") -> str:
    """The encoding to decode `body` with.

    Order: an explicit override; a byte-order mark; valid UTF-8 (it almost never happens by
    chance); the declared charset (HTTP header, then meta/XML declaration) if the bytes decode
    under it; charset-normalizer's guess; GB18030 as the last resort for this product's pages.
    """
    if override:
        return _norm(override) or override
    bom_encoding, _ = read_bom(body)
    if bom_encoding:
        return _norm(bom_encoding) or bom_encoding
    if _decodes(body, "utf-8"):
        return "utf-8"
    declared = [
        _norm(http_content_type_encoding(content_type) if content_type else None),
        _norm(html_body_declared_encoding(body)),
    ]
    for encoding in declared:
        # a single-byte charset "decodes" anything; only trust it when no CJK charset fits
        if encoding and encoding not in ("cp1252", "utf-8") and _decodes(body, encoding):
            return encoding
    guess = _guess(body)
    if guess:
        return guess
    if _decodes(body, "gb18030"):
        return "gb18030"
    for encoding in declared:
        if encoding:
            return encoding
    return "gb18030"


def _guess(body: bytes) -> str | None:
    from charset_normalizer import from_bytes

    # a sample is enough and keeps detection cheap on big pages
    best = from_bytes(body[:200_000], cp_isolation=None).best()
    if best is None:
        return None
    return _norm(best.encoding)


def decode(body: bytes, content_type: str | None = None, override: str = "") -> str:
    """The body as text, decoded with `detect_encoding`."""
    return body.decode(detect_encoding(body, content_type, override), errors="replace")
