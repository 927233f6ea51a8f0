"""Read-side queries: the dashboard's per-day cache stays correct."""

from __future__ import annotations

import datetime as dt
import time

from api import queries
from core.db import session_factory, utcnow
from tests import factories


def _post(session, when: dt.datetime, sentiment: str = "negative") -> None:  # type: ignore[no-untyped-def]
    post = factories.make_post(session, text=f"生育登记 {when.isoformat()}", published_at=when)
    factories.make_analysis(session, post=post, sentiment=sentiment, topics=["registration"])


def test_dashboard_counts_and_cache_refresh(settings, session) -> None:  # type: ignore[no-untyped-def]
    tz = settings.tz
    yesterday = utcnow() - dt.timedelta(days=1)
    _post(session, yesterday)
    _post(session, utcnow(), sentiment="neutral")
    session.commit()
    cache = queries.DailyStatsCache(ttl=0.0, factory=session_factory(settings))
    data = queries.dashboard(session, tz=tz, days=7, cache=cache)
    assert data["totals"] == {"all": 2, "relevant": 2, "negative": 1}
    assert data["topics"][0]["code"] == "registration" and data["topics"][0]["share"] == 0.5

    # today is always live; a closed day shows stale counts until the background recount lands
    _post(session, utcnow())
    _post(session, yesterday)
    session.commit()
    data = queries.dashboard(session, tz=tz, days=7, cache=cache)
    assert data["totals"]["all"] == 3
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if queries.dashboard(session, tz=tz, days=7, cache=cache)["totals"]["all"] == 4:
            break
        time.sleep(0.05)
    assert queries.dashboard(session, tz=tz, days=7, cache=cache)["totals"]["all"] == 4
    uncached = queries.dashboard(session, tz=tz, days=7)
    assert uncached["totals"] == {"all": 4, "relevant": 4, "negative": 3}
