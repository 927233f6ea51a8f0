"""The lifecycle staff drive: transitions, refusals, dismissal reasons, assignment, notes, audit."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from alerts import service
from alerts.models import Alert, AlertNote
from analysis.models import LabelCorrection
from core.models import AuditLog
from tests.alerts.conftest import NOW, analysed_post
from tests.factories import make_user


def _alert(session, settings) -> Alert:
    analysed_post(session, places=["南山"], at=NOW)
    service.evaluate(session=session, settings=settings, now=NOW, notify=False)
    return session.scalar(select(Alert))


def _audit(session, alert):
    return list(
        session.scalars(
            select(AuditLog)
            .where(AuditLog.entity_type == "alert", AuditLog.entity_id == alert.id)
            .order_by(AuditLog.id)
        )
    )


def test_full_lifecycle_is_audited(rules, settings):
    session = rules
    alert = _alert(session, settings)
    staff = make_user(session, name="wang")
    service.transition(session=session, alert=alert, to_state="acknowledged", user=staff)
    service.assign(session=session, alert=alert, assignee=staff, user=staff)
    service.transition(
        session=session, alert=alert, to_state="in_progress", user=staff, note="已电话联系当事人"
    )
    service.add_note(session=session, alert=alert, user=staff, body="窗口已整改")
    service.transition(session=session, alert=alert, to_state="resolved", user=staff)
    assert alert.state == "resolved" and alert.assignee_id == staff.id
    assert alert.acknowledged_at is not None and alert.resolved_at is not None
    notes = session.scalars(select(AlertNote).where(AlertNote.alert_id == alert.id)).all()
    assert [n.body for n in notes] == ["已电话联系当事人", "窗口已整改"]
    actions = [(e.action, e.actor) for e in _audit(session, alert)]
    assert actions == [
        ("alert.create", "system"),
        ("alert.transition", "wang"),
        ("alert.assign", "wang"),
        ("alert.transition", "wang"),
        ("alert.note", "wang"),
        ("alert.transition", "wang"),
    ]
    last = _audit(session, alert)[-1]
    assert last.before["state"] == "in_progress" and last.after["state"] == "resolved"


@pytest.mark.parametrize(
    ("path", "bad"),
    [((), "resolved"), (("in_progress",), "acknowledged"), (("in_progress", "resolved"), "new")],
)
def test_invalid_transitions_are_refused_with_a_clear_message(rules, settings, path, bad):
    session = rules
    alert = _alert(session, settings)
    for state in path:
        service.transition(session=session, alert=alert, to_state=state, user=None)
    with pytest.raises(service.TransitionError) as err:
        service.transition(session=session, alert=alert, to_state=bad, user=None)
    assert "不能改为" in err.value.message and "not allowed" in err.value.message


def test_dismissal_needs_a_reason(rules, settings):
    session = rules
    alert = _alert(session, settings)
    for reason in ("", "不想管"):
        with pytest.raises(service.TransitionError) as err:
            service.transition(
                session=session, alert=alert, to_state="dismissed", user=None, reason=reason
            )
        assert "误报" in err.value.message
    assert alert.state == "new"


@pytest.mark.parametrize(("reason", "corrected"), [("误报", True), ("无关", True), ("重复", False)])
def test_false_alarm_dismissal_records_label_corrections(rules, settings, reason, corrected):
    session = rules
    alert = _alert(session, settings)
    staff = make_user(session)
    service.transition(
        session=session, alert=alert, to_state="dismissed", user=staff, reason=reason
    )
    assert alert.state == "dismissed" and alert.dismissed_reason == reason
    rows = session.scalars(select(LabelCorrection)).all()
    if not corrected:
        assert rows == []
        return
    [row] = rows
    assert row.origin == "dismissal" and row.alert is False and row.user_id == staff.id
    assert row.post_id == service.post_ids_of(session=session, alert=alert)[0]
    assert row.relevant is (False if reason == "无关" else None)
    assert "推诿" in row.text


def test_dismissed_event_with_more_of_the_same_stays_quiet(rules, settings):
    from tests.factories import make_event

    session = rules
    event = make_event(session)
    analysed_post(session, places=["南山"], event=event, at=NOW)
    service.evaluate(session=session, settings=settings, now=NOW, notify=False)
    alert = session.scalar(select(Alert))
    service.transition(session=session, alert=alert, to_state="dismissed", user=None, reason="已知")
    analysed_post(session, places=["南山"], event=event, at=NOW)
    result = service.evaluate(session=session, settings=settings, now=NOW, notify=False)
    assert result.created == 0
    assert len(service.post_ids_of(session=session, alert=alert)) == 2


def test_empty_note_and_closed_assignment_are_refused(rules, settings):
    session = rules
    alert = _alert(session, settings)
    with pytest.raises(service.TransitionError):
        service.add_note(session=session, alert=alert, user=None, body="   ")
    service.transition(session=session, alert=alert, to_state="dismissed", user=None, reason="重复")
    with pytest.raises(service.TransitionError):
        service.assign(session=session, alert=alert, assignee=make_user(session), user=None)
