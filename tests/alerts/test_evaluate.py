"""Rules → alerts: one per event, joining, raising, flaring again, idempotent, spikes, sources."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from alerts import service
from alerts.models import Alert
from core.models import AuditLog
from crawlers.models import Post
from tests.alerts.conftest import NOW, analysed_post
from tests.factories import make_event, make_run, make_source

H = dt.timedelta(hours=1)


def _alerts(session):
    return list(session.scalars(select(Alert).order_by(Alert.id)))


def test_local_negative_post_raises_one_alert_with_reason(rules, settings):
    session = rules
    post, _ = analysed_post(session, places=["南山街道"], at=NOW - H)
    result = service.evaluate(session=session, settings=settings, now=NOW)
    assert (result.created, result.updated) == (1, 0)
    [alert] = _alerts(session)
    assert alert.rule == "local_negative"
    assert alert.severity == "blue"
    assert "南山街道" in alert.reason and "负面" in alert.reason
    assert service.post_ids_of(session=session, alert=alert) == [post.id]
    assert alert.due_at == NOW + dt.timedelta(hours=settings.due_hours_blue)
    assert alert.state == "new"


def test_irrelevant_positive_and_non_local_posts_raise_nothing(rules, settings):
    session = rules
    analysed_post(session, relevant=False, places=["南山街道"], at=NOW - H)
    analysed_post(
        session,
        sentiment="positive",
        places=["南山街道"],
        at=NOW - H,
        text="社区计生办服务热情，上访的事情也处理得很好，点赞",
    )
    analysed_post(session, sentiment="neutral", places=["南山街道"], at=NOW - H)
    analysed_post(session, relevant=False, at=NOW - H, text="小区物业乱收费，要去信访")
    result = service.evaluate(session=session, settings=settings, now=NOW)
    assert result.created == 0
    assert _alerts(session) == []


def test_reach_and_source_weight_raise_severity(rules, settings):
    session = rules
    board = make_source(session, name="政府留言板", weight=3.0)
    analysed_post(session, places=["南山"], source=board, likes=30, replies=20, at=NOW - H)
    service.evaluate(session=session, settings=settings, now=NOW)
    [alert] = _alerts(session)
    # 3 × (1 + 30 + 2·20) = 213 ≥ 200
    assert alert.severity == "orange"


def test_posts_of_one_event_join_its_alert_and_raise_severity_with_audit(rules, settings):
    session = rules
    event = make_event(session, title="生育登记窗口推诿", first_seen=NOW - 5 * H)
    first, _ = analysed_post(session, places=["南山"], event=event, at=NOW - 5 * H)
    service.evaluate(session=session, settings=settings, now=NOW - 4 * H)
    [alert] = _alerts(session)
    assert alert.severity == "blue" and alert.title == "生育登记窗口推诿"

    second, _ = analysed_post(
        session,
        places=["南山"],
        event=event,
        at=NOW - 2 * H,
        text="生育登记窗口又推诿，我要去信访",
    )
    result = service.evaluate(session=session, settings=settings, now=NOW)
    assert (result.created, result.updated) == (0, 1)
    [alert] = _alerts(session)
    assert service.post_ids_of(session=session, alert=alert) == [first.id, second.id]
    # 信访 in a local post: the strong escalation rule makes it red
    assert alert.severity == "red" and alert.rule == "escalation_strong"
    assert "信访" in alert.reason
    assert alert.due_at == NOW + dt.timedelta(hours=settings.due_hours_red)
    entry = session.scalar(
        select(AuditLog).where(AuditLog.entity_id == alert.id, AuditLog.action == "alert.escalate")
    )
    assert entry.before["severity"] == "blue" and entry.after["severity"] == "red"


def test_evaluating_twice_creates_nothing_new(rules, settings):
    session = rules
    event = make_event(session)
    for i in range(6):
        analysed_post(session, places=["南山"], event=event, at=NOW - (i + 1) * H)
    analysed_post(session, at=NOW - H, text="计生罚款太狠了，我要找记者曝光")
    first = service.evaluate(session=session, settings=settings, now=NOW)
    assert first.created == 2
    audit_count = len(session.scalars(select(AuditLog)).all())
    again = service.evaluate(session=session, settings=settings, now=NOW)
    later = service.evaluate(session=session, settings=settings, now=NOW + H)
    assert (again.created, again.updated, later.created, later.updated) == (0, 0, 0, 0)
    assert len(_alerts(session)) == 2
    assert len(session.scalars(select(AuditLog)).all()) == audit_count


def test_resolved_event_that_flares_again_raises_a_linked_alert(rules, settings):
    session = rules
    event = make_event(session)
    analysed_post(session, places=["南山"], event=event, at=NOW - 10 * H)
    service.evaluate(session=session, settings=settings, now=NOW - 9 * H)
    [old] = _alerts(session)
    service.transition(session=session, alert=old, to_state="in_progress", user=None)
    service.transition(session=session, alert=old, to_state="resolved", user=None)
    # nothing new: resolving is respected
    assert service.evaluate(session=session, settings=settings, now=NOW - 8 * H).created == 0

    newer, _ = analysed_post(session, places=["南山"], event=event, at=NOW - H)
    result = service.evaluate(session=session, settings=settings, now=NOW)
    assert result.created == 1
    old_alert, new_alert = _alerts(session)
    assert new_alert.previous_alert_id == old_alert.id
    assert new_alert.state == "new"
    assert service.post_ids_of(session=session, alert=new_alert) == [newer.id]


def test_watch_terms_count_only_in_our_area_strong_signals_anywhere(rules, settings):
    session = rules
    analysed_post(session, at=NOW - H, text="超生罚款还要强制结扎，新华社记者报道")
    assert service.evaluate(session=session, settings=settings, now=NOW).created == 0
    analysed_post(session, at=NOW - H, text="超生罚款逼得人走投无路，大家准备集体上访")
    analysed_post(session, at=NOW - H, places=["南山"], text="南山计生办罚款乱来，已经联系了记者")
    service.evaluate(session=session, settings=settings, now=NOW)
    strong, local = _alerts(session)
    assert strong.rule == "escalation_strong" and strong.severity == "orange"
    assert {"集体", "上访"} <= set(strong.matched_terms)
    assert local.rule == "escalation_watch" and local.severity == "orange"
    assert "记者" in local.matched_terms and "南山" in local.matched_terms


def test_event_growing_past_the_count(rules, settings):
    session = rules
    event = make_event(session, title="独生子女奖励拖欠")
    for i in range(settings.event_growth_count):
        analysed_post(
            session,
            event=event,
            at=NOW - (i + 1) * H,
            sentiment="negative" if i == 0 else "neutral",
            text=f"独生子女父母奖励什么时候发 {i}",
        )
    service.evaluate(session=session, settings=settings, now=NOW)
    [alert] = _alerts(session)
    assert alert.rule == "event_growing" and alert.event_id == event.id
    assert f"{settings.event_growth_count} 条相关帖子" in alert.reason


def test_spike_in_one_topic_raises_a_spike_alert(rules, settings):
    session = rules
    # two weeks of history: about one negative fees post every two days
    for day in range(1, 15, 2):
        analysed_post(
            session, topics=["fees_enforcement"], at=NOW - dt.timedelta(days=day, hours=3)
        )
    # today: nine in a few hours
    for i in range(9):
        analysed_post(
            session,
            topics=["fees_enforcement"],
            at=NOW - (i + 1) * H,
            text=f"社会抚养费征收不合理 {i}",
        )
    # another topic at its usual level
    for day in range(14):
        analysed_post(session, topics=["support"], at=NOW - dt.timedelta(days=day, hours=5))
    service.evaluate(session=session, settings=settings, now=NOW)
    spikes = [a for a in _alerts(session) if a.rule == "topic_spike"]
    assert [a.topic for a in spikes] == ["fees_enforcement"]
    assert "9 条" in spikes[0].reason
    assert len(service.post_ids_of(session=session, alert=spikes[0])) == 9


def test_few_posts_on_a_new_system_are_not_a_spike(rules, settings):
    session = rules
    for i in range(6):
        analysed_post(session, topics=["policy"], at=NOW - (i + 1) * H)
    service.evaluate(session=session, settings=settings, now=NOW)
    assert not [a for a in _alerts(session) if a.rule == "topic_spike"]


def test_silent_source_raises_an_ops_alert_that_resolves_when_it_recovers(rules, settings):
    session = rules
    source = make_source(session, name="计生论坛", interval_minutes=30)
    # a post every two hours, then nothing for two days
    last = NOW - dt.timedelta(days=2)
    for i in range(10):
        analysed_post(session, source=source, relevant=False, at=last - 2 * i * H)
    make_run(session, source=source, status="ok", started_at=NOW - H)
    result = service.evaluate(session=session, settings=settings, now=NOW)
    [alert] = _alerts(session)
    assert result.created == 1
    assert alert.kind == "ops" and alert.rule == "source_silent"
    assert "计生论坛" in alert.reason and "48 小时" in alert.reason
    assert service.evaluate(session=session, settings=settings, now=NOW).created == 0

    analysed_post(session, source=source, relevant=False, at=NOW + H)
    result = service.evaluate(session=session, settings=settings, now=NOW + 2 * H)
    assert result.resolved == 1
    session.refresh(alert)
    assert alert.state == "resolved"


def test_failing_source_raises_an_ops_alert(rules, settings):
    session = rules
    source = make_source(session, name="新闻站")
    make_run(session, source=source, status="ok", started_at=NOW - 5 * H)
    make_run(session, source=source, status="failed", started_at=NOW - 2 * H, last_error="HTTP 503")
    assert service.evaluate(session=session, settings=settings, now=NOW).created == 0
    make_run(session, source=source, status="failed", started_at=NOW - H, last_error="HTTP 503")
    service.evaluate(session=session, settings=settings, now=NOW)
    [alert] = _alerts(session)
    assert alert.rule == "source_failing" and alert.source_id == source.id
    assert "连续 2 次" in alert.reason and "HTTP 503" in alert.reason


def test_disabled_rule_does_not_fire(rules, settings):
    session = rules
    from alerts.models import AlertRule

    rule = session.scalar(select(AlertRule).where(AlertRule.code == "local_negative"))
    rule.enabled = False
    analysed_post(session, places=["南山"], at=NOW - H)
    assert service.evaluate(session=session, settings=settings, now=NOW).created == 0


def test_a_new_source_with_old_posts_is_not_silent(rules, settings):
    session = rules
    source = make_source(session, name="新来源")
    # first crawled an hour ago; its posts are from last month
    for i in range(5):
        analysed_post(
            session, source=source, relevant=False, at=NOW - dt.timedelta(days=30, hours=i)
        )
    for post in session.scalars(select(Post).where(Post.source_id == source.id)):
        post.fetched_at = NOW - H
    assert service.evaluate(session=session, settings=settings, now=NOW).created == 0
    # still nothing new three days later: now it is silent
    later = NOW + dt.timedelta(days=3)
    assert service.evaluate(session=session, settings=settings, now=later).created == 1


def test_paperwork_phrases_are_not_escalation(rules, settings):
    session = rules
    analysed_post(session, at=NOW - H, text="集体户口开不了婚育证明，还要死亡证明原件，太折腾")
    assert service.evaluate(session=session, settings=settings, now=NOW).created == 0
