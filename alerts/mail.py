"""Rendering alert mail (plain text and HTML, in Chinese) and choosing who gets it."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alerts.models import SEVERITY_LABELS, STATE_LABELS, Alert, alert_posts
from core.config import Settings
from core.models import User

COLORS = {"red": "#c0392b", "orange": "#e67e22", "yellow": "#d4ac0d", "blue": "#2e86c1"}


@lru_cache(maxsize=1)
def environment() -> Environment:
    """The Jinja2 environment of alerts/templates (HTML autoescaped, text not)."""
    return Environment(
        loader=PackageLoader("alerts", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render(name: str, **context: Any) -> tuple[str, str]:
    """(plain text, HTML) of the template pair `name`.txt / `name`.html."""
    env = environment()
    return env.get_template(f"{name}.txt").render(**context), env.get_template(
        f"{name}.html"
    ).render(**context)


def alert_url(settings: Settings, alert_id: int) -> str:
    """The alert's page in the web app."""
    return f"{settings.base_url.rstrip('/')}/alerts/{alert_id}"


def local_time(value: dt.datetime | None, settings: Settings) -> str:
    """A datetime as the office reads it."""
    if value is None:
        return "—"
    return value.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M")


def alert_rows(session: Session, alerts: list[Alert], settings: Settings) -> list[dict[str, Any]]:
    """What the templates show of each alert."""
    counts: dict[int, int] = {}
    if alerts:
        counts = dict(
            session.execute(
                select(alert_posts.c.alert_id, func.count())
                .where(alert_posts.c.alert_id.in_([a.id for a in alerts]))
                .group_by(alert_posts.c.alert_id)
            ).all()
        )
    return [
        {
            "id": a.id,
            "title": a.title,
            "reason": a.reason,
            "severity": a.severity,
            "severity_label": SEVERITY_LABELS.get(a.severity, a.severity),
            "color": COLORS.get(a.severity, "#555"),
            "state_label": STATE_LABELS.get(a.state, a.state),
            "posts": counts.get(a.id, 0),
            "due": local_time(a.due_at, settings),
            "url": alert_url(settings, a.id),
        }
        for a in alerts
    ]


def duty_recipients(session: Session, settings: Settings) -> list[str]:
    """On-duty active users with an email address, then the configured alert recipients."""
    emails = session.scalars(
        select(User.email)
        .where(User.active.is_(True), User.on_duty.is_(True), User.email != "")
        .order_by(User.id)
    )
    return list(dict.fromkeys([*emails, *settings.alert_recipients]))


def admin_recipients(session: Session, settings: Settings) -> list[str]:
    """Active admins with an email address; the alert recipients when there are none."""
    emails = list(
        session.scalars(
            select(User.email)
            .where(User.active.is_(True), User.role == "admin", User.email != "")
            .order_by(User.id)
        )
    )
    return list(dict.fromkeys(emails or settings.alert_recipients))
