"""Mail through a real SMTP server: urgent alerts, the digest, and an SMTP outage."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from alerts import outbox, service
from alerts.digest import queue_daily_digest
from alerts.models import Alert, OutboxEmail
from core import config
from tests.alerts.conftest import NOW, analysed_post
from tests.factories import make_user
from tests.smtp import text_of

H = dt.timedelta(hours=1)


def _settings(**kw):
    config.get_settings.cache_clear()
    return config.load_settings(**kw)


def _urgent_posts(session):
    analysed_post(session, places=["南山"], at=NOW - H, text="计生办工作人员打人，我们要集体上访")
    analysed_post(session, at=NOW - H, text="超生罚款逼死人，要去信访", topics=["fees_enforcement"])


def test_urgent_alerts_arrive_grouped_in_one_mail_with_links(rules, smtp_server):
    session = rules
    settings = _settings(alert_recipients=["office@example.org"], base_url="http://yq.local")
    make_user(session, name="duty", email="duty@example.org", on_duty=True)
    make_user(session, name="off", email="off@example.org", on_duty=False)
    _urgent_posts(session)
    analysed_post(session, places=["南山"], at=NOW - H)  # a blue alert: no urgent mail
    result = service.evaluate(session=session, settings=settings, now=NOW)
    assert result.created == 3 and result.mails == 1
    session.commit()
    assert outbox.flush(session=session, settings=settings, now=NOW + dt.timedelta(seconds=5)) == (
        1,
        0,
    )
    [mail] = smtp_server.wait_for(1)
    assert sorted(smtp_server.envelopes[0][1]) == ["duty@example.org", "office@example.org"]
    assert "舆情告警 2 条" in mail["Subject"] and "特别重大" in mail["Subject"]
    red, orange = session.scalars(
        select(Alert).where(Alert.severity.in_(["red", "orange"])).order_by(Alert.id)
    )
    plain, html = text_of(mail), text_of(mail, "html")
    for alert in (red, orange):
        assert f"http://yq.local/alerts/{alert.id}" in plain
        assert f'href="http://yq.local/alerts/{alert.id}"' in html
    assert "上访" in plain and "重大" in html

    # within the repeat interval nothing is mailed again; after it, unacknowledged ones are
    assert service.evaluate(session=session, settings=settings, now=NOW + H).mails == 0
    service.transition(session=session, alert=orange, to_state="acknowledged", user=None)
    later = NOW + dt.timedelta(hours=settings.notify_repeat_hours, minutes=1)
    assert service.evaluate(session=session, settings=settings, now=later).mails == 1
    session.commit()
    outbox.flush(session=session, settings=settings, now=later)
    reminder = smtp_server.wait_for(2)[1]
    assert f"/alerts/{red.id}" in text_of(reminder)
    assert f"/alerts/{orange.id}" not in text_of(reminder)


def test_html_mail_escapes_post_text(rules, smtp_server):
    session = rules
    settings = _settings(alert_recipients=["office@example.org"])
    analysed_post(
        session,
        places=["南山"],
        at=NOW - H,
        title="<script>alert(1)</script>上访",
        text="<b>打人</b>上访",
    )
    service.evaluate(session=session, settings=settings, now=NOW)
    session.commit()
    outbox.flush(session=session, settings=settings, now=NOW)
    [mail] = smtp_server.wait_for(1)
    html = text_of(mail, "html")
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_ops_alert_mail_goes_to_admins(rules, smtp_server):
    from tests.factories import make_run, make_source

    session = rules
    settings = _settings()
    make_user(session, name="admin", role="admin", email="admin@example.org")
    source = make_source(session, name="留言板")
    for i in range(2):
        make_run(session, source=source, status="failed", started_at=NOW - i * H, last_error="DNS")
    assert service.evaluate(session=session, settings=settings, now=NOW).mails == 1
    session.commit()
    outbox.flush(session=session, settings=settings, now=NOW)
    [mail] = smtp_server.wait_for(1)
    assert smtp_server.envelopes[0][1] == ["admin@example.org"]
    assert "数据源" in mail["Subject"] and "留言板" in text_of(mail)


def test_digest_lists_new_and_overdue_alerts(rules, smtp_server):
    session = rules
    settings = _settings(alert_recipients=["office@example.org"])
    analysed_post(session, places=["南山"], at=NOW - 100 * H)
    service.evaluate(session=session, settings=settings, now=NOW - 99 * H, notify=False)
    analysed_post(session, at=NOW - H, places=["南山"], text="计生罚款不合理，我要找记者")
    service.evaluate(session=session, settings=settings, now=NOW, notify=False)
    old, new = session.scalars(select(Alert).order_by(Alert.id))
    mail_row = queue_daily_digest(session=session, settings=settings, now=NOW)
    assert queue_daily_digest(session=session, settings=settings, now=NOW + H).id == mail_row.id
    session.commit()
    outbox.flush(session=session, settings=settings, now=NOW)
    [mail] = smtp_server.wait_for(1)
    assert "舆情日报 2024-05-20" in mail["Subject"]
    plain = text_of(mail)
    assert "新增告警（1 条）" in plain and "逾期未办结（1 条）" in plain
    assert f"/alerts/{new.id}" in plain and f"/alerts/{old.id}" in plain


def test_digest_is_sent_on_quiet_days_saying_so(rules, smtp_server):
    session = rules
    settings = _settings(alert_recipients=["office@example.org"])
    queue_daily_digest(session=session, settings=settings, now=NOW)
    session.commit()
    outbox.flush(session=session, settings=settings, now=NOW)
    [mail] = smtp_server.wait_for(1)
    assert "今日平稳" in mail["Subject"]
    assert "没有新增告警" in text_of(mail) and "没有新增告警" in text_of(mail, "html")


def test_smtp_outage_delays_mail_and_loses_none(rules, smtp_server):
    session = rules
    settings = _settings(alert_recipients=["office@example.org"])
    smtp_server.stop()
    _urgent_posts(session)
    service.evaluate(session=session, settings=settings, now=NOW)
    queue_daily_digest(session=session, settings=settings, now=NOW)
    session.commit()
    assert outbox.flush(session=session, settings=settings, now=NOW) == (0, 2)
    waiting = session.scalars(select(OutboxEmail).order_by(OutboxEmail.id)).all()
    assert all(m.sent_at is None and m.attempts == 1 and m.last_error for m in waiting)
    assert all(m.next_attempt_at == NOW + outbox.backoff(1) for m in waiting)
    # still down a minute later: backoff grows
    assert outbox.flush(session=session, settings=settings, now=NOW + 61 * dt.timedelta(seconds=1))
    assert waiting[0].next_attempt_at > NOW + outbox.backoff(1)

    smtp_server.start()
    # not due yet: nothing is tried
    assert outbox.flush(
        session=session, settings=settings, now=NOW + 90 * dt.timedelta(seconds=1)
    ) == (0, 0)
    assert outbox.flush(session=session, settings=settings, now=NOW + H) == (2, 0)
    assert len(smtp_server.wait_for(2)) == 2
    assert all(m.sent_at is not None for m in waiting)
    assert outbox.flush(session=session, settings=settings, now=NOW + 2 * H) == (0, 0)


def test_no_smtp_host_keeps_mail_in_the_outbox(rules, settings):
    session = rules
    outbox.queue(session=session, to=["a@example.org"], subject="测试", body_text="正文")
    assert outbox.flush(session=session, settings=settings) == (0, 0)
    assert session.scalar(select(OutboxEmail)).sent_at is None
