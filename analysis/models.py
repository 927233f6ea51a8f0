"""Topics, monitoring plans, per-post analyses, events and staff label corrections."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, utcnow

SENTIMENTS = ("negative", "neutral", "positive")


class Topic(Base):
    """One entry of the topic taxonomy (code in English, label in Chinese)."""

    __tablename__ = "topics"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    label: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(default=0)


class MonitoringPlan(Base):
    """监测方案: place, subject, event and exclusion words plus a boolean expression."""

    __tablename__ = "monitoring_plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    enabled: Mapped[bool] = mapped_column(default=True)
    place_words: Mapped[list[Any]] = mapped_column(default=list)
    subject_words: Mapped[list[Any]] = mapped_column(default=list)
    event_words: Mapped[list[Any]] = mapped_column(default=list)
    exclude_words: Mapped[list[Any]] = mapped_column(default=list)
    expression: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Event(Base):
    """A group of near-duplicate or similar posts about one matter within a time window."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(Text, default="")
    first_seen: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    last_seen: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    post_count: Mapped[int] = mapped_column(default=0)
    negative_count: Mapped[int] = mapped_column(default=0)
    relevant_count: Mapped[int] = mapped_column(default=0)
    topics: Mapped[list[Any]] = mapped_column(default=list)
    signature: Mapped[dict[str, Any]] = mapped_column(default=dict)

    @property
    def negative_share(self) -> float:
        """Share of the event's posts that are negative."""
        return self.negative_count / self.post_count if self.post_count else 0.0


class Analysis(Base):
    """What the models said about one post, under one model version."""

    __tablename__ = "analyses"
    __table_args__ = (
        Index("ix_analyses_relevant_sentiment", "relevant", "sentiment"),
        Index("ix_analyses_model_version", "model_version"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), unique=True)
    model_version: Mapped[str] = mapped_column(String(64))
    analysed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    relevant: Mapped[bool] = mapped_column(default=False)
    relevance_proba: Mapped[float] = mapped_column(default=0.0)
    topics: Mapped[list[Any]] = mapped_column(default=list)
    topic_proba: Mapped[dict[str, Any]] = mapped_column(default=dict)
    sentiment: Mapped[str] = mapped_column(String(16), default="neutral")
    sentiment_proba: Mapped[dict[str, Any]] = mapped_column(default=dict)
    matched_terms: Mapped[dict[str, Any]] = mapped_column(default=dict)
    explanation: Mapped[dict[str, Any]] = mapped_column(default=dict)
    simhash: Mapped[str] = mapped_column(String(20), default="")
    duplicate_of: Mapped[int | None] = mapped_column(
        ForeignKey("posts.id", ondelete="SET NULL"), default=None
    )
    event_id: Mapped[int | None] = mapped_column(
        ForeignKey("events.id", ondelete="SET NULL"), default=None, index=True
    )

    event: Mapped[Event | None] = relationship()


class LabelCorrection(Base):
    """A staff correction of a post's labels; joins the training data on the next train."""

    __tablename__ = "label_corrections"

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int | None] = mapped_column(
        ForeignKey("posts.id", ondelete="SET NULL"), default=None, index=True
    )
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    origin: Mapped[str] = mapped_column(String(16), default="web")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    title: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text, default="")
    relevant: Mapped[bool | None] = mapped_column(default=None)
    topics: Mapped[list[Any] | None] = mapped_column(default=None)
    sentiment: Mapped[str | None] = mapped_column(String(16), default=None)
    alert: Mapped[bool | None] = mapped_column(default=None)
    note: Mapped[str] = mapped_column(Text, default="")
