"""Per-day counts of posts by relevance, sentiment and topic, from live rows and kept aggregates."""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import String, and_, cast, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from alerts.reports.models import DailyStat
from analysis.models import SENTIMENTS, Analysis
from crawlers.models import Post


@dataclass
class DayCounts:
    """One local day: all posts, relevant posts, their sentiments and per-topic sentiments."""

    posts: int = 0
    relevant: int = 0
    sentiment: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SENTIMENTS, 0))
    topics: dict[str, dict[str, int]] = field(default_factory=dict)

    def add(self, other: DayCounts) -> None:
        """Add another day's counts into this one."""
        self.posts += other.posts
        self.relevant += other.relevant
        for key, n in other.sentiment.items():
            self.sentiment[key] = self.sentiment.get(key, 0) + n
        for code, counts in other.topics.items():
            mine = self.topics.setdefault(code, dict.fromkeys(SENTIMENTS, 0))
            for key, n in counts.items():
                mine[key] = mine.get(key, 0) + n

    @classmethod
    def from_stat(cls, row: DailyStat) -> DayCounts:
        """The counts kept in a daily_stats row."""
        return cls(
            posts=row.posts or 0,
            relevant=row.relevant or 0,
            sentiment={
                "negative": row.negative or 0,
                "neutral": row.neutral or 0,
                "positive": row.positive or 0,
            },
            topics={code: dict(counts) for code, counts in (row.topics or {}).items()},
        )

    def write_stat(self, row: DailyStat) -> None:
        """Store these counts in a daily_stats row."""
        row.posts = self.posts
        row.relevant = self.relevant
        row.negative = self.sentiment.get("negative", 0)
        row.neutral = self.sentiment.get("neutral", 0)
        row.positive = self.sentiment.get("positive", 0)
        row.topics = {code: dict(counts) for code, counts in sorted(self.topics.items())}


def post_time() -> ColumnElement[Any]:
    """When a post counts as having appeared: published, else fetched."""
    return func.coalesce(Post.published_at, Post.fetched_at)


def in_period(start: dt.datetime, end: dt.datetime) -> ColumnElement[bool]:
    """Posts that appeared in [start, end), written so the published_at index can be used."""
    return or_(
        and_(Post.published_at >= start, Post.published_at < end),
        and_(Post.published_at.is_(None), Post.fetched_at >= start, Post.fetched_at < end),
    )


def _hour_bucket(session: Session) -> ColumnElement[str]:
    """The UTC hour of the post time as text 'YYYY-MM-DD HH' (grouped in SQL, dated in Python)."""
    if session.get_bind().dialect.name == "sqlite":
        return func.strftime("%Y-%m-%d %H", post_time())
    return func.to_char(func.timezone("UTC", post_time()), "YYYY-MM-DD HH24")


def live_days(
    session: Session, *, start: dt.datetime, end: dt.datetime, tz: ZoneInfo
) -> dict[dt.date, DayCounts]:
    """Counts per local day of the posts still in the database that appeared in [start, end)."""
    bucket = _hour_bucket(session).label("bucket")
    topics_text = cast(Analysis.topics, String).label("topics")
    stmt = (
        select(
            bucket,
            Analysis.relevant,
            Analysis.sentiment,
            topics_text,
            func.count().label("n"),
        )
        .select_from(Post)
        .outerjoin(Analysis, Analysis.post_id == Post.id)
        .where(in_period(start, end))
        .group_by(bucket, Analysis.relevant, Analysis.sentiment, topics_text)
    )
    days: dict[dt.date, DayCounts] = defaultdict(DayCounts)
    topic_cache: dict[str, list[str]] = {}
    for hour, relevant, sentiment, topics_raw, n in session.execute(stmt):
        utc_hour = dt.datetime.strptime(hour, "%Y-%m-%d %H").replace(tzinfo=dt.UTC)
        day = days[utc_hour.astimezone(tz).date()]
        day.posts += n
        if not relevant:
            continue
        day.relevant += n
        sentiment = sentiment if sentiment in SENTIMENTS else "neutral"
        day.sentiment[sentiment] += n
        if topics_raw not in topic_cache:
            topic_cache[topics_raw] = _parse_topics(topics_raw)
        for code in topic_cache[topics_raw]:
            counts = day.topics.setdefault(code, dict.fromkeys(SENTIMENTS, 0))
            counts[sentiment] += n
    return dict(days)


def _parse_topics(raw: str | None) -> list[str]:
    if not raw:
        return []
    try:
        value = json.loads(raw)
    except ValueError:
        return []
    return [str(code) for code in value] if isinstance(value, list) else []


def kept_days(session: Session, *, first: dt.date, last: dt.date) -> dict[dt.date, DayCounts]:
    """Aggregates kept for purged days in [first, last]."""
    rows = session.scalars(select(DailyStat).where(DailyStat.day >= first, DailyStat.day <= last))
    return {row.day: DayCounts.from_stat(row) for row in rows}


def day_bounds(first: dt.date, last: dt.date, tz: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """UTC instants of local midnight starting `first` and local midnight after `last`."""
    start = dt.datetime.combine(first, dt.time(), tzinfo=tz).astimezone(dt.UTC)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tzinfo=tz).astimezone(dt.UTC)
    return start, end


def days_between(
    session: Session, *, first: dt.date, last: dt.date, tz: ZoneInfo
) -> dict[dt.date, DayCounts]:
    """Every local day in [first, last]: live counts plus kept aggregates of purged posts."""
    start, end = day_bounds(first, last, tz)
    days = {first + dt.timedelta(days=i): DayCounts() for i in range((last - first).days + 1)}
    kept = kept_days(session, first=first, last=last)
    live = live_days(session, start=start, end=end, tz=tz)
    for part in (kept, live):
        for day, counts in part.items():
            if day in days:
                days[day].add(counts)
    return days
