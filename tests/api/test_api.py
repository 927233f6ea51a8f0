"""The JSON API: tokens, filters, labels, errors as JSON with a message."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from analysis.models import LabelCorrection
from core import users
from core.models import User
from tests.api.conftest import Sample, csrf_of


@pytest.fixture
def api(app, session, sample: Sample) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    """A client sending the staff user's bearer token."""
    token = users.create_token(session=session, user=session.get(User, sample.staff_id))
    session.commit()
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as c:
        yield c


def test_alerts_list_and_detail(api: TestClient, sample: Sample) -> None:
    body = api.get("/api/v1/alerts").json()
    assert body["total"] == 2 and body["page"] == 1
    first = body["items"][0]
    assert first["severity"] == "red" and first["overdue"] is True
    assert api.get("/api/v1/alerts?severity=blue").json()["total"] == 1
    assert api.get("/api/v1/alerts?q=宣传&state=all").json()["total"] == 1
    detail = api.get(f"/api/v1/alerts/{sample.alert_id}").json()
    assert len(detail["posts"]) == 3
    assert detail["posts"][0]["analysis"]["sentiment"] == "negative"
    assert detail["notes"] == [] and isinstance(detail["audit"], list)


def test_posts_events_sources_stats(api: TestClient, sample: Sample) -> None:
    posts = api.get("/api/v1/posts?q=推诿&relevant=1").json()
    assert len(posts["items"]) == 2 and posts["has_next"] is False
    one = api.get(f"/api/v1/posts/{sample.post_ids[2]}").json()
    assert one["title"].startswith("<script>")  # JSON carries the text as is; pages escape it
    events = api.get("/api/v1/events").json()
    assert events[0]["title"] == "生育登记窗口推诿"
    assert api.get(f"/api/v1/events/{sample.event_id}").json()["post_count"] == 3
    sources = api.get("/api/v1/sources").json()
    assert sources[0]["name"] == "街道留言板" and sources[0]["status"] == "ok"
    stats = api.get("/api/v1/stats?days=7").json()
    assert len(stats["dates"]) == 7 and stats["totals"]["negative"] == 3
    assert stats["alerts_by_state"] == {"new": 2}
    assert stats["topics"][0]["label"] in ("生育登记与办证", "工作作风与服务")


def test_label_correction_through_the_api(api: TestClient, session, sample: Sample) -> None:  # type: ignore[no-untyped-def]
    post_id = sample.post_ids[1]
    response = api.post(
        f"/api/v1/posts/{post_id}/labels", json={"sentiment": "neutral", "topics": ["registration"]}
    )
    assert response.status_code == 201
    assert response.json()["sentiment"] == "neutral"
    correction = session.scalar(select(LabelCorrection).where(LabelCorrection.post_id == post_id))
    assert correction.origin == "api" and correction.relevant is None
    bad = api.post(f"/api/v1/posts/{post_id}/labels", json={"topics": ["no_such_topic"]})
    assert bad.status_code == 400 and "unknown topics" in bad.json()["message"]
    empty = api.post(f"/api/v1/posts/{post_id}/labels", json={})
    assert empty.status_code == 400


def test_errors_are_json_with_a_message(api: TestClient) -> None:
    for path, status in [
        ("/api/v1/alerts/999999", 404),
        ("/api/v1/alerts/abc", 422),
        ("/api/v1/alerts/0", 422),
        ("/api/v1/alerts?page=0", 422),
        ("/api/v1/posts/123456789012345678901234567890", 422),
        ("/api/v1/nothing", 404),
    ]:
        response = api.get(path)
        assert response.status_code == status, path
        body = response.json()
        assert body["message"] and body["status"] == status
    bad_body = api.post(
        "/api/v1/alerts/1/notes", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert bad_body.status_code == 422 and bad_body.json()["message"]
    method = api.delete("/api/v1/alerts")
    assert method.status_code == 405 and method.json()["message"]


def test_cookie_api_calls_need_the_csrf_header(staff_client: TestClient, sample: Sample) -> None:
    path = f"/api/v1/posts/{sample.post_ids[0]}/labels"
    refused = staff_client.post(path, json={"sentiment": "neutral"})
    assert refused.status_code == 403
    token = csrf_of(staff_client, "/")
    ok = staff_client.post(path, json={"sentiment": "neutral"}, headers={"X-CSRF-Token": token})
    assert ok.status_code == 201


def test_openapi_schema_lists_the_api(api: TestClient) -> None:
    schema = api.get("/openapi.json").json()
    paths = set(schema["paths"])
    assert {
        "/api/v1/alerts",
        "/api/v1/alerts/{alert_id}",
        "/api/v1/alerts/{alert_id}/transition",
        "/api/v1/alerts/{alert_id}/notes",
        "/api/v1/posts",
        "/api/v1/posts/{post_id}",
        "/api/v1/posts/{post_id}/labels",
        "/api/v1/events",
        "/api/v1/sources",
        "/api/v1/stats",
    } <= paths
    assert not any(p.startswith("/admin") or p == "/" for p in paths)
