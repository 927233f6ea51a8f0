"""Retention: purge posts older than `retention_days` with their analyses, keeping daily counts."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from alerts.reports.models import DailyStat
from alerts.reports.stats import DayCounts, day_bounds, in_period, live_days
from analysis.models import Analysis
from core.config import Settings, get_settings
from core.db import utcnow
from crawlers.models import Post

log = logging.getLogger(__name__)

BATCH = 2000


@dataclass
class RetentionResult:
    """What a purge did."""

    cutoff: dt.date
    days: int = 0
    posts: int = 0
    analyses: int = 0


def cutoff_day(settings: Settings, now: dt.datetime) -> dt.date:
    """The first local day whose posts are kept."""
    return now.astimezone(settings.tz).date() - dt.timedelta(days=settings.retention_days)


def _oldest_day(session: Session, before: dt.datetime, settings: Settings) -> dt.date | None:
    published = session.scalar(
        select(func.min(Post.published_at)).where(Post.published_at < before)
    )
    fetched = session.scalar(
        select(func.min(Post.fetched_at)).where(
            Post.published_at.is_(None), Post.fetched_at < before
        )
    )
    oldest = min((t for t in (published, fetched) if t is not None), default=None)
    return oldest.astimezone(settings.tz).date() if oldest else None


def purge(
    *, session: Session, settings: Settings | None = None, now: dt.datetime | None = None
) -> RetentionResult:
    """Purge whole local days older than the retention period, one committed day at a time."""
    settings = settings or get_settings()
    now = now or utcnow()
    keep_from = cutoff_day(settings, now)
    before, _ = day_bounds(keep_from, keep_from, settings.tz)
    result = RetentionResult(cutoff=keep_from)
    while (day := _oldest_day(session, before, settings)) is not None:
        start, end = day_bounds(day, day, settings.tz)
        counts = live_days(session, start=start, end=end, tz=settings.tz).get(day)
        if counts is not None:
            row = session.get(DailyStat, day)
            if row is None:
                row = DailyStat(
                    day=day, posts=0, relevant=0, negative=0, neutral=0, positive=0, topics={}
                )
                session.add(row)
            kept = DayCounts.from_stat(row)
            kept.add(counts)
            kept.write_stat(row)
        while ids := list(
            session.scalars(select(Post.id).where(in_period(start, end)).limit(BATCH))
        ):
            result.analyses += session.execute(
                delete(Analysis).where(Analysis.post_id.in_(ids))
            ).rowcount
            result.posts += session.execute(delete(Post).where(Post.id.in_(ids))).rowcount
        session.commit()
        result.days += 1
        log.info("retention: purged %s (posts before %s are removed)", day, keep_from)
    return result
