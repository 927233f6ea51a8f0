"""Urgent mail: red and orange alerts to the people on duty, grouped, not repeated too often."""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from alerts import outbox
from alerts.mail import admin_recipients, alert_rows, duty_recipients, render
from alerts.models import SEVERITY_LABELS, Alert, OutboxEmail
from alerts.service import OPEN_STATES
from core.config import Settings, get_settings
from core.db import utcnow

log = logging.getLogger(__name__)
URGENT = ("red", "orange")


def _needs_mail(alert: Alert, now: dt.datetime, repeat: dt.timedelta) -> bool:
    if alert.last_notified_at is None:
        return True
    # unacknowledged alerts are repeated once per interval; handled ones are not
    return alert.state == "new" and alert.last_notified_at <= now - repeat


def _due(session: Session, settings: Settings, now: dt.datetime, ops: bool) -> list[Alert]:
    repeat = dt.timedelta(hours=settings.notify_repeat_hours)
    query = select(Alert).where(Alert.state.in_(OPEN_STATES)).order_by(Alert.id)
    if ops:
        query = query.where(Alert.kind == "ops")
    else:
        query = query.where(Alert.kind != "ops", Alert.severity.in_(URGENT))
    query = query.where(
        or_(Alert.last_notified_at.is_(None), Alert.last_notified_at <= now - repeat)
    )
    return [a for a in session.scalars(query) if _needs_mail(a, now, repeat)]


def queue_urgent(
    *, session: Session, settings: Settings | None = None, now: dt.datetime | None = None
) -> list[OutboxEmail]:
    """Queue one mail for all urgent alerts due a notice, and one to admins for ops alerts."""
    settings = settings or get_settings()
    now = now or utcnow()
    mails = []
    for ops in (False, True):
        alerts = _due(session, settings, now, ops)
        if not alerts:
            continue
        to = admin_recipients(session, settings) if ops else duty_recipients(session, settings)
        if not to:
            log.warning(
                "%d alert(s) need mail but nobody is on duty and YUQING_ALERT_RECIPIENTS is empty",
                len(alerts),
            )
            continue
        top = (
            alerts[0].severity
            if ops
            else min(alerts, key=lambda a: URGENT.index(a.severity)).severity
        )
        if ops:
            heading = f"数据源异常告警 {len(alerts)} 条"
            intro = "以下数据源运行异常，可能导致舆情漏采，请管理员检查。"
        else:
            heading = f"【{SEVERITY_LABELS[top]}】舆情告警 {len(alerts)} 条待处理"
            intro = f"系统发现 {len(alerts)} 条重大及以上级别的舆情告警："
        subject = f"[舆情哨兵] {heading}：{alerts[0].title[:40]}"
        text, html = render(
            "urgent",
            subject=subject,
            heading=heading,
            intro=intro,
            alerts=alert_rows(session, alerts, settings),
            base_url=settings.base_url.rstrip("/"),
        )
        ids = ",".join(str(a.id) for a in alerts)
        mail = outbox.queue(
            session=session,
            to=to,
            subject=subject,
            body_text=text,
            body_html=html,
            kind="ops" if ops else "alert",
            now=now,
            dedup_key=f"{'ops' if ops else 'urgent'}:{now.isoformat()}:{ids}"[:200],
        )
        for alert in alerts:
            alert.last_notified_at = now
        mails.append(mail)
    session.flush()
    return mails
