"""Alerts with their posts and notes, alert rules, the email outbox and sent reports."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Column, ForeignKey, Index, LargeBinary, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, utcnow

SEVERITIES = ("red", "orange", "yellow", "blue")
SEVERITY_LABELS = {"red": "特别重大", "orange": "重大", "yellow": "较大", "blue": "一般"}
STATES = ("new", "acknowledged", "in_progress", "resolved", "dismissed")
STATE_LABELS = {
    "new": "待处理",
    "acknowledged": "已确认",
    "in_progress": "处置中",
    "resolved": "已办结",
    "dismissed": "已忽略",
}

alert_posts = Table(
    "alert_posts",
    Base.metadata,
    Column("alert_id", ForeignKey("alerts.id", ondelete="CASCADE"), primary_key=True),
    Column("post_id", ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class AlertRule(Base):
    """A rule as data: what it looks for, how severe, and the reason shown to staff."""

    __tablename__ = "alert_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(100))
    severity: Mapped[str] = mapped_column(String(16), default="blue")
    enabled: Mapped[bool] = mapped_column(default=True)
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    reason: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Alert(Base):
    """Something staff should look at: one per event (or spike, or failing source)."""

    __tablename__ = "alerts"
    __table_args__ = (
        Index("ix_alerts_state_severity", "state", "severity"),
        Index("ix_alerts_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), default="content")
    dedup_key: Mapped[str] = mapped_column(String(200), index=True)
    event_id: Mapped[int | None] = mapped_column(
        ForeignKey("events.id", ondelete="SET NULL"), default=None, index=True
    )
    source_id: Mapped[int | None] = mapped_column(
        ForeignKey("sources.id", ondelete="SET NULL"), default=None
    )
    topic: Mapped[str] = mapped_column(String(32), default="")
    rule: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), default="new")
    title: Mapped[str] = mapped_column(Text, default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    matched_terms: Mapped[list[Any]] = mapped_column(default=list)
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    due_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    dismissed_reason: Mapped[str] = mapped_column(String(16), default="")
    previous_alert_id: Mapped[int | None] = mapped_column(
        ForeignKey("alerts.id", ondelete="SET NULL"), default=None
    )
    last_notified_at: Mapped[dt.datetime | None] = mapped_column(default=None)

    notes: Mapped[list[AlertNote]] = relationship(
        back_populates="alert", cascade="all, delete-orphan", order_by="AlertNote.created_at"
    )


class AlertNote(Base):
    """A note staff wrote on an alert: what they did."""

    __tablename__ = "alert_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    alert: Mapped[Alert] = relationship(back_populates="notes")


class OutboxEmail(Base):
    """A mail waiting to go, or sent; an SMTP outage delays it and loses nothing."""

    __tablename__ = "email_outbox"
    __table_args__ = (Index("ix_email_outbox_pending", "sent_at", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), default="alert")
    dedup_key: Mapped[str] = mapped_column(String(200), default="", index=True)
    to_addrs: Mapped[str] = mapped_column(Text)
    subject: Mapped[str] = mapped_column(Text)
    body_text: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str] = mapped_column(Text, default="")
    mime: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    last_error: Mapped[str] = mapped_column(Text, default="")


class Report(Base):
    """A built monthly report; kept so it can be previewed and re-sent."""

    __tablename__ = "reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), default="monthly")
    period: Mapped[str] = mapped_column(String(16), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    figures: Mapped[dict[str, Any]] = mapped_column(default=dict)
    html: Mapped[str] = mapped_column(Text, default="")
    outbox_id: Mapped[int | None] = mapped_column(
        ForeignKey("email_outbox.id", ondelete="SET NULL"), default=None
    )
    sent_at: Mapped[dt.datetime | None] = mapped_column(default=None)
