"""Signed session cookie (itsdangerous), CSRF token, flash messages and the login rate limit."""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import defaultdict, deque
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

COOKIE_NAME = "yq_session"
MAX_AGE = 12 * 3600  # one working day; staff log in each morning


class SessionSigner:
    """Dumps and loads the session dict into a signed, timestamped cookie value."""

    def __init__(self, secret: str) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt="yuqing.session")

    def load(self, value: str | None) -> dict[str, Any] | None:
        """The session dict, or None when the cookie is missing, forged or expired."""
        if not value:
            return None
        try:
            data = self._serializer.loads(value, max_age=MAX_AGE)
        except BadSignature:
            return None
        return data if isinstance(data, dict) else None

    def dump(self, data: dict[str, Any]) -> str:
        """The signed cookie value."""
        return self._serializer.dumps(data)


def new_session() -> dict[str, Any]:
    """A fresh anonymous session with its own CSRF token."""
    return {"csrf": secrets.token_urlsafe(24)}


def get_session(request: Request) -> dict[str, Any]:
    """The session dict loaded by the middleware."""
    return request.state.web_session


def mark_dirty(request: Request) -> None:
    """Ask the middleware to write the cookie back."""
    request.state.session_dirty = True


def csrf_token(request: Request) -> str:
    """The session's CSRF token (put in every form)."""
    return get_session(request)["csrf"]


def csrf_ok(request: Request, submitted: str | None) -> bool:
    """Whether a submitted token matches the session's, in constant time."""
    expected = get_session(request).get("csrf", "")
    return bool(submitted) and bool(expected) and hmac.compare_digest(str(submitted), expected)


def flash(request: Request, message: str, kind: str = "ok") -> None:
    """Queue a one-time message for the next page."""
    session = get_session(request)
    session.setdefault("flash", []).append([kind, message])
    mark_dirty(request)


def pop_flashes(request: Request) -> list[list[str]]:
    """Take the queued messages."""
    session = get_session(request)
    messages = session.pop("flash", [])
    if messages:
        mark_dirty(request)
    return messages


def write_cookie(request: Request, response: Response, signer: SessionSigner) -> None:
    """Set the session cookie: HttpOnly, SameSite=Lax, Secure when the request came over HTTPS."""
    response.set_cookie(
        COOKIE_NAME,
        signer.dump(get_session(request)),
        max_age=MAX_AGE,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


class LoginRateLimiter:
    """Failed logins per client address and per user name within a sliding window."""

    def __init__(self, max_failures: int = 5, window_seconds: float = 300.0) -> None:
        self.max_failures = max_failures
        self.window = window_seconds
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _keys(self, client: str, username: str) -> list[str]:
        # the address alone gets a larger budget so one office NAT does not lock everyone out
        return [f"ip:{client}", f"user:{username.lower()}"]

    def _recent(self, key: str, now: float) -> deque[float]:
        bucket = self._failures[key]
        while bucket and bucket[0] < now - self.window:
            bucket.popleft()
        return bucket

    def retry_after(self, client: str, username: str) -> int:
        """Seconds until another attempt is allowed (0 when allowed now)."""
        now = time.monotonic()
        with self._lock:
            waits = []
            for key in self._keys(client, username):
                limit = self.max_failures * 4 if key.startswith("ip:") else self.max_failures
                bucket = self._recent(key, now)
                if len(bucket) >= limit:
                    waits.append(int(bucket[0] + self.window - now) + 1)
            return max(waits, default=0)

    def failed(self, client: str, username: str) -> None:
        """Count one failed attempt."""
        now = time.monotonic()
        with self._lock:
            for key in self._keys(client, username):
                self._recent(key, now).append(now)

    def succeeded(self, client: str, username: str) -> None:
        """Forget the user name's failures after a good login."""
        with self._lock:
            self._failures.pop(f"user:{username.lower()}", None)
