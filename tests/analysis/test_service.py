"""`yuqing init` defaults and `analyze_pending`: labels, duplicates, events, idempotence."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from analysis.models import Analysis, Event, MonitoringPlan, Topic
from analysis.service import analyze_pending
from analysis.setup import load_defaults
from tests.factories import make_post, make_source

pytestmark = pytest.mark.slow

COMPLAINT = (
    "南山区粤海街道计生办窗口工作人员态度恶劣，我来办理生育登记，材料齐全却被要求反复补交证明，"
    "已经跑了四趟，每次都说领导不在，请相关部门管一管！"
)


def test_load_defaults_is_idempotent(session) -> None:  # type: ignore[no-untyped-def]
    load_defaults(echo=False)
    load_defaults(echo=False)
    assert session.scalar(select(func.count()).select_from(Topic)) == 10
    labels = dict(session.execute(select(Topic.code, Topic.label)).all())
    assert labels["special_families"] == "计生特殊家庭"
    names = session.scalars(select(MonitoringPlan.name)).all()
    assert len(names) == len(set(names)) >= 3


def test_analyze_groups_duplicates_into_events(settings, session, model) -> None:  # type: ignore[no-untyped-def]
    load_defaults(echo=False)
    source = make_source(session)
    t0 = dt.datetime(2026, 3, 1, 8, tzinfo=dt.UTC)
    first = make_post(
        session,
        source=source,
        title="投诉窗口态度",
        text=COMPLAINT,
        published_at=t0,
        normalized_text="",
    )
    copy = make_post(
        session,
        source=source,
        title="转：投诉窗口态度",
        text=COMPLAINT + "转发扩散",
        published_at=t0 + dt.timedelta(hours=3),
        normalized_text="",
    )
    late = make_post(
        session,
        source=source,
        title="投诉窗口态度",
        text=COMPLAINT,
        published_at=t0 + dt.timedelta(days=30),
        normalized_text="",
    )
    other = make_post(
        session,
        source=source,
        title="",
        text="周末去海边玩，天气很好，人流量不小",
        published_at=t0,
        normalized_text="",
    )
    session.commit()

    assert analyze_pending(settings=settings, batch_size=2) == 4
    assert analyze_pending(settings=settings) == 0

    session.expire_all()
    by_post = {a.post_id: a for a in session.scalars(select(Analysis))}
    a1, a2, a3, a4 = (by_post[p.id] for p in (first, copy, late, other))
    assert a1.relevant and a1.sentiment == "negative" and a1.topics
    assert a1.matched_terms["plans"] and "粤海街道" in a1.matched_terms["place"]
    assert a2.duplicate_of == first.id and a2.event_id == a1.event_id
    assert a3.event_id != a1.event_id  # outside the event window
    assert not a4.relevant and a4.event_id is None
    event = session.get(Event, a1.event_id)
    assert event.post_count == 2 and event.negative_count == 2 and event.relevant_count == 2
    assert event.first_seen == t0 and event.last_seen == t0 + dt.timedelta(hours=3)
    assert event.title == "投诉窗口态度" and event.topics
    session.refresh(first)
    assert first.normalized_text.startswith("南山区粤海街道计生办窗口工作人员态度恶劣,")
