"""The report goes through the email outbox to a real SMTP server; it can be re-sent."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from alerts import outbox
from alerts.models import Report
from core import config
from tests.reports.data import local, make_month


def test_send_and_resend_through_the_outbox(session, leaders):
    from alerts.reports.monthly import resend_report, send_monthly_report

    settings = config.get_settings()
    make_month(session)
    row = send_monthly_report(session=session, month="2025-03", settings=settings)
    session.commit()
    assert row.outbox_id and row.sent_at
    sent, failed = outbox.flush(session=session, settings=settings)
    session.commit()
    assert (sent, failed) == (1, 0)
    msg = leaders.messages[0]
    assert leaders.envelopes[0][1] == ["leader@example.org", "office@example.org"]
    assert msg["Subject"] == "舆情月报：2025年3月网络舆情分析报告"
    assert any(p.get_content_type() == "multipart/related" for p in msg.walk())

    resend_report(session=session, report=row, settings=settings, to=["new@example.org"])
    session.commit()
    outbox.flush(session=session, settings=settings)
    session.commit()
    assert leaders.envelopes[1][1] == ["new@example.org"]
    assert leaders.messages[1]["Subject"] == msg["Subject"]


def test_scheduled_monthly_job_sends_last_month_once(session, leaders):
    from api.scheduler.jobs import execute

    settings = config.get_settings()
    make_month(session)
    first_of_april = local(2025, 4, 1, 8, 0)
    gap = dt.timedelta(days=14)
    assert execute("monthly_report", min_gap=gap, settings=settings, now=first_of_april) == "ran"
    assert len(leaders.messages) == 1
    assert "2025年3月" in leaders.messages[0]["Subject"]
    # a second process, or a restart the same morning, does not send it again
    later = first_of_april + dt.timedelta(days=15)
    assert execute("monthly_report", min_gap=gap, settings=settings, now=later) == "ran"
    assert len(leaders.messages) == 1
    session.expire_all()
    assert [r.period for r in session.scalars(select(Report))] == ["2025-03"]


def test_cli_send_delivers(session, yuqing, leaders):
    make_month(session)
    result = yuqing("report", "monthly", "--month", "2025-03", "--send")
    assert result.returncode == 0, result.stderr
    assert len(leaders.messages) == 1
