"""The daily digest: new and overdue alerts, sent every day (quiet days say so)."""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alerts import outbox
from alerts.mail import alert_rows, duty_recipients, render
from alerts.models import Alert, OutboxEmail
from alerts.service import OPEN_STATES, overdue
from core.config import Settings, get_settings
from core.db import utcnow

log = logging.getLogger(__name__)


def queue_daily_digest(
    *, session: Session, settings: Settings | None = None, now: dt.datetime | None = None
) -> OutboxEmail | None:
    """Queue today's digest (once per local date); None when nobody is there to receive it."""
    settings = settings or get_settings()
    now = now or utcnow()
    day = now.astimezone(settings.tz).date()
    to = duty_recipients(session, settings)
    if not to:
        log.warning("no digest recipients: nobody on duty and YUQING_ALERT_RECIPIENTS is empty")
        return None
    since = now - dt.timedelta(hours=24)
    new_alerts = list(
        session.scalars(
            select(Alert)
            .where(Alert.created_at >= since, Alert.created_at <= now)
            .order_by(Alert.id)
        )
    )
    late = overdue(session=session, now=now)
    open_count = session.scalar(
        select(func.count()).select_from(Alert).where(Alert.state.in_(OPEN_STATES))
    )
    quiet = not new_alerts and not late
    heading = f"舆情日报 {day.isoformat()}"
    subject = f"[舆情哨兵] {heading}：" + (
        "今日平稳，无新增及逾期告警"
        if quiet
        else f"新增告警 {len(new_alerts)} 条，逾期 {len(late)} 条"
    )
    text, html = render(
        "digest",
        subject=subject,
        heading=heading,
        period=f"统计时段：过去 24 小时（截至 {now.astimezone(settings.tz):%Y-%m-%d %H:%M}）",
        new_alerts=alert_rows(session, new_alerts, settings),
        overdue_alerts=alert_rows(session, late, settings),
        open_count=open_count or 0,
        base_url=settings.base_url.rstrip("/"),
    )
    return outbox.queue(
        session=session,
        to=to,
        subject=subject,
        body_text=text,
        body_html=html,
        kind="digest",
        dedup_key=f"digest:{day.isoformat()}",
        now=now,
    )
