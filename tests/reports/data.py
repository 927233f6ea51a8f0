"""A month of posts with analyses, events, alerts and crawl runs, built from the factories."""

from __future__ import annotations

import datetime as dt
import random
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from tests.factories import (
    make_alert,
    make_analysis,
    make_event,
    make_post,
    make_run,
    make_source,
)

TZ = ZoneInfo("Asia/Shanghai")
TOPICS = ["registration", "support", "staff_conduct", "policy", "special_families"]
WORDS = ["生育登记", "窗口态度", "育儿补贴", "独生子女", "失独家庭", "产假", "办证"]


def local(y: int, m: int, d: int, h: int = 10, minute: int = 0) -> dt.datetime:
    """An aware datetime in the office timezone."""
    return dt.datetime(y, m, d, h, minute, tzinfo=TZ)


def make_month(session: Session, *, year: int = 2025, month: int = 3, seed: int = 7) -> dict:
    """About 150 posts spread over the month, some before it and at its edges."""
    rng = random.Random(seed)
    board = make_source(session, name="街道留言板", interval_minutes=30)
    news = make_source(session, name="本地新闻", interval_minutes=60)
    events = [
        make_event(session, title=f"事件{i}：{WORDS[i]}问题", topics=[TOPICS[i]]) for i in range(3)
    ]
    posts = []
    for day in range(1, 32):
        for _ in range(rng.randint(2, 7)):
            when = local(year, month, day, rng.randint(0, 23), rng.randint(0, 59))
            word = rng.choice(WORDS)
            post = make_post(
                session,
                source=rng.choice([board, news]),
                title=f"关于{word}的反映",
                text=f"{word}的问题，{rng.choice(WORDS)}办理太慢，希望有关部门尽快处理。",
                published_at=when,
                likes=rng.randint(0, 50),
                replies=rng.randint(0, 20),
                reposts=rng.randint(0, 10),
                views=rng.randint(0, 1000),
            )
            posts.append(post)
            roll = rng.random()
            if roll < 0.1:
                continue  # not analysed yet
            relevant = roll < 0.8
            sentiment = rng.choice(["negative", "negative", "neutral", "positive"])
            topics = rng.sample(TOPICS, rng.randint(1, 2)) if relevant else []
            event = rng.choice([*events, None, None]) if relevant else None
            make_analysis(
                session,
                post=post,
                relevant=relevant,
                sentiment=sentiment,
                topics=topics,
                event_id=event.id if event else None,
            )
    # Edges: the first minute of the month counts; local 1 April 01:00 (still 31 March in UTC)
    # does not; a post with no publication time counts by when it was fetched.
    edge_in = make_post(
        session, source=board, title="月初", published_at=local(year, month, 1, 0, 0)
    )
    make_analysis(session, post=edge_in, relevant=True, sentiment="negative", topics=["policy"])
    edge_out = make_post(
        session, source=board, title="下月", published_at=local(year, month + 1, 1, 1)
    )
    make_analysis(session, post=edge_out, relevant=True, sentiment="negative", topics=["policy"])
    undated = make_post(session, source=news, title="无日期", fetched_at=local(year, month, 15))
    undated.published_at = None
    make_analysis(session, post=undated, relevant=True, sentiment="positive", topics=["support"])
    # The month before: fewer posts, for the month-on-month change.
    for day in range(1, 20):
        post = make_post(
            session, source=news, title="上月", published_at=local(year, month - 1, day)
        )
        make_analysis(
            session,
            post=post,
            relevant=day % 2 == 0,
            sentiment="neutral",
            topics=["policy"] if day % 2 == 0 else [],
        )
    # Alerts: raised in the month with acknowledge/resolve times, one overdue, one last month.
    start = local(year, month, 3, 9)
    alerts = [
        make_alert(
            session,
            severity="red",
            state="resolved",
            created_at=start,
            acknowledged_at=start + dt.timedelta(hours=1),
            resolved_at=start + dt.timedelta(hours=3),
            due_at=start + dt.timedelta(hours=2),
        ),
        make_alert(
            session,
            severity="red",
            state="acknowledged",
            created_at=start,
            acknowledged_at=start + dt.timedelta(hours=2),
            due_at=start + dt.timedelta(hours=2),
        ),
        make_alert(
            session,
            severity="yellow",
            state="resolved",
            created_at=start,
            acknowledged_at=start + dt.timedelta(hours=4),
            resolved_at=start + dt.timedelta(hours=10),
            due_at=start + dt.timedelta(hours=24),
        ),
        make_alert(
            session,
            severity="blue",
            state="dismissed",
            created_at=start,
            updated_at=start + dt.timedelta(hours=1),
            due_at=start + dt.timedelta(hours=72),
        ),
        make_alert(session, severity="blue", state="new", created_at=local(year, month - 1, 5)),
    ]
    for day in (2, 9, 16):
        make_run(
            session, source=board, status="ok", started_at=local(year, month, day), items_new=10
        )
    make_run(
        session,
        source=news,
        status="failed",
        started_at=local(year, month, 20),
        last_error="HTTP 500",
    )
    session.commit()
    return {"posts": posts, "sources": [board, news], "events": events, "alerts": alerts}
