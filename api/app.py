"""The FastAPI application: pages, the JSON API, security headers and error handling."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import select
from sqlalchemy.exc import DataError, SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from analysis.taxonomy import load_taxonomy
from api.deps import CsrfFailed, Forbidden, LoginRequired, UserDep
from api.queries import DailyStatsCache
from api.templating import make_templates, render
from api.websession import COOKIE_NAME, LoginRateLimiter, SessionSigner, new_session, write_cookie
from core.config import Settings, get_settings
from core.db import session_factory
from core.errors import UserError

log = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).parent / "static"


CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-src 'self'; frame-ancestors 'none'; form-action 'self'"
)
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}

HTTP_MESSAGES = {
    400: "请求有误 (bad request)",
    401: "请先登录 (login required)",
    403: "无权访问 (forbidden)",
    404: "未找到 (not found)",
    405: "不支持的请求方法 (method not allowed)",
    413: "请求过大 (request too large)",
    415: "不支持的内容类型 (unsupported media type)",
    429: "尝试次数过多，请稍后再试 (too many attempts)",
}


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path == "/openapi.json"


def _error(request: Request, status: int, message: str) -> Response:
    if _is_api(request):
        return JSONResponse({"message": message, "status": status}, status_code=status)
    return render(request, "error.html", status_code=status, status=status, message=message)


class TopicLabels:
    """Topic code → Chinese label from the topics table, re-read at most once a minute."""

    def __init__(self, factory: Any) -> None:
        self._factory = factory
        self._labels: dict[str, str] = dict(load_taxonomy())
        self._loaded = 0.0

    def __call__(self) -> dict[str, str]:
        if time.monotonic() - self._loaded > 60:
            from analysis.models import Topic

            try:
                with self._factory() as session:
                    rows = session.execute(
                        select(Topic.code, Topic.label).order_by(Topic.position, Topic.code)
                    ).all()
                if rows:
                    self._labels = {code: label for code, label in rows}
            except SQLAlchemyError:
                log.warning("could not read topics; using the default labels")
            self._loaded = time.monotonic()
        return self._labels


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the web app for these settings (default: the process settings)."""
    settings = settings or get_settings()
    app = FastAPI(
        title="舆情哨兵 yuqing API",
        version="1.0",
        description="JSON API of 舆情哨兵. Authenticate with `Authorization: Bearer <token>` "
        "(`yuqing token create NAME`).",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.settings = settings
    app.state.session_factory = session_factory(settings)
    app.state.signer = SessionSigner(settings.secret())
    app.state.login_limiter = LoginRateLimiter()
    app.state.topic_labels = TopicLabels(app.state.session_factory)
    app.state.daily_stats = DailyStatsCache(factory=app.state.session_factory)
    app.state.templates = make_templates(settings, app.state.topic_labels)

    @app.middleware("http")
    async def session_and_headers(request: Request, call_next: Any) -> Response:
        data = app.state.signer.load(request.cookies.get(COOKIE_NAME))
        request.state.session_dirty = data is None
        request.state.web_session = data or new_session()
        response: Response = await call_next(request)
        if request.state.session_dirty and not _is_api(request):
            write_cookie(request, response, app.state.signer)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        response.headers.setdefault("Content-Security-Policy", CSP)
        if request.url.scheme == "https":
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        if not request.url.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, exc: LoginRequired) -> Response:
        if _is_api(request):
            return JSONResponse(
                {"message": HTTP_MESSAGES[401], "status": 401},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        target = request.url.path
        if request.url.query:
            target += "?" + request.url.query
        from urllib.parse import quote

        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden) -> Response:
        return _error(request, 403, "无权访问：此页面仅限管理员 (admins only)")

    @app.exception_handler(CsrfFailed)
    async def _csrf(request: Request, exc: CsrfFailed) -> Response:
        return _error(request, 403, "表单已过期，请刷新页面后重试 (CSRF token missing or invalid)")

    @app.exception_handler(UserError)
    async def _user_error(request: Request, exc: UserError) -> Response:
        return _error(request, 400, exc.message)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        parts = []
        for err in exc.errors()[:5]:
            loc = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path"))
            parts.append(f"{loc}: {err.get('msg', 'invalid')}" if loc else err.get("msg", ""))
        message = "输入有误 (invalid input): " + "; ".join(parts)
        if _is_api(request):
            return JSONResponse({"message": message, "status": 422}, status_code=422)
        return _error(request, 400, message)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        message = exc.detail if isinstance(exc.detail, str) and exc.detail else ""
        if not message or message in ("Not Found", "Method Not Allowed"):
            message = HTTP_MESSAGES.get(exc.status_code, "请求失败")
        response = _error(request, exc.status_code, message)
        for key, value in (exc.headers or {}).items():
            response.headers[key] = value
        return response

    @app.exception_handler(DataError)
    async def _data_error(request: Request, exc: DataError) -> Response:
        # the database refused a value (out of range, bad encoding): the input was bad
        return _error(request, 400, "输入值无效 (the database refused a value)")

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return _error(request, 500, "服务器内部错误，已记录 (internal error, logged)")

    from api.views import admin, alerts, api_v1, auth, dashboard, posts, reports

    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    app.include_router(auth.router)
    app.include_router(alerts.router)
    app.include_router(posts.router)
    app.include_router(dashboard.router)
    app.include_router(reports.router)
    app.include_router(admin.router)
    app.include_router(api_v1.router)

    @app.get("/openapi.json", include_in_schema=False)
    def openapi_schema(user: UserDep) -> JSONResponse:
        """The OpenAPI schema, for logged-in users and token holders only."""
        return JSONResponse(app.openapi())

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> Any:
        from sqlalchemy import text

        try:
            with app.state.session_factory() as session:
                session.execute(text("SELECT 1"))
        except SQLAlchemyError:
            return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
        return {"status": "ok"}

    return app
