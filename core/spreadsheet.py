"""Cells for CSV and XLSX exports of crawled, untrusted text."""

from __future__ import annotations

import re
from typing import Any

# the control characters XML (and so XLSX) cannot hold; openpyxl refuses them with an exception
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> Any:
    """A value safe for a spreadsheet: no illegal characters, no text that runs as a formula."""
    if not isinstance(value, str):
        return value
    value = _ILLEGAL.sub("", value)
    if value.startswith(_FORMULA_START):
        return "'" + value
    return value
