"""Read-side queries shared by the pages and the JSON API (filters, counts, dashboard figures)."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import String, and_, case, cast, exists, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from alerts.models import SEVERITIES, STATES, Alert, AlertNote, AlertRule, alert_posts
from analysis.models import Analysis, Event
from core.db import utcnow
from core.models import AuditLog, User
from crawlers.models import CrawlRun, Post, Source

OPEN_STATES = ("new", "acknowledged", "in_progress")
SEVERITY_ORDER = case({s: i for i, s in enumerate(SEVERITIES)}, value=Alert.severity, else_=9)
PAGE_SIZE = 30


def like_escape(text: str) -> str:
    """Escape LIKE wildcards so user text is matched literally."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def day_bounds(day: dt.date, tz: Any) -> dt.datetime:
    """Midnight of a local date as an aware UTC datetime."""
    return dt.datetime.combine(day, dt.time(), tzinfo=tz).astimezone(dt.UTC)


@dataclass
class AlertFilter:
    """What the alerts list is filtered and sorted by."""

    state: str = "open"
    severity: str = ""
    topic: str = ""
    source_id: int | None = None
    assignee: str = ""  # "", "me", "none" or a user id
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    q: str = ""
    sort: str = "severity"
    page: int = 1
    overdue: bool = False

    def params(self, **changes: Any) -> dict[str, Any]:
        """Query parameters reproducing this filter (with changes), for links."""
        values = {
            "state": self.state,
            "severity": self.severity,
            "topic": self.topic,
            "source": self.source_id or "",
            "assignee": self.assignee,
            "from": self.date_from.isoformat() if self.date_from else "",
            "to": self.date_to.isoformat() if self.date_to else "",
            "q": self.q,
            "sort": self.sort,
            "overdue": "1" if self.overdue else "",
            "page": self.page,
        }
        values.update(changes)
        return {k: v for k, v in values.items() if v not in ("", None, 1) or k == "state"}


def alert_conditions(
    f: AlertFilter, *, user: User | None, tz: Any, now: dt.datetime | None = None
) -> list[Any]:
    """SQL conditions for an alert filter."""
    now = now or utcnow()
    conds: list[Any] = []
    if f.state == "open":
        conds.append(Alert.state.in_(OPEN_STATES))
    elif f.state in STATES:
        conds.append(Alert.state == f.state)
    if f.severity in SEVERITIES:
        conds.append(Alert.severity == f.severity)
    if f.topic:
        conds.append(Alert.topic == f.topic)
    if f.source_id:
        via_posts = exists(
            select(alert_posts.c.alert_id)
            .join(Post, Post.id == alert_posts.c.post_id)
            .where(alert_posts.c.alert_id == Alert.id, Post.source_id == f.source_id)
        )
        conds.append(or_(Alert.source_id == f.source_id, via_posts))
    if f.assignee == "me" and user is not None:
        conds.append(Alert.assignee_id == user.id)
    elif f.assignee == "none":
        conds.append(Alert.assignee_id.is_(None))
    elif f.assignee.isdigit():
        conds.append(Alert.assignee_id == int(f.assignee))
    if f.date_from:
        conds.append(Alert.created_at >= day_bounds(f.date_from, tz))
    if f.date_to:
        conds.append(Alert.created_at < day_bounds(f.date_to + dt.timedelta(days=1), tz))
    if f.q:
        pattern = f"%{like_escape(f.q)}%"
        conds.append(
            or_(Alert.title.like(pattern, escape="\\"), Alert.reason.like(pattern, escape="\\"))
        )
    if f.overdue:
        conds.append(and_(Alert.state.in_(OPEN_STATES), Alert.due_at < now))
    return conds


def alert_order(sort: str) -> list[Any]:
    """ORDER BY for the alert list's sort key."""
    if sort == "time":
        return [Alert.created_at.desc(), Alert.id.desc()]
    if sort == "due":
        return [Alert.due_at.is_(None), Alert.due_at.asc(), Alert.id.desc()]
    return [SEVERITY_ORDER, Alert.created_at.desc(), Alert.id.desc()]


@dataclass
class AlertPage:
    """One page of alerts plus what the list shows around it."""

    alerts: list[Alert]
    total: int
    page: int
    pages: int
    post_counts: dict[int, int] = field(default_factory=dict)
    assignees: dict[int, User] = field(default_factory=dict)
    state_counts: dict[str, int] = field(default_factory=dict)
    severity_counts: dict[str, int] = field(default_factory=dict)
    overdue_count: int = 0


def list_alerts(
    session: Session,
    f: AlertFilter,
    *,
    user: User | None,
    tz: Any,
    page_size: int = PAGE_SIZE,
    with_counts: bool = True,
) -> AlertPage:
    """A page of alerts for a filter, with the counts the list header shows."""
    now = utcnow()
    conds = alert_conditions(f, user=user, tz=tz, now=now)
    total = session.scalar(select(func.count()).select_from(Alert).where(*conds)) or 0
    pages = max(1, -(-total // page_size))
    page = min(max(1, f.page), pages)
    rows = list(
        session.scalars(
            select(Alert)
            .where(*conds)
            .order_by(*alert_order(f.sort))
            .offset((page - 1) * page_size)
            .limit(page_size)
        )
    )
    result = AlertPage(alerts=rows, total=total, page=page, pages=pages)
    ids = [a.id for a in rows]
    if ids:
        result.post_counts = dict(
            session.execute(
                select(alert_posts.c.alert_id, func.count())
                .where(alert_posts.c.alert_id.in_(ids))
                .group_by(alert_posts.c.alert_id)
            ).all()
        )
        assignee_ids = {a.assignee_id for a in rows if a.assignee_id}
        if assignee_ids:
            result.assignees = {
                u.id: u for u in session.scalars(select(User).where(User.id.in_(assignee_ids)))
            }
    if with_counts:
        result.state_counts = dict(
            session.execute(select(Alert.state, func.count()).group_by(Alert.state)).all()
        )
        result.severity_counts = dict(
            session.execute(
                select(Alert.severity, func.count())
                .where(Alert.state.in_(OPEN_STATES))
                .group_by(Alert.severity)
            ).all()
        )
        result.overdue_count = (
            session.scalar(
                select(func.count())
                .select_from(Alert)
                .where(Alert.state.in_(OPEN_STATES), Alert.due_at < now)
            )
            or 0
        )
    return result


def is_overdue(alert: Alert, now: dt.datetime | None = None) -> bool:
    """Whether an open alert is past its due time."""
    now = now or utcnow()
    return alert.state in OPEN_STATES and alert.due_at is not None and alert.due_at < now


@dataclass
class PostRow:
    """A post with its analysis and source, as lists and the detail page show it."""

    post: Post
    analysis: Analysis | None
    source: Source | None


def alert_posts_rows(session: Session, alert: Alert, limit: int = 200) -> list[PostRow]:
    """The alert's posts and, for an event alert, the rest of the event's posts (newest first)."""
    # two indexed look-ups instead of one OR across tables, which would scan every post
    ids = set(
        session.scalars(select(alert_posts.c.post_id).where(alert_posts.c.alert_id == alert.id))
    )
    if alert.event_id:
        ids.update(
            session.scalars(
                select(Analysis.post_id)
                .where(Analysis.event_id == alert.event_id)
                .order_by(Analysis.post_id.desc())
                .limit(limit * 5)
            )
        )
    if not ids:
        return []
    rows = session.execute(
        select(Post, Analysis, Source)
        .outerjoin(Analysis, Analysis.post_id == Post.id)
        .outerjoin(Source, Source.id == Post.source_id)
        .where(Post.id.in_(sorted(ids)))
        .order_by(Post.published_at.desc(), Post.id.desc())
        .limit(limit)
    ).all()
    return [PostRow(p, a, s) for p, a, s in rows]


def alert_detail(session: Session, alert: Alert) -> dict[str, Any]:
    """Everything the alert detail page shows besides the alert itself."""
    rows = alert_posts_rows(session, alert)
    rule = session.scalar(select(AlertRule).where(AlertRule.code == alert.rule))
    event = session.get(Event, alert.event_id) if alert.event_id else None
    notes = list(
        session.execute(
            select(AlertNote, User)
            .outerjoin(User, User.id == AlertNote.user_id)
            .where(AlertNote.alert_id == alert.id)
            .order_by(AlertNote.created_at, AlertNote.id)
        ).all()
    )
    audit = list(
        session.scalars(
            select(AuditLog)
            .where(AuditLog.entity_type == "alert", AuditLog.entity_id == alert.id)
            .order_by(AuditLog.at, AuditLog.id)
        )
    )
    assignee = session.get(User, alert.assignee_id) if alert.assignee_id else None
    source = session.get(Source, alert.source_id) if alert.source_id else None
    return {
        "rows": rows,
        "rule": rule,
        "event": event,
        "notes": notes,
        "audit": audit,
        "assignee": assignee,
        "source": source,
    }


def active_users(session: Session) -> list[User]:
    """Users alerts can be assigned to."""
    return list(session.scalars(select(User).where(User.active.is_(True)).order_by(User.name)))


def all_sources(session: Session) -> list[Source]:
    """Every source, by name."""
    return list(session.scalars(select(Source).order_by(Source.name)))


@dataclass
class PostFilter:
    """What the posts list is filtered by."""

    q: str = ""
    topic: str = ""
    sentiment: str = ""
    source_id: int | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    relevant_only: bool = False
    page: int = 1

    def params(self, **changes: Any) -> dict[str, Any]:
        """Query parameters reproducing this filter."""
        values = {
            "q": self.q,
            "topic": self.topic,
            "sentiment": self.sentiment,
            "source": self.source_id or "",
            "from": self.date_from.isoformat() if self.date_from else "",
            "to": self.date_to.isoformat() if self.date_to else "",
            "relevant": "1" if self.relevant_only else "",
            "page": self.page,
        }
        values.update(changes)
        return {k: v for k, v in values.items() if v not in ("", None, 1)}


def posts_select(f: PostFilter, tz: Any) -> Select[Any]:
    """SELECT post, analysis, source for a post filter, newest first."""
    stmt = (
        select(Post, Analysis, Source)
        .outerjoin(Analysis, Analysis.post_id == Post.id)
        .outerjoin(Source, Source.id == Post.source_id)
    )
    if f.q:
        pattern = f"%{like_escape(f.q)}%"
        stmt = stmt.where(
            or_(Post.title.like(pattern, escape="\\"), Post.raw_text.like(pattern, escape="\\"))
        )
    if f.topic:
        # topics is a JSON list; its text form contains "code" with the quotes on both engines
        stmt = stmt.where(
            cast(Analysis.topics, String).like(f'%"{like_escape(f.topic)}"%', escape="\\")
        )
    if f.sentiment:
        stmt = stmt.where(Analysis.sentiment == f.sentiment)
    if f.source_id:
        stmt = stmt.where(Post.source_id == f.source_id)
    if f.date_from:
        stmt = stmt.where(Post.published_at >= day_bounds(f.date_from, tz))
    if f.date_to:
        stmt = stmt.where(Post.published_at < day_bounds(f.date_to + dt.timedelta(days=1), tz))
    if f.relevant_only:
        stmt = stmt.where(Analysis.relevant.is_(True))
    # plain DESC so the published_at index serves the order on both engines
    return stmt.order_by(Post.published_at.desc(), Post.id.desc())


def list_posts(
    session: Session, f: PostFilter, tz: Any, page_size: int = PAGE_SIZE
) -> tuple[list[PostRow], bool]:
    """A page of posts and whether a next page exists (no total: counting 1M rows is slow)."""
    page = max(1, f.page)
    rows = session.execute(
        posts_select(f, tz).offset((page - 1) * page_size).limit(page_size + 1)
    ).all()
    return [PostRow(p, a, s) for p, a, s in rows[:page_size]], len(rows) > page_size


def _local_day(column: Any, session: Session, tz: Any) -> Any:
    if session.get_bind().dialect.name == "sqlite":
        offset = dt.datetime.now(tz).utcoffset() or dt.timedelta()
        minutes = int(offset.total_seconds() // 60)
        return func.date(column, f"{minutes:+d} minutes")
    return func.date(func.timezone(str(tz), column))


@dataclass
class DaySummary:
    """One local day's post counts: all, relevant, relevant negative, and per topic."""

    all: int = 0
    relevant: int = 0
    negative: int = 0
    topics: dict[str, list[int]] = field(default_factory=dict)  # code -> [total, negative]


def _summarise(session: Session, tz: Any, first: dt.date, end: dt.date) -> dict[str, DaySummary]:
    """Per-day summaries for [first, end) from one grouped query."""
    day = _local_day(Post.published_at, session, tz)
    topics_text = cast(Analysis.topics, String)
    rows = session.execute(
        select(day, Analysis.relevant, Analysis.sentiment, topics_text, func.count())
        .select_from(Post)
        .outerjoin(Analysis, Analysis.post_id == Post.id)
        .where(Post.published_at >= day_bounds(first, tz), Post.published_at < day_bounds(end, tz))
        .group_by(day, Analysis.relevant, Analysis.sentiment, topics_text)
    ).all()
    out: dict[str, DaySummary] = defaultdict(DaySummary)
    parsed: dict[str, list[str]] = {}
    for day_value, relevant, sentiment, text, count in rows:
        summary = out[str(day_value)[:10]]
        summary.all += count
        if not relevant:
            continue
        summary.relevant += count
        negative = sentiment == "negative"
        if negative:
            summary.negative += count
        if text not in parsed:
            try:
                value = json.loads(text) if text else []
            except ValueError:
                value = []
            parsed[text] = [str(v) for v in value] if isinstance(value, list) else []
        for code in parsed[text]:
            pair = summary.topics.setdefault(code, [0, 0])
            pair[0] += count
            if negative:
                pair[1] += count
    return out


class DailyStatsCache:
    """Per-day summaries of closed days, kept a few minutes.

    Past days barely change, so only today is counted on every view. A day older than `ttl`
    seconds is served as it was while a background thread recounts it (with its own session from
    `factory`), so late posts and label corrections show up without anyone waiting; only days
    never counted since the start block the page.
    """

    def __init__(self, ttl: float = 600.0, factory: Any = None) -> None:
        self.ttl = ttl
        self.factory = factory
        self._days: dict[str, tuple[float, DaySummary]] = {}
        self._lock = threading.Lock()
        self._refreshing = False

    def _store(self, fresh: dict[str, DaySummary], days: list[str], stamp: float) -> None:
        with self._lock:
            for d in days:
                self._days[d] = (stamp, fresh.get(d, DaySummary()))
            if len(self._days) > 800:
                for key in sorted(self._days)[: len(self._days) - 800]:
                    del self._days[key]

    def _refresh(self, tz: Any, days: list[str]) -> None:
        try:
            with self.factory() as session:
                fresh = _summarise(
                    session,
                    tz,
                    dt.date.fromisoformat(min(days)),
                    dt.date.fromisoformat(max(days)) + dt.timedelta(days=1),
                )
            self._store(fresh, days, time.monotonic())
        except Exception:  # a failed refresh keeps the old counts; the next view retries
            import logging

            logging.getLogger(__name__).exception("dashboard refresh failed")
        finally:
            with self._lock:
                self._refreshing = False

    def summaries(
        self, session: Session, tz: Any, start_day: dt.date, today: dt.date
    ) -> dict[str, DaySummary]:
        """Summaries from start_day to today (today always counted afresh)."""
        now = time.monotonic()
        days = [
            (start_day + dt.timedelta(days=i)).isoformat() for i in range((today - start_day).days)
        ]
        with self._lock:
            missing = [d for d in days if d not in self._days]
            stale = [d for d in days if d in self._days and now - self._days[d][0] > self.ttl]
            start_refresh = bool(stale) and self.factory is not None and not self._refreshing
            if start_refresh:
                self._refreshing = True
        if stale and self.factory is None:
            missing += stale
        if start_refresh:
            threading.Thread(
                target=self._refresh, args=(tz, stale), daemon=True, name="dashboard-refresh"
            ).start()
        if missing:
            fresh = _summarise(
                session,
                tz,
                dt.date.fromisoformat(min(missing)),
                dt.date.fromisoformat(max(missing)) + dt.timedelta(days=1),
            )
            self._store(fresh, missing, now)
        with self._lock:
            out = {d: self._days[d][1] for d in days}
        out.update(_summarise(session, tz, today, today + dt.timedelta(days=1)))
        return out


def dashboard(
    session: Session, *, tz: Any, days: int = 30, cache: DailyStatsCache | None = None
) -> dict[str, Any]:
    """Daily volumes, negative share per topic, top events and source health for the overview."""
    now = utcnow()
    today = now.astimezone(tz).date()
    start_day = today - dt.timedelta(days=days - 1)
    start = day_bounds(start_day, tz)
    if cache is not None:
        by_day = cache.summaries(session, tz, start_day, today)
    else:
        by_day = _summarise(session, tz, start_day, today + dt.timedelta(days=1))
    dates = [(start_day + dt.timedelta(days=i)).isoformat() for i in range(days)]
    empty = DaySummary()
    summaries = [by_day.get(d, empty) for d in dates]
    series = {
        "all": [s.all for s in summaries],
        "relevant": [s.relevant for s in summaries],
        "negative": [s.negative for s in summaries],
    }
    topic_total: Counter[str] = Counter()
    topic_negative: Counter[str] = Counter()
    for summary in summaries:
        for code, (total, negative) in summary.topics.items():
            topic_total[code] += total
            topic_negative[code] += negative
    topics = [
        {
            "code": code,
            "total": total,
            "negative": topic_negative[code],
            "share": topic_negative[code] / total if total else 0.0,
            "daily": [s.topics.get(code, [0, 0])[0] for s in summaries],
        }
        for code, total in topic_total.most_common()
    ]
    events = list(
        session.scalars(
            select(Event)
            .where(Event.last_seen >= start)
            .order_by(Event.negative_count.desc(), Event.post_count.desc(), Event.id.desc())
            .limit(10)
        )
    )
    return {
        "dates": dates,
        "series": series,
        "topics": topics,
        "events": events,
        "sources": source_health(session, now=now),
        "days": days,
        "totals": {name: sum(values) for name, values in series.items()},
    }


def source_health(
    session: Session, *, now: dt.datetime | None = None, days: int = 7
) -> list[dict[str, Any]]:
    """Per source: last run, its status and error, new posts per day over the last days."""
    now = now or utcnow()
    sources = all_sources(session)
    last_ids = select(func.max(CrawlRun.id)).group_by(CrawlRun.source_id)
    last_runs = {
        r.source_id: r for r in session.scalars(select(CrawlRun).where(CrawlRun.id.in_(last_ids)))
    }
    since = now - dt.timedelta(days=days)
    recent = session.execute(
        select(
            CrawlRun.source_id,
            func.count(),
            func.sum(case((CrawlRun.status == "failed", 1), else_=0)),
            func.coalesce(func.sum(CrawlRun.items_new), 0),
        )
        .where(CrawlRun.started_at >= since)
        .group_by(CrawlRun.source_id)
    ).all()
    stats = {sid: (runs, failed, new) for sid, runs, failed, new in recent}
    out = []
    for source in sources:
        runs, failed, new = stats.get(source.id, (0, 0, 0))
        last = last_runs.get(source.id)
        status = last.status if last else ""
        out.append(
            {
                "source": source,
                "last_run": last,
                "status": status,
                "runs": runs,
                "failed": int(failed or 0),
                "new_per_day": round((new or 0) / days, 1),
                "healthy": bool(last) and status in ("ok", "running"),
            }
        )
    return out


def source_runs(session: Session, source: Source, limit: int = 20) -> list[CrawlRun]:
    """A source's latest runs."""
    return list(
        session.scalars(
            select(CrawlRun)
            .where(CrawlRun.source_id == source.id)
            .order_by(CrawlRun.started_at.desc(), CrawlRun.id.desc())
            .limit(limit)
        )
    )


def source_daily_new(
    session: Session, source: Source, *, tz: Any, days: int = 14
) -> list[tuple[str, int]]:
    """New posts per local day for one source (from its crawl runs)."""
    today = utcnow().astimezone(tz).date()
    start_day = today - dt.timedelta(days=days - 1)
    day = _local_day(CrawlRun.started_at, session, tz)
    counts = dict(
        session.execute(
            select(day, func.coalesce(func.sum(CrawlRun.items_new), 0))
            .where(
                CrawlRun.source_id == source.id, CrawlRun.started_at >= day_bounds(start_day, tz)
            )
            .group_by(day)
        ).all()
    )
    counts = {str(k)[:10]: int(v) for k, v in counts.items()}
    return [
        (
            (start_day + dt.timedelta(days=i)).isoformat(),
            counts.get((start_day + dt.timedelta(days=i)).isoformat(), 0),
        )
        for i in range(days)
    ]
