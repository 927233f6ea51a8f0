"""The JSON API under /api/v1 (Bearer token or session cookie + X-CSRF-Token header)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import select

from alerts.models import Alert
from analysis.models import Analysis, Event
from api import queries
from api.deps import SessionDep, UserDep
from api.forms import clean
from api.labels import correct_labels
from api.views.alerts import alert_filter
from api.views.posts import post_filter
from core.errors import UserError
from crawlers.models import Post

router = APIRouter(prefix="/api/v1", tags=["v1"])
Id = Annotated[int, Path(ge=1, le=2**53)]


class ErrorOut(BaseModel):
    """Every error: a readable message and the status code."""

    message: str
    status: int


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut} for code in (400, 401, 403, 404, 422)
}


class AlertOut(BaseModel):
    id: int
    kind: str
    rule: str
    severity: str
    state: str
    title: str
    reason: str
    topic: str
    event_id: int | None
    source_id: int | None
    assignee_id: int | None
    matched_terms: list[Any]
    created_at: dt.datetime
    updated_at: dt.datetime
    due_at: dt.datetime | None
    acknowledged_at: dt.datetime | None
    resolved_at: dt.datetime | None
    dismissed_reason: str
    overdue: bool


class AlertList(BaseModel):
    items: list[AlertOut]
    total: int
    page: int
    pages: int


class NoteOut(BaseModel):
    id: int
    user_id: int | None
    body: str
    created_at: dt.datetime


class AuditOut(BaseModel):
    at: dt.datetime
    actor: str
    action: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    message: str


class AnalysisOut(BaseModel):
    relevant: bool
    relevance_proba: float
    sentiment: str
    sentiment_proba: dict[str, Any]
    topics: list[Any]
    matched_terms: dict[str, Any]
    explanation: dict[str, Any]
    event_id: int | None
    model_version: str


class PostOut(BaseModel):
    id: int
    source: str
    url: str
    title: str
    text: str
    author: str
    published_at: dt.datetime | None
    fetched_at: dt.datetime
    likes: int
    replies: int
    reposts: int
    views: int
    analysis: AnalysisOut | None


class PostList(BaseModel):
    items: list[PostOut]
    page: int
    has_next: bool


class AlertDetailOut(AlertOut):
    posts: list[PostOut]
    notes: list[NoteOut]
    audit: list[AuditOut]


class TransitionIn(BaseModel):
    to_state: str = Field(
        ...,
        max_length=20,
        description="acknowledged, in_progress, resolved or dismissed (as the lifecycle allows)",
    )
    note: str = Field("", max_length=5000)
    reason: str = Field(
        "", max_length=16, description="why an alert is dismissed: 误报, 无关, 重复 or 已知"
    )


class NoteIn(BaseModel):
    body: str = Field(..., min_length=1, max_length=5000)


class LabelsIn(BaseModel):
    sentiment: str | None = Field(None, max_length=16)
    topics: list[Annotated[str, Field(max_length=32)]] | None = Field(None, max_length=20)
    relevant: bool | None = None
    note: str = Field("", max_length=2000)


class CorrectionOut(BaseModel):
    id: int
    post_id: int | None
    sentiment: str | None
    topics: list[Any] | None
    relevant: bool | None


class EventOut(BaseModel):
    id: int
    title: str
    first_seen: dt.datetime
    last_seen: dt.datetime
    post_count: int
    negative_count: int
    relevant_count: int
    topics: list[Any]


class SourceOut(BaseModel):
    id: int
    name: str
    kind: str
    url: str
    enabled: bool
    interval_minutes: int
    status: str
    last_run_at: dt.datetime | None
    last_error: str
    runs_7d: int
    failed_7d: int
    new_per_day: float


class TopicStat(BaseModel):
    code: str
    label: str
    total: int
    negative: int
    share: float


class StatsOut(BaseModel):
    days: int
    dates: list[str]
    series: dict[str, list[int]]
    totals: dict[str, int]
    topics: list[TopicStat]
    alerts_by_state: dict[str, int]
    open_alerts_by_severity: dict[str, int]
    overdue_alerts: int


def alert_out(alert: Alert) -> dict[str, Any]:
    """An alert as the API returns it."""
    data = {name: getattr(alert, name) for name in AlertOut.model_fields if name != "overdue"}
    data["overdue"] = queries.is_overdue(alert)
    return data


def post_out(row: queries.PostRow) -> dict[str, Any]:
    """A post (with its analysis) as the API returns it."""
    p, a = row.post, row.analysis
    return {
        "id": p.id,
        "source": row.source.name if row.source else "",
        "url": p.url,
        "title": p.title,
        "text": p.raw_text,
        "author": p.author,
        "published_at": p.published_at,
        "fetched_at": p.fetched_at,
        "likes": p.likes,
        "replies": p.replies,
        "reposts": p.reposts,
        "views": p.views,
        "analysis": None
        if a is None
        else {name: getattr(a, name) for name in AnalysisOut.model_fields},
    }


def _alert(session: SessionDep, alert_id: int) -> Alert:
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise HTTPException(404, "告警不存在 (alert not found)")
    return alert


def _service() -> Any:
    try:
        from alerts import service
    except ImportError as exc:
        raise UserError("告警处置功能尚未安装 (alerts.service missing)") from exc
    return service


Text = Annotated[str | None, Query(max_length=100)]


@router.get("/alerts", response_model=AlertList, responses=ERRORS)
def list_alerts(
    request: Request,
    session: SessionDep,
    user: UserDep,
    state: Annotated[
        str | None,
        Query(
            max_length=20,
            description="open (default), all, new, acknowledged, in_progress, resolved, dismissed",
        ),
    ] = None,
    severity: Annotated[str | None, Query(max_length=10)] = None,
    topic: Annotated[str | None, Query(max_length=32)] = None,
    source: Annotated[int | None, Query(ge=1, le=2**53)] = None,
    assignee: Annotated[
        str | None, Query(max_length=12, description="me, none or a user id")
    ] = None,
    date_from: Annotated[dt.date | None, Query(alias="from")] = None,
    date_to: Annotated[dt.date | None, Query(alias="to")] = None,
    q: Text = None,
    sort: Annotated[str | None, Query(max_length=10, description="severity, time or due")] = None,
    page: Annotated[int, Query(ge=1, le=100000)] = 1,
) -> Any:
    """Alerts, filtered and sorted like the alerts page (30 per page)."""
    f = alert_filter(request.query_params)
    result = queries.list_alerts(
        session, f, user=user, tz=request.app.state.settings.tz, with_counts=False
    )
    return {
        "items": [alert_out(a) for a in result.alerts],
        "total": result.total,
        "page": result.page,
        "pages": result.pages,
    }


@router.get("/alerts/{alert_id}", response_model=AlertDetailOut, responses=ERRORS)
def get_alert(alert_id: Id, session: SessionDep, user: UserDep) -> Any:
    """One alert with its posts, notes and audit trail."""
    alert = _alert(session, alert_id)
    detail = queries.alert_detail(session, alert)
    return {
        **alert_out(alert),
        "posts": [post_out(r) for r in detail["rows"]],
        "notes": [
            {"id": n.id, "user_id": n.user_id, "body": n.body, "created_at": n.created_at}
            for n, _ in detail["notes"]
        ],
        "audit": [
            {
                "at": e.at,
                "actor": e.actor,
                "action": e.action,
                "before": e.before,
                "after": e.after,
                "message": e.message,
            }
            for e in detail["audit"]
        ],
    }


@router.post("/alerts/{alert_id}/transition", response_model=AlertOut, responses=ERRORS)
def transition_alert(alert_id: Id, body: TransitionIn, session: SessionDep, user: UserDep) -> Any:
    """Move an alert to another state; refused transitions answer 400 with the reason."""
    alert = _alert(session, alert_id)
    service = _service()
    try:
        service.transition(
            session=session,
            alert=alert,
            to_state=clean(body.to_state, 20),
            user=user,
            note=clean(body.note, 5000),
            reason=clean(body.reason, 16),
        )
        session.commit()
    except UserError:
        session.rollback()
        raise
    return alert_out(alert)


@router.post("/alerts/{alert_id}/notes", response_model=NoteOut, status_code=201, responses=ERRORS)
def add_note(alert_id: Id, body: NoteIn, session: SessionDep, user: UserDep) -> Any:
    """Add a note to an alert."""
    alert = _alert(session, alert_id)
    text = clean(body.body, 5000)
    if not text:
        raise UserError("备注不能为空 (note body is empty)")
    note = _service().add_note(session=session, alert=alert, user=user, body=text)
    session.commit()
    return {
        "id": note.id,
        "user_id": note.user_id,
        "body": note.body,
        "created_at": note.created_at,
    }


@router.get("/posts", response_model=PostList, responses=ERRORS)
def list_posts(
    request: Request,
    session: SessionDep,
    user: UserDep,
    q: Text = None,
    topic: Annotated[str | None, Query(max_length=32)] = None,
    sentiment: Annotated[str | None, Query(max_length=10)] = None,
    source: Annotated[int | None, Query(ge=1, le=2**53)] = None,
    date_from: Annotated[dt.date | None, Query(alias="from")] = None,
    date_to: Annotated[dt.date | None, Query(alias="to")] = None,
    relevant: Annotated[int | None, Query(ge=0, le=1, description="1: relevant only")] = None,
    page: Annotated[int, Query(ge=1, le=100000)] = 1,
) -> Any:
    """Posts matching a filter, newest first (30 per page)."""
    f = post_filter(request.query_params)
    rows, has_next = queries.list_posts(session, f, request.app.state.settings.tz)
    return {"items": [post_out(r) for r in rows], "page": max(1, f.page), "has_next": has_next}


def _post_row(session: SessionDep, post_id: int) -> queries.PostRow:
    post = session.get(Post, post_id)
    if post is None:
        raise HTTPException(404, "信息不存在 (post not found)")
    analysis = session.scalar(select(Analysis).where(Analysis.post_id == post.id))
    return queries.PostRow(post, analysis, post.source)


@router.get("/posts/{post_id}", response_model=PostOut, responses=ERRORS)
def get_post(post_id: Id, session: SessionDep, user: UserDep) -> Any:
    """One post with its analysis."""
    return post_out(_post_row(session, post_id))


@router.post(
    "/posts/{post_id}/labels", response_model=CorrectionOut, status_code=201, responses=ERRORS
)
def correct_post(
    request: Request, post_id: Id, body: LabelsIn, session: SessionDep, user: UserDep
) -> Any:
    """Correct a post's labels; the correction joins the training data."""
    row = _post_row(session, post_id)
    correction = correct_labels(
        session=session,
        post=row.post,
        user=user,
        sentiment=clean(body.sentiment, 16) if body.sentiment is not None else None,
        topics=[clean(t, 32) for t in body.topics] if body.topics is not None else None,
        relevant=body.relevant,
        note=clean(body.note, 2000),
        origin="api",
        known_topics=set(request.app.state.topic_labels()),
    )
    session.commit()
    return {
        "id": correction.id,
        "post_id": correction.post_id,
        "sentiment": correction.sentiment,
        "topics": correction.topics,
        "relevant": correction.relevant,
    }


def _event_out(event: Event) -> dict[str, Any]:
    return {name: getattr(event, name) for name in EventOut.model_fields}


@router.get("/events", response_model=list[EventOut], responses=ERRORS)
def list_events(
    session: SessionDep, user: UserDep, page: Annotated[int, Query(ge=1, le=100000)] = 1
) -> Any:
    """Events, most recently active first (50 per page)."""
    events = session.scalars(
        select(Event)
        .order_by(Event.last_seen.desc(), Event.id.desc())
        .offset((page - 1) * 50)
        .limit(50)
    )
    return [_event_out(e) for e in events]


@router.get("/events/{event_id}", response_model=EventOut, responses=ERRORS)
def get_event(event_id: Id, session: SessionDep, user: UserDep) -> Any:
    """One event."""
    event = session.get(Event, event_id)
    if event is None:
        raise HTTPException(404, "事件不存在 (event not found)")
    return _event_out(event)


@router.get("/sources", response_model=list[SourceOut], responses=ERRORS)
def list_sources(session: SessionDep, user: UserDep) -> Any:
    """Sources with their health over the last 7 days."""
    out = []
    for item in queries.source_health(session):
        s, last = item["source"], item["last_run"]
        out.append(
            {
                "id": s.id,
                "name": s.name,
                "kind": s.kind,
                "url": s.url,
                "enabled": s.enabled,
                "interval_minutes": s.interval_minutes,
                "status": item["status"],
                "last_run_at": last.started_at if last else None,
                "last_error": last.last_error if last else "",
                "runs_7d": item["runs"],
                "failed_7d": item["failed"],
                "new_per_day": item["new_per_day"],
            }
        )
    return out


@router.get("/stats", response_model=StatsOut, responses=ERRORS)
def stats(
    request: Request,
    session: SessionDep,
    user: UserDep,
    days: Annotated[int, Query(ge=1, le=365)] = 30,
) -> Any:
    """Daily volumes, per-topic negative share and alert counts."""
    data = queries.dashboard(
        session, tz=request.app.state.settings.tz, days=days, cache=request.app.state.daily_stats
    )
    labels = request.app.state.topic_labels()
    counts = queries.list_alerts(
        session, queries.AlertFilter(), user=user, tz=request.app.state.settings.tz, page_size=1
    )
    return {
        "days": days,
        "dates": data["dates"],
        "series": data["series"],
        "totals": data["totals"],
        "topics": [
            {
                "code": t["code"],
                "label": labels.get(t["code"], t["code"]),
                "total": t["total"],
                "negative": t["negative"],
                "share": t["share"],
            }
            for t in data["topics"]
        ],
        "alerts_by_state": counts.state_counts,
        "open_alerts_by_severity": counts.severity_counts,
        "overdue_alerts": counts.overdue_count,
    }
