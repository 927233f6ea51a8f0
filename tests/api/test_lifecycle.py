"""Staff actions on alerts through the pages and the API (lifecycle from alerts.service)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from alerts.models import Alert, AlertNote
from core import users
from core.models import AuditLog, User
from tests.api.conftest import Sample, alert_row, csrf_of


def test_acknowledge_resolve_with_note_and_audit(
    staff_client: TestClient, session, sample: Sample
) -> None:  # type: ignore[no-untyped-def]
    path = f"/alerts/{sample.alert_id}"
    token = csrf_of(staff_client, path)
    staff_client.post(f"{path}/transition", data={"csrf_token": token, "to_state": "acknowledged"})
    assert alert_row(session, sample.alert_id).state == "acknowledged"
    page = staff_client.post(
        f"{path}/transition",
        data={"csrf_token": token, "to_state": "resolved", "note": "已约谈窗口负责人，当日办结。"},
    )
    assert "已办结" in page.text
    alert = alert_row(session, sample.alert_id)
    assert alert.state == "resolved" and alert.resolved_at is not None
    notes = session.scalars(select(AlertNote.body).where(AlertNote.alert_id == alert.id)).all()
    assert any("已约谈窗口负责人" in n for n in notes)
    audit = session.scalars(
        select(AuditLog).where(AuditLog.entity_type == "alert", AuditLog.entity_id == alert.id)
    ).all()
    assert len(audit) >= 2 and all(e.actor == "staff" for e in audit)
    assert "已约谈窗口负责人" in page.text  # the note shows on the page


def test_refused_transition_is_a_message_not_an_error(
    staff_client: TestClient, sample: Sample
) -> None:
    path = f"/alerts/{sample.alert_id}"
    token = csrf_of(staff_client, path)
    page = staff_client.post(
        f"{path}/transition", data={"csrf_token": token, "to_state": "no-such-state"}
    )
    assert page.status_code == 200
    assert "flash-error" in page.text


def test_bulk_acknowledge_and_assign(staff_client: TestClient, session, sample: Sample) -> None:  # type: ignore[no-untyped-def]
    ids = [a.id for a in session.scalars(select(Alert))]
    token = csrf_of(staff_client, "/")
    page = staff_client.post(
        "/alerts/bulk", data={"csrf_token": token, "ids": ids, "action": "acknowledge", "back": "/"}
    )
    assert "已确认 2 条告警" in page.text
    assert {alert_row(session, i).state for i in ids} == {"acknowledged"}
    staff_client.post(
        "/alerts/bulk",
        data={"csrf_token": token, "ids": ids, "action": "assign", "assignee_id": sample.admin_id},
    )
    assert {alert_row(session, i).assignee_id for i in ids} == {sample.admin_id}
    mine = staff_client.get(f"/?assignee={sample.admin_id}").text
    assert "共 2 条" in mine


def test_note_and_assign_on_the_detail_page(
    staff_client: TestClient, session, sample: Sample
) -> None:  # type: ignore[no-untyped-def]
    path = f"/alerts/{sample.alert_id}"
    token = csrf_of(staff_client, path)
    page = staff_client.post(f"{path}/notes", data={"csrf_token": token, "body": "<b>已回电</b>"})
    assert "&lt;b&gt;已回电&lt;/b&gt;" in page.text
    staff_client.post(f"{path}/assign", data={"csrf_token": token, "assignee_id": sample.staff_id})
    assert alert_row(session, sample.alert_id).assignee_id == sample.staff_id


def test_api_transition_and_note(app, session, sample: Sample) -> None:  # type: ignore[no-untyped-def]
    token = users.create_token(session=session, user=session.get(User, sample.staff_id))
    session.commit()
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as api:
        base = f"/api/v1/alerts/{sample.alert_id}"
        ok = api.post(f"{base}/transition", json={"to_state": "acknowledged"})
        assert ok.status_code == 200 and ok.json()["state"] == "acknowledged"
        bad = api.post(f"{base}/transition", json={"to_state": "nonsense"})
        assert bad.status_code == 400 and bad.json()["message"]
        note = api.post(f"{base}/notes", json={"body": "电话回访"})
        assert note.status_code == 201 and note.json()["body"] == "电话回访"
        detail = api.get(base).json()
        assert detail["notes"][0]["body"] == "电话回访" and detail["audit"]


def test_dismiss_needs_a_reason_and_feeds_training(
    staff_client: TestClient, session, sample: Sample
) -> None:  # type: ignore[no-untyped-def]
    from analysis.models import LabelCorrection

    path = f"/alerts/{sample.alert_id}"
    token = csrf_of(staff_client, path)
    refused = staff_client.post(
        f"{path}/transition", data={"csrf_token": token, "to_state": "dismissed"}
    )
    assert "忽略告警须选择原因" in refused.text
    staff_client.post(
        f"{path}/transition", data={"csrf_token": token, "to_state": "dismissed", "reason": "误报"}
    )
    alert = alert_row(session, sample.alert_id)
    assert alert.state == "dismissed" and alert.dismissed_reason == "误报"
    origins = session.scalars(select(LabelCorrection.origin)).all()
    assert "dismissal" in origins
