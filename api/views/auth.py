"""Login and logout."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from api.deps import OptionalUserDep, SessionDep, password_fingerprint
from api.forms import clean, verify_csrf
from api.templating import render
from api.websession import flash, get_session, mark_dirty, new_session
from core.users import authenticate

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    # only local paths: never an open redirect to another site
    target = target or "/"
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@router.get("/login")
def login_form(request: Request, user: OptionalUserDep, next: str = "/") -> Response:
    """The login page."""
    if user is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return render(request, "login.html", next=_safe_next(next), username="")


@router.post("/login", dependencies=[Depends(verify_csrf)])
def login(
    request: Request,
    session: SessionDep,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Check the password (argon2), start a fresh session, go where the user was heading."""
    limiter = request.app.state.login_limiter
    client = request.client.host if request.client else "?"
    name = clean(username, 64)
    wait = limiter.retry_after(client, name)
    if wait:
        return render(
            request,
            "login.html",
            status_code=429,
            next=_safe_next(next),
            username=name,
            error=f"登录失败次数过多，请 {wait} 秒后再试。",
        )
    user = authenticate(session=session, name=name, password=password[:1024]) if name else None
    if user is None:
        limiter.failed(client, name)
        return render(
            request,
            "login.html",
            status_code=401,
            next=_safe_next(next),
            username=name,
            error="用户名或密码错误，或账号已停用。",
        )
    session.commit()
    limiter.succeeded(client, name)
    # a new session (and CSRF token) at login: a planted cookie cannot be reused
    fresh = new_session()
    fresh.update(uid=user.id, pw=password_fingerprint(user))
    request.state.web_session = fresh
    mark_dirty(request)
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout", dependencies=[Depends(verify_csrf)])
def logout(request: Request) -> Response:
    """End the session."""
    request.state.web_session = new_session()
    mark_dirty(request)
    flash(request, "已退出登录。")
    return RedirectResponse("/login", status_code=303)


__all__ = ["get_session", "router"]
