"""Login, sessions, CSRF, roles and security headers."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from core import users
from core.models import User
from tests.api.conftest import PASSWORD, csrf_of, login


def test_anonymous_reaches_only_login_and_health(client: TestClient, sample) -> None:  # type: ignore[no-untyped-def]
    paths = ("/", "/posts", "/dashboard", "/reports", "/admin/users", f"/alerts/{sample.alert_id}")
    for path in paths:
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login?next=")
    api = client.get("/api/v1/alerts")
    assert api.status_code == 401
    assert api.json()["message"]
    assert client.get("/openapi.json").status_code == 401
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/login").status_code == 200


def test_login_sets_a_safe_cookie_and_returns_to_the_page(client: TestClient, sample) -> None:  # type: ignore[no-untyped-def]
    token = csrf_of(client)
    response = client.post(
        "/login",
        data={"username": "staff", "password": PASSWORD, "csrf_token": token, "next": "/dashboard"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard"
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert "secure" not in cookie  # plain http here
    assert client.get("/dashboard").status_code == 200


def test_cookie_is_secure_over_https(app, sample) -> None:  # type: ignore[no-untyped-def]
    with TestClient(app, base_url="https://testserver") as c:
        response = login(c, "staff")
        assert response.status_code == 303
        assert "secure" in response.headers["set-cookie"].lower()
        assert "Strict-Transport-Security" in c.get("/").headers


def test_login_refuses_an_outside_redirect(client: TestClient, sample) -> None:  # type: ignore[no-untyped-def]
    token = csrf_of(client)
    response = client.post(
        "/login",
        data={
            "username": "staff",
            "password": PASSWORD,
            "csrf_token": token,
            "next": "//evil.example/x",
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/"


def test_wrong_password_then_rate_limit(client: TestClient, sample) -> None:  # type: ignore[no-untyped-def]
    for _ in range(5):
        response = login(client, "staff", "wrong-password")
        assert response.status_code == 401
        assert "用户名或密码错误" in response.text
    blocked = login(client, "staff", PASSWORD)
    assert blocked.status_code == 429
    assert "秒后再试" in blocked.text


def test_forms_without_csrf_token_are_refused(
    client: TestClient, staff_client: TestClient, sample
) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/login", data={"username": "staff", "password": PASSWORD})
    assert response.status_code == 403
    assert "表单已过期" in response.text
    note = staff_client.post(f"/alerts/{sample.alert_id}/notes", data={"body": "x"})
    assert note.status_code == 403


def test_staff_cannot_open_admin_pages(staff_client: TestClient) -> None:
    for path in ("/admin/", "/admin/sources", "/admin/users", "/admin/plans", "/admin/rules"):
        response = staff_client.get(path, follow_redirects=False)
        assert response.status_code == 403, path
        assert "仅限管理员" in response.text
    token = csrf_of(staff_client, "/")
    response = staff_client.post(
        "/admin/users",
        data={"csrf_token": token, "name": "x", "role": "admin", "password": "p" * 10},
    )
    assert response.status_code == 403


def test_logout_ends_the_session(staff_client: TestClient) -> None:
    token = csrf_of(staff_client, "/")
    response = staff_client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    assert staff_client.get("/", follow_redirects=False).status_code == 303


def test_password_reset_and_deactivation_end_sessions(
    staff_client: TestClient, session, sample
) -> None:  # type: ignore[no-untyped-def]
    assert staff_client.get("/", follow_redirects=False).status_code == 200
    staff = session.get(User, sample.staff_id)
    users.set_password(session=session, user=staff, password="another-pass-1")
    session.commit()
    assert staff_client.get("/", follow_redirects=False).status_code == 303
    assert login(staff_client, "staff", "another-pass-1").status_code == 303
    users.update_user(session=session, user=staff, active=False)
    session.commit()
    assert staff_client.get("/", follow_redirects=False).status_code == 303
    assert login(staff_client, "staff", "another-pass-1").status_code == 401


def test_bearer_token_for_the_api(client: TestClient, session, sample) -> None:  # type: ignore[no-untyped-def]
    staff = session.scalar(select(User).where(User.name == "staff"))
    token = users.create_token(session=session, user=staff, name="t")
    session.commit()
    ok = client.get("/api/v1/alerts", headers={"Authorization": f"Bearer {token}"})
    assert ok.status_code == 200
    assert ok.json()["total"] == 2
    bad = client.get("/api/v1/alerts", headers={"Authorization": "Bearer yq_nope"})
    assert bad.status_code == 401


def test_security_headers(staff_client: TestClient) -> None:
    response = staff_client.get("/")
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    assert "unsafe-inline" not in csp and "object-src 'none'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "same-origin"
    assert '<script src="/static/app.js"' in response.text
    assert "cdn" not in response.text.lower()
    assert staff_client.get("/static/app.css").status_code == 200
