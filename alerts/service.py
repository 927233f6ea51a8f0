"""Alert evaluation (rules → one alert per event) and the lifecycle staff drive."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from alerts import rules as R
from alerts.models import SEVERITIES, STATE_LABELS, STATES, Alert, AlertNote, AlertRule, alert_posts
from analysis.models import Analysis, Event, LabelCorrection, Topic
from core import audit
from core.config import Settings, get_settings
from core.db import utcnow
from core.errors import UserError
from core.models import User
from crawlers.models import CrawlRun, Post, Source

log = logging.getLogger(__name__)

OPEN_STATES = ("new", "acknowledged", "in_progress")
CLOSED_STATES = ("resolved", "dismissed")
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "new": ("acknowledged", "in_progress", "dismissed"),
    "acknowledged": ("in_progress", "resolved", "dismissed"),
    "in_progress": ("resolved", "dismissed"),
    "resolved": (),
    "dismissed": (),
}
DISMISS_REASONS = ("误报", "无关", "重复", "已知")
# these dismissals say the model was wrong: the posts become training examples
CORRECTING_REASONS = ("误报", "无关")


class TransitionError(UserError):
    """A lifecycle change that is not allowed, explained in Chinese and English."""


@dataclass
class EvaluationResult:
    """What one evaluation did."""

    created: int = 0
    updated: int = 0
    resolved: int = 0
    mails: int = 0
    alert_ids: list[int] = field(default_factory=list)


# ---------------------------------------------------------------- evaluation


def _rule_specs(session: Session) -> list[R.RuleSpec]:
    rows = list(session.scalars(select(AlertRule).order_by(AlertRule.id)))
    if not rows:
        from alerts.setup import insert_default_rules

        insert_default_rules(session=session)
        rows = list(session.scalars(select(AlertRule).order_by(AlertRule.id)))
    specs = []
    for row in rows:
        if not row.enabled:
            continue
        raw = {
            "code": row.code,
            "kind": row.kind,
            "name": row.name,
            "severity": row.severity,
            "reason": row.reason,
            "params": row.params,
        }
        try:
            specs.append(R.validate_rule(raw, "alert_rules table"))
        except UserError as exc:
            # one broken rule must not stop the others
            log.error("skipping rule: %s", exc.message)
    return specs


def _post_time(post: Post) -> dt.datetime:
    if post.published_at is None:
        return post.fetched_at
    return min(post.published_at, post.fetched_at)


def _facts(session: Session, *, since: dt.datetime, now: dt.datetime) -> list[R.PostFacts]:
    rows = session.execute(
        select(Analysis, Post, Source.weight)
        .join(Post, Post.id == Analysis.post_id)
        .join(Source, Source.id == Post.source_id)
        .where(Analysis.relevant.is_(True), Post.fetched_at >= since, Post.fetched_at <= now)
        .order_by(Post.id)
    ).all()
    facts = []
    for analysis, post, weight in rows:
        terms = analysis.matched_terms or {}
        facts.append(
            R.PostFacts(
                post_id=post.id,
                event_id=analysis.event_id,
                source_id=post.source_id,
                title=post.title or "",
                text=post.normalized_text or post.raw_text or "",
                relevant=bool(analysis.relevant),
                sentiment=analysis.sentiment,
                topics=list(analysis.topics or []),
                places=list(terms.get("place") or []),
                weight=float(weight if weight is not None else 1.0),
                likes=post.likes or 0,
                replies=post.replies or 0,
                reposts=post.reposts or 0,
                views=post.views or 0,
                time=_post_time(post),
                fetched_at=post.fetched_at,
            )
        )
    return facts


def _content_candidates(
    session: Session, specs: list[R.RuleSpec], settings: Settings, now: dt.datetime
) -> list[R.Candidate]:
    spike_rules = [s for s in specs if s.kind == "spike"]
    lookback = dt.timedelta(hours=settings.event_window_hours)
    if spike_rules:
        lookback = max(
            lookback,
            dt.timedelta(hours=settings.spike_window_hours, days=settings.spike_baseline_days),
        )
    facts = _facts(session, since=now - lookback, now=now)
    recent_since = now - dt.timedelta(hours=settings.event_window_hours)
    groups: dict[str, list[R.PostFacts]] = {}
    for post in facts:
        if post.fetched_at >= recent_since:
            groups.setdefault(post.key, []).append(post)
    found: list[R.Candidate] = []
    for key, posts in groups.items():
        for spec in specs:
            candidate = None
            if spec.kind == "local_negative":
                candidate = R.local_negative(spec, key, posts)
            elif spec.kind == "escalation":
                candidate = R.escalation(spec, key, posts)
            elif spec.kind == "event_growing":
                candidate = R.event_growing(spec, key, posts, settings=settings, now=now)
            if candidate is not None:
                candidate.event_id = posts[0].event_id
                found.append(candidate)
    if spike_rules:
        history = session.scalar(select(func.min(Post.fetched_at)))
        labels = dict(session.execute(select(Topic.code, Topic.label)).all())
        for spec in spike_rules:
            found.extend(
                R.spike(
                    spec, facts, settings=settings, now=now, history_start=history, labels=labels
                )
            )
    return found


def _source_candidates(
    session: Session, specs: list[R.RuleSpec], settings: Settings, now: dt.datetime
) -> list[R.Candidate]:
    failing = [s for s in specs if s.kind == "source_failing"]
    silent = [s for s in specs if s.kind == "source_silent"]
    if not failing and not silent:
        return []
    found: list[R.Candidate] = []
    sources = session.scalars(select(Source).where(Source.enabled.is_(True)).order_by(Source.id))
    for source in sources:
        for spec in failing:
            limit = int(spec.params.get("failed_runs", 2))
            runs = list(
                session.scalars(
                    select(CrawlRun)
                    .where(CrawlRun.source_id == source.id, CrawlRun.status != "running")
                    .order_by(CrawlRun.started_at.desc())
                    .limit(max(limit, int(spec.params.get("orange_runs", limit))))
                )
            )
            streak = 0
            for run in runs:
                if run.status != "failed":
                    break
                streak += 1
            if streak < limit:
                continue
            severity = spec.severity
            if streak >= int(spec.params.get("orange_runs", 10**9)):
                severity = R.higher(severity, "orange")
            error = (runs[0].last_error or "未知错误").splitlines()[0][:200]
            found.append(
                R.Candidate(
                    key=f"source:{source.id}:failing",
                    kind="ops",
                    rule=spec,
                    severity=severity,
                    reason=R.render_reason(spec, source=source.name, failed=streak, error=error),
                    title=f"数据源「{source.name}」抓取失败",
                    source_id=source.id,
                    marker=runs[0].started_at,
                )
            )
        for spec in silent:
            times = [
                _post_time(p)
                for p in session.scalars(
                    select(Post)
                    .where(Post.source_id == source.id, Post.fetched_at <= now)
                    .order_by(Post.fetched_at.desc(), Post.id.desc())
                    .limit(50)
                )
            ]
            if len(times) < int(spec.params.get("min_posts", 3)):
                continue
            gap = R.median_gap_hours(times) or 0.0
            # posts cannot show up more often than the source is crawled
            gap = max(gap, source.interval_minutes / 60)
            last = max(times)
            # silence only counts from when we started watching (a new source's posts may be old)
            watched = session.scalar(
                select(func.min(Post.fetched_at)).where(Post.source_id == source.id)
            )
            silent_hours = (now - max(last, watched or last)).total_seconds() / 3600
            if silent_hours <= settings.silence_factor * gap:
                continue
            found.append(
                R.Candidate(
                    key=f"source:{source.id}:silent",
                    kind="ops",
                    rule=spec,
                    severity=spec.severity,
                    reason=R.render_reason(
                        spec,
                        source=source.name,
                        silent_hours=R.round_hours(silent_hours),
                        gap_hours=R.round_hours(gap),
                    ),
                    title=f"数据源「{source.name}」长时间无新帖",
                    source_id=source.id,
                    marker=last,
                )
            )
    return found


@dataclass
class _Merged:
    key: str
    kind: str
    severity: str
    rule: str
    reasons: list[str]
    post_ids: set[int]
    terms: list[str]
    event_id: int | None
    source_id: int | None
    topic: str
    title: str
    marker: dt.datetime | None


def _merge(candidates: list[R.Candidate]) -> dict[str, _Merged]:
    merged: dict[str, _Merged] = {}
    for c in candidates:
        m = merged.get(c.key)
        if m is None:
            merged[c.key] = _Merged(
                key=c.key,
                kind=c.kind,
                severity=c.severity,
                rule=c.rule.code,
                reasons=[c.reason],
                post_ids=set(c.post_ids),
                terms=list(c.terms),
                event_id=c.event_id,
                source_id=c.source_id,
                topic=c.topic,
                title=c.title,
                marker=c.marker,
            )
            continue
        if R.RANK[c.severity] > R.RANK[m.severity]:
            m.severity, m.rule = c.severity, c.rule.code
        if c.reason not in m.reasons:
            m.reasons.append(c.reason)
        m.post_ids |= c.post_ids
        m.terms.extend(t for t in c.terms if t not in m.terms)
        if c.marker and (m.marker is None or c.marker > m.marker):
            m.marker = c.marker
    return merged


def _alert_post_ids(session: Session, alert_ids: Sequence[int]) -> dict[int, set[int]]:
    result: dict[int, set[int]] = {i: set() for i in alert_ids}
    if alert_ids:
        rows = session.execute(
            select(alert_posts.c.alert_id, alert_posts.c.post_id).where(
                alert_posts.c.alert_id.in_(alert_ids)
            )
        )
        for alert_id, post_id in rows:
            result[alert_id].add(post_id)
    return result


def post_ids_of(*, session: Session, alert: Alert) -> list[int]:
    """The ids of the posts attached to an alert, oldest first."""
    return sorted(_alert_post_ids(session, [alert.id])[alert.id])


def _attach(session: Session, alert_id: int, post_ids: set[int]) -> None:
    if post_ids:
        session.execute(
            insert(alert_posts), [{"alert_id": alert_id, "post_id": p} for p in sorted(post_ids)]
        )


def _title_for(session: Session, m: _Merged) -> str:
    if m.title:
        return m.title
    if m.event_id:
        event = session.get(Event, m.event_id)
        if event is not None and event.title:
            return event.title[:200]
    if m.post_ids:
        post = session.get(Post, min(m.post_ids))
        if post is not None:
            text = (post.title or post.raw_text or "").strip().replace("\n", " ")
            return text[:60] or f"帖子 {post.id}"
    return "告警"


def snapshot(alert: Alert) -> dict[str, Any]:
    """The fields of an alert the audit log keeps before and after a change."""
    return {
        "state": alert.state,
        "severity": alert.severity,
        "assignee_id": alert.assignee_id,
        "due_at": alert.due_at.isoformat() if alert.due_at else None,
        "rule": alert.rule,
    }


def _create(
    session: Session, m: _Merged, settings: Settings, now: dt.datetime, previous: Alert | None
) -> Alert:
    alert = Alert(
        kind=m.kind,
        dedup_key=m.key,
        event_id=m.event_id,
        source_id=m.source_id,
        topic=m.topic,
        rule=m.rule,
        severity=m.severity,
        state="new",
        title=_title_for(session, m),
        reason="；".join(m.reasons),
        matched_terms=m.terms,
        due_at=now + dt.timedelta(hours=settings.due_hours(m.severity)),
        created_at=now,
        updated_at=now,
        previous_alert_id=previous.id if previous else None,
    )
    session.add(alert)
    session.flush()
    _attach(session, alert.id, m.post_ids)
    message = f"规则 {m.rule} 触发：{alert.reason}"
    if previous is not None:
        message += f"（接续已关闭的告警 #{previous.id}）"
    audit.record(
        session=session,
        action="alert.create",
        entity_type="alert",
        entity_id=alert.id,
        after=snapshot(alert) | {"post_ids": sorted(m.post_ids)},
        message=message,
    )
    return alert


def _join(
    session: Session,
    alert: Alert,
    m: _Merged,
    known: set[int],
    settings: Settings,
    now: dt.datetime,
) -> bool:
    new_posts = m.post_ids - known
    raise_to = m.severity if R.RANK[m.severity] > R.RANK[alert.severity] else None
    new_reasons = [r for r in m.reasons if r not in alert.reason.split("；")]
    if not new_posts and raise_to is None:
        return False
    before = snapshot(alert)
    _attach(session, alert.id, new_posts)
    if m.kind == "content" and new_reasons:
        # reasons quote counts that grow; keep the latest wording
        alert.reason = "；".join(m.reasons)
    alert.matched_terms = list(dict.fromkeys([*(alert.matched_terms or []), *m.terms]))
    alert.updated_at = now
    parts = []
    if new_posts:
        parts.append(f"新增 {len(new_posts)} 条帖子")
    if raise_to is not None:
        parts.append(f"级别由 {alert.severity} 升为 {raise_to}（规则 {m.rule}）")
        alert.severity = raise_to
        alert.rule = m.rule
        due = now + dt.timedelta(hours=settings.due_hours(raise_to))
        if alert.due_at is None or due < alert.due_at:
            alert.due_at = due
    audit.record(
        session=session,
        action="alert.escalate" if raise_to else "alert.join",
        entity_type="alert",
        entity_id=alert.id,
        before=before,
        after=snapshot(alert) | {"new_post_ids": sorted(new_posts)},
        message="；".join(parts),
    )
    return True


def evaluate(
    *,
    session: Session,
    settings: Settings | None = None,
    now: dt.datetime | None = None,
    notify: bool = True,
) -> EvaluationResult:
    """Run every enabled rule and create or update alerts; running it again changes nothing.

    With `notify`, urgent alerts are queued in the outbox too (flush it to send them).
    """
    settings = settings or get_settings()
    now = now or utcnow()
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        # the scheduler and a manual run must not both create the same alert
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext('yuqing.alerts.evaluate'))"))
    specs = _rule_specs(session)
    candidates = _content_candidates(session, specs, settings, now)
    candidates += _source_candidates(session, specs, settings, now)
    merged = _merge(candidates)
    result = EvaluationResult()

    keyed = (
        list(
            session.scalars(
                select(Alert).where(Alert.dedup_key.in_(list(merged))).order_by(Alert.id)
            )
        )
        if merged
        else []
    )
    latest = {alert.dedup_key: alert for alert in keyed}
    attached = _alert_post_ids(session, [alert.id for alert in keyed])
    by_key: dict[str, set[int]] = {}
    for alert in keyed:
        by_key.setdefault(alert.dedup_key, set()).update(attached[alert.id])

    for key, m in merged.items():
        current = latest.get(key)
        if current is None:
            alert = _create(session, m, settings, now, None)
            result.created += 1
            result.alert_ids.append(alert.id)
        elif current.state in OPEN_STATES:
            if _join(session, current, m, attached.get(current.id, set()), settings, now):
                result.updated += 1
                result.alert_ids.append(current.id)
        elif m.kind == "ops":
            closed_at = current.resolved_at or current.updated_at
            if m.marker is not None and m.marker > closed_at:
                alert = _create(session, m, settings, now, current)
                result.created += 1
                result.alert_ids.append(alert.id)
        else:
            fresh = m.post_ids - by_key.get(key, set())
            if not fresh:
                continue
            if current.state == "dismissed" and R.RANK[m.severity] <= R.RANK[current.severity]:
                # staff said this matter needs no action; more of the same stays with it
                _attach(session, current.id, fresh)
                audit.record(
                    session=session,
                    action="alert.join",
                    entity_type="alert",
                    entity_id=current.id,
                    after={"new_post_ids": sorted(fresh)},
                    message=f"已忽略的告警新增 {len(fresh)} 条帖子，级别未升高，不再提醒",
                )
                result.updated += 1
                continue
            m.post_ids = fresh
            alert = _create(session, m, settings, now, current)
            result.created += 1
            result.alert_ids.append(alert.id)

    result.resolved = _resolve_recovered_sources(session, set(merged), now)
    session.flush()
    if notify:
        from alerts.notify import queue_urgent

        result.mails = len(queue_urgent(session=session, settings=settings, now=now))
    return result


def _resolve_recovered_sources(session: Session, firing: set[str], now: dt.datetime) -> int:
    """Close open ops alerts whose source is healthy again."""
    count = 0
    for alert in session.scalars(
        select(Alert).where(Alert.kind == "ops", Alert.state.in_(OPEN_STATES))
    ):
        if alert.dedup_key in firing:
            continue
        before = snapshot(alert)
        alert.state = "resolved"
        alert.resolved_at = now
        alert.updated_at = now
        session.add(
            AlertNote(alert_id=alert.id, body="系统：数据源已恢复正常，自动办结", created_at=now)
        )
        audit.record(
            session=session,
            action="alert.transition",
            entity_type="alert",
            entity_id=alert.id,
            before=before,
            after=snapshot(alert),
            message="数据源已恢复，自动办结 (source recovered)",
        )
        count += 1
    return count


# ---------------------------------------------------------------- lifecycle


def _label(state: str) -> str:
    return f"{STATE_LABELS.get(state, state)} ({state})"


def transition(
    *,
    session: Session,
    alert: Alert,
    to_state: str,
    user: User | None,
    note: str = "",
    reason: str = "",
    now: dt.datetime | None = None,
) -> Alert:
    """Move an alert along its lifecycle; refuses what the lifecycle does not allow."""
    now = now or utcnow()
    if to_state not in STATES:
        raise TransitionError(
            f"未知状态 {to_state!r} (unknown state; use one of {', '.join(STATES)})"
        )
    if to_state not in TRANSITIONS[alert.state]:
        allowed = "、".join(_label(s) for s in TRANSITIONS[alert.state]) or "无"
        raise TransitionError(
            f"告警 #{alert.id} 当前为{_label(alert.state)}，不能改为{_label(to_state)}；"
            f"可改为：{allowed} (transition {alert.state} -> {to_state} is not allowed)"
        )
    reason = reason.strip()
    if to_state == "dismissed" and reason not in DISMISS_REASONS:
        raise TransitionError(
            f"忽略告警须选择原因：{'、'.join(DISMISS_REASONS)} "
            f"(dismissing needs a reason: one of {', '.join(DISMISS_REASONS)})"
        )
    before = snapshot(alert)
    alert.state = to_state
    alert.updated_at = now
    if to_state != "new" and alert.acknowledged_at is None:
        alert.acknowledged_at = now
    if to_state in CLOSED_STATES:
        alert.resolved_at = now
    if to_state == "dismissed":
        alert.dismissed_reason = reason
        if reason in CORRECTING_REASONS:
            _record_corrections(session, alert, user, reason, now)
    if note.strip():
        session.add(
            AlertNote(
                alert_id=alert.id,
                user_id=user.id if user else None,
                body=note.strip(),
                created_at=now,
            )
        )
    message = f"{_label(before['state'])} → {_label(to_state)}"
    if reason:
        message += f"，原因：{reason}"
    audit.record(
        session=session,
        action="alert.transition",
        entity_type="alert",
        entity_id=alert.id,
        user=user,
        before=before,
        after=snapshot(alert) | ({"reason": reason} if reason else {}),
        message=message,
    )
    session.flush()
    return alert


def _record_corrections(
    session: Session, alert: Alert, user: User | None, reason: str, now: dt.datetime
) -> None:
    post_ids = post_ids_of(session=session, alert=alert)
    for post in session.scalars(select(Post).where(Post.id.in_(post_ids))):
        session.add(
            LabelCorrection(
                post_id=post.id,
                user_id=user.id if user else None,
                origin="dismissal",
                created_at=now,
                title=post.title,
                text=post.raw_text,
                relevant=False if reason == "无关" else None,
                alert=False,
                note=f"告警 #{alert.id} 以“{reason}”忽略",
            )
        )


def assign(
    *,
    session: Session,
    alert: Alert,
    assignee: User | None,
    user: User | None,
    now: dt.datetime | None = None,
) -> Alert:
    """Give an alert to a person (or nobody); audited."""
    if alert.state in CLOSED_STATES:
        raise TransitionError(
            f"告警 #{alert.id} 已{STATE_LABELS[alert.state]}，不能再指派 (alert is closed)"
        )
    if assignee is not None and not assignee.active:
        raise TransitionError(f"用户 {assignee.name} 已停用，不能指派 (user is inactive)")
    before = snapshot(alert)
    alert.assignee_id = assignee.id if assignee else None
    alert.updated_at = now or utcnow()
    audit.record(
        session=session,
        action="alert.assign",
        entity_type="alert",
        entity_id=alert.id,
        user=user,
        before=before,
        after=snapshot(alert),
        message=f"指派给 {assignee.display_name or assignee.name}" if assignee else "取消指派",
    )
    session.flush()
    return alert


def add_note(
    *,
    session: Session,
    alert: Alert,
    user: User | None,
    body: str,
    now: dt.datetime | None = None,
) -> AlertNote:
    """Add a note on what was done; audited."""
    body = body.strip()
    if not body:
        raise TransitionError("备注不能为空 (a note needs some text)")
    now = now or utcnow()
    note = AlertNote(
        alert_id=alert.id, user_id=user.id if user else None, body=body, created_at=now
    )
    session.add(note)
    alert.updated_at = now
    session.flush()
    audit.record(
        session=session,
        action="alert.note",
        entity_type="alert",
        entity_id=alert.id,
        user=user,
        after={"note_id": note.id},
        message=body[:200],
    )
    return note


# ---------------------------------------------------------------- queries


def list_alerts(
    *,
    session: Session,
    states: Sequence[str] = (),
    severities: Sequence[str] = (),
    kind: str | None = None,
    limit: int | None = None,
) -> list[Alert]:
    """Alerts, newest first, optionally filtered."""
    for state in states:
        if state not in STATES:
            raise UserError(f"unknown state {state!r}: use one of {', '.join(STATES)}")
    for severity in severities:
        if severity not in SEVERITIES:
            raise UserError(f"unknown severity {severity!r}: use one of {', '.join(SEVERITIES)}")
    query = select(Alert).order_by(Alert.created_at.desc(), Alert.id.desc())
    if states:
        query = query.where(Alert.state.in_(states))
    if severities:
        query = query.where(Alert.severity.in_(severities))
    if kind:
        query = query.where(Alert.kind == kind)
    if limit:
        query = query.limit(limit)
    return list(session.scalars(query))


def overdue(*, session: Session, now: dt.datetime | None = None) -> list[Alert]:
    """Open alerts past their due time, most overdue first."""
    now = now or utcnow()
    return list(
        session.scalars(
            select(Alert)
            .where(Alert.state.in_(OPEN_STATES), Alert.due_at.is_not(None), Alert.due_at < now)
            .order_by(Alert.due_at)
        )
    )
