"""Alert test helpers: analysed posts as the analysis package would leave them, and SMTP."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy.orm import Session

from alerts.setup import insert_default_rules
from analysis.models import Analysis, Event
from core.db import utcnow
from crawlers.models import Post, Source
from tests.factories import make_analysis, make_event, make_post, make_source
from tests.smtp import smtp_server  # noqa: F401  (fixture)

NOW = dt.datetime(2024, 5, 20, 2, 0, tzinfo=dt.UTC)  # 10:00 in Shenzhen


def analysed_post(
    session: Session,
    *,
    text: str = "社区计生办窗口办生育登记推诿，跑了三趟还没办好",
    title: str = "",
    relevant: bool = True,
    sentiment: str = "negative",
    topics: list[str] | None = None,
    places: list[str] | None = None,
    event: Event | None = None,
    source: Source | None = None,
    at: dt.datetime | None = None,
    **post_kw: Any,
) -> tuple[Post, Analysis]:
    """A crawled post and its analysis; `at` is both its publication and fetch time."""
    at = at or utcnow()
    post = make_post(
        session, source=source, title=title, text=text, published_at=at, fetched_at=at, **post_kw
    )
    analysis = make_analysis(
        session,
        post=post,
        relevant=relevant,
        sentiment=sentiment,
        topics=topics if topics is not None else (["registration"] if relevant else []),
        matched_terms={
            "plans": ["本街道"] if places else [],
            "place": places or [],
            "subject": [],
            "event": [],
        },
        event_id=event.id if event else None,
    )
    if event is not None:
        event.post_count += 1
        event.relevant_count += int(relevant)
        event.negative_count += int(sentiment == "negative")
        event.last_seen = max(event.last_seen, at)
        session.flush()
    return post, analysis


@pytest.fixture
def rules(session: Session) -> Session:
    """The default rules loaded into the test database."""
    insert_default_rules(session=session)
    session.commit()
    return session


__all__ = ["NOW", "analysed_post", "make_event", "make_source"]
