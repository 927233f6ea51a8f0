"""Request dependencies: the database session, the current user, role checks."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from api.websession import csrf_ok
from core.config import Settings
from core.models import User
from core.users import user_for_token


class LoginRequired(Exception):
    """No (valid) session or token; pages redirect to the login form, the API answers 401."""


class Forbidden(Exception):
    """Logged in, but the role does not allow this."""


class CsrfFailed(Exception):
    """A form or cookie-authenticated API call came without the session's CSRF token."""


def get_settings_dep(request: Request) -> Settings:
    """The app's settings."""
    return request.app.state.settings


def get_db(request: Request) -> Iterator[Session]:
    """One session per request; handlers commit what they change."""
    factory = request.app.state.session_factory
    session = factory()
    try:
        yield session
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_db)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


def password_fingerprint(user: User) -> str:
    """A short digest of the password hash: a password reset ends existing sessions."""
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def optional_user(request: Request, session: SessionDep) -> User | None:
    """The user behind a Bearer token or the session cookie, or None."""
    if hasattr(request.state, "user"):
        return request.state.user
    user: User | None = None
    token = _bearer(request)
    if token is not None:
        user = user_for_token(session=session, token=token)
        if user is not None:
            session.commit()  # keeps last_used_at
            request.state.auth = "token"
    else:
        data = request.state.web_session
        uid = data.get("uid")
        if isinstance(uid, int):
            candidate = session.get(User, uid)
            if (
                candidate is not None
                and candidate.active
                and data.get("pw") == password_fingerprint(candidate)
            ):
                user = candidate
                request.state.auth = "cookie"
    request.state.user = user
    return user


def current_user(request: Request, user: Annotated[User | None, Depends(optional_user)]) -> User:
    """The logged-in user; anonymous requests are sent to the login page (or get 401)."""
    if user is None:
        raise LoginRequired()
    # forms carry the CSRF token in a field (api.forms.verify_csrf); the JSON API called with
    # the session cookie instead of a token must send it as a header
    if (
        request.method not in ("GET", "HEAD", "OPTIONS")
        and request.state.auth == "cookie"
        and request.url.path.startswith("/api/")
        and not csrf_ok(request, request.headers.get("x-csrf-token"))
    ):
        raise CsrfFailed()
    return user


def admin_user(user: Annotated[User, Depends(current_user)]) -> User:
    """The logged-in user, who must be an admin."""
    if user.role != "admin":
        raise Forbidden()
    return user


UserDep = Annotated[User, Depends(current_user)]
AdminDep = Annotated[User, Depends(admin_user)]
OptionalUserDep = Annotated[User | None, Depends(optional_user)]
