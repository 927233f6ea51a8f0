"""Form helpers: the CSRF check every form passes, and forgiving parsers for form fields."""

from __future__ import annotations

import datetime as dt

from fastapi import Request

from api.deps import CsrfFailed
from api.websession import csrf_ok


async def verify_csrf(request: Request) -> None:
    """Refuse unsafe requests whose form lacks the session's CSRF token."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    form = await request.form()
    token = form.get("csrf_token")
    if not csrf_ok(request, token if isinstance(token, str) else None):
        raise CsrfFailed()


def clean(value: str | None, limit: int = 200) -> str:
    """A trimmed string without NUL bytes (PostgreSQL refuses them), at most `limit` long."""
    text = (value or "").replace("\x00", "")
    # lone surrogates (possible in JSON input) cannot be stored as UTF-8
    text = text.encode("utf-8", "ignore").decode("utf-8")
    return text.strip()[:limit]


def parse_int(
    value: str | None, default: int | None = None, lo: int = 0, hi: int = 2**31 - 1
) -> int | None:
    """An int within bounds, or the default for anything else."""
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return default
    return number if lo <= number <= hi else default


def parse_date(value: str | None) -> dt.date | None:
    """A YYYY-MM-DD date, or None."""
    try:
        day = dt.date.fromisoformat(clean(value, 10))
    except ValueError:
        return None
    # far-off years overflow when converted to UTC; nothing was posted then anyway
    return day if 1970 <= day.year <= 2100 else None


def words(value: str | None) -> list[str]:
    """Words from a textarea: split on commas, Chinese commas, spaces and new lines."""
    import re

    return [w for w in re.split(r"[,，、;；\s]+", clean(value, 20000)) if w]
