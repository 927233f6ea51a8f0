"""Canonical URLs: one address per post whatever tracking parameters or fragments it came with."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from w3lib.url import canonicalize_url

# parameters that say where a click came from, never which post it is
TRACKING_PARAMS = {
    "spm",
    "from",
    "source",
    "share",
    "share_source",
    "share_medium",
    "shareuid",
    "timestamp",
    "isappinstalled",
    "scene",
    "clicktime",
    "enterid",
    "sessionid",
    "ref",
    "referer",
    "refer",
    "fbclid",
    "gclid",
    "yclid",
    "msclkid",
    "mc_cid",
    "mc_eid",
    "wfr",
    "vd_source",
    "_t",
    "t_ws",
    "chksm",
    "subscene",
    "sharer_shareid",
    "sharer_sharetime",
    "from_source",
}
TRACKING_PREFIXES = ("utm_", "hmsr", "hmpl", "hmcu", "hmkw", "hmci", "share_")


def _is_tracking(key: str) -> bool:
    lower = key.lower()
    return lower in TRACKING_PARAMS or lower.startswith(TRACKING_PREFIXES)


def canonical_url(url: str) -> str:
    """The URL without tracking parameters or fragment, with sorted query and a lower-case host."""
    parts = urlsplit(url.strip())
    query = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(k)
    ]
    cleaned = urlunsplit(
        (parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", urlencode(query), "")
    )
    return canonicalize_url(cleaned)[:1000]
