"""Daily aggregate counts that outlive purged posts."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Date
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, utcnow


class DailyStat(Base):
    """Counts of one local day's posts, kept when retention purges the posts themselves."""

    __tablename__ = "daily_stats"

    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    posts: Mapped[int] = mapped_column(default=0)
    relevant: Mapped[int] = mapped_column(default=0)
    negative: Mapped[int] = mapped_column(default=0)
    neutral: Mapped[int] = mapped_column(default=0)
    positive: Mapped[int] = mapped_column(default=0)
    # {topic code: {"negative": n, "neutral": n, "positive": n}} over relevant posts
    topics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
