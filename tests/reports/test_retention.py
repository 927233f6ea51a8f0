"""Retention purges old posts with their analyses; the report still counts them by day."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from alerts.reports.models import DailyStat
from alerts.reports.monthly import build_monthly_report
from alerts.reports.retention import purge
from analysis.models import Analysis
from crawlers.models import Post
from tests.factories import make_analysis, make_post
from tests.reports.data import local, make_month

FIGURES = ("totals", "sentiment", "daily", "topics")


def test_purge_keeps_daily_counts_and_the_report_is_unchanged(session, settings):
    make_month(session)
    recent = make_post(session, title="近期", published_at=local(2027, 3, 1))
    make_analysis(session, post=recent)
    session.commit()
    now = local(2027, 4, 10, 3, 30)
    before = build_monthly_report(session=session, month="2025-03", settings=settings, now=now)
    total_posts = session.scalar(select(func.count()).select_from(Post))

    result = purge(session=session, settings=settings, now=now)  # 730 days: before 2025-04-10

    remaining = session.scalars(select(Post)).all()
    assert [p.title for p in remaining] == ["近期"]
    assert result.posts == total_posts - 1
    assert session.scalar(select(func.count()).select_from(Analysis)) == 1
    assert session.get(DailyStat, dt.date(2025, 3, 1)).posts > 0
    after = build_monthly_report(session=session, month="2025-03", settings=settings, now=now)
    for key in FIGURES:
        assert after.figures[key] == before.figures[key], key
    assert after.figures["negative_posts"] == []  # the posts themselves are gone

    # idempotent: nothing left to purge, counts not doubled
    assert purge(session=session, settings=settings, now=now).posts == 0
    again = build_monthly_report(session=session, month="2025-03", settings=settings, now=now)
    assert again.figures["totals"] == before.figures["totals"]


def test_late_old_post_is_added_to_the_kept_day(session, settings):
    now = local(2027, 4, 10)
    old = make_post(session, published_at=local(2024, 1, 5, 12))
    make_analysis(session, post=old, sentiment="negative", topics=["policy"])
    session.commit()
    purge(session=session, settings=settings, now=now)
    late = make_post(session, published_at=local(2024, 1, 5, 18))
    make_analysis(session, post=late, sentiment="positive", topics=["policy"])
    session.commit()
    purge(session=session, settings=settings, now=now)
    day = session.get(DailyStat, dt.date(2024, 1, 5))
    assert (day.posts, day.relevant, day.negative, day.positive) == (2, 2, 1, 1)
    assert day.topics["policy"] == {"negative": 1, "neutral": 0, "positive": 1}


def test_posts_inside_the_retention_period_stay(session, settings):
    now = local(2025, 6, 1)
    keep = make_post(session, published_at=now - dt.timedelta(days=700))
    session.commit()
    assert purge(session=session, settings=settings, now=now).posts == 0
    assert session.get(Post, keep.id) is not None
