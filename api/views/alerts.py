"""告警: the alerts list (home page), alert detail and the staff actions on alerts."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from alerts.models import SEVERITIES, STATES, Alert
from api import queries
from api.charts import sparkline
from api.deps import SessionDep, UserDep
from api.forms import clean, parse_date, parse_int, verify_csrf
from api.labels import corrected_post_ids
from api.templating import render
from api.websession import flash
from core.errors import UserError
from core.models import User

router = APIRouter(include_in_schema=False, dependencies=[Depends(verify_csrf)])


def alert_filter(params: Any) -> queries.AlertFilter:
    """An alert filter from query parameters; unknown values fall back to defaults."""
    state = clean(params.get("state"), 20) or "open"
    if state not in (*STATES, "open", "all"):
        state = "open"
    severity = clean(params.get("severity"), 10)
    sort = clean(params.get("sort"), 10)
    return queries.AlertFilter(
        state=state,
        severity=severity if severity in SEVERITIES else "",
        topic=clean(params.get("topic"), 32),
        source_id=parse_int(params.get("source"), None, 1),
        assignee=clean(params.get("assignee"), 12),
        date_from=parse_date(params.get("from")),
        date_to=parse_date(params.get("to")),
        q=clean(params.get("q"), 100),
        sort=sort if sort in ("severity", "time", "due") else "severity",
        page=parse_int(params.get("page"), 1, 1, 100000) or 1,
        overdue=params.get("overdue") == "1",
    )


def _dismiss_reasons() -> tuple[str, ...]:
    try:
        from alerts.service import DISMISS_REASONS
    except ImportError:
        return ()
    return DISMISS_REASONS


def _lifecycle() -> Any:
    try:
        from alerts import service
    except ImportError as exc:
        raise UserError("告警处置功能尚未安装 (alerts.service missing)") from exc
    return service


@router.get("/")
def alerts_page(request: Request, session: SessionDep, user: UserDep) -> Response:
    """The alerts list: counts, filters, sorted page, bulk actions."""
    f = alert_filter(request.query_params)
    tz = request.app.state.settings.tz
    page = queries.list_alerts(session, f, user=user, tz=tz)
    return render(
        request,
        "alerts.html",
        f=f,
        page=page,
        users=queries.active_users(session),
        sources=queries.all_sources(session),
        is_overdue=queries.is_overdue,
        qs=lambda **changes: urlencode(f.params(**changes)),
        back=str(request.url.path) + ("?" + request.url.query if request.url.query else ""),
    )


def _back(target: str | None, default: str) -> str:
    target = clean(target, 2000)
    return target if target.startswith("/") and not target.startswith("//") else default


@router.post("/alerts/bulk")
async def bulk(request: Request, session: SessionDep, user: UserDep) -> Response:
    """Acknowledge or assign the selected alerts."""
    form = await request.form()
    ids = [i for i in (parse_int(v, None, 1) for v in form.getlist("ids")) if i]
    action = clean(form.get("action"), 20)
    back = _back(form.get("back"), "/")
    if not ids:
        flash(request, "请先勾选告警。", "error")
        return RedirectResponse(back, status_code=303)
    service = _lifecycle()
    alerts = list(session.scalars(select(Alert).where(Alert.id.in_(ids[:500]))))
    done, failed = 0, []
    assignee = None
    if action == "assign":
        assignee_id = parse_int(form.get("assignee_id"), None, 1)
        assignee = session.get(User, assignee_id) if assignee_id else None
        if assignee is None or not assignee.active:
            flash(request, "请选择要指派的人员。", "error")
            return RedirectResponse(back, status_code=303)
    elif action != "acknowledge":
        flash(request, "未知的批量操作。", "error")
        return RedirectResponse(back, status_code=303)
    for alert in alerts:
        try:
            if action == "assign":
                service.assign(session=session, alert=alert, assignee=assignee, user=user)
            else:
                service.transition(session=session, alert=alert, to_state="acknowledged", user=user)
            done += 1
        except UserError as exc:
            failed.append(f"#{alert.id}: {exc.message}")
    session.commit()
    verb = f"指派给 {assignee.display_name or assignee.name}" if assignee else "确认"
    flash(request, f"已{verb} {done} 条告警。")
    if failed:
        flash(request, "未能处理：" + "；".join(failed[:5]), "error")
    return RedirectResponse(back, status_code=303)


def _get_alert(session: SessionDep, alert_id: int) -> Alert:
    from fastapi import HTTPException

    alert = session.get(Alert, alert_id) if 0 < alert_id < 2**62 else None
    if alert is None:
        raise HTTPException(404, "告警不存在 (alert not found)")
    return alert


@router.get("/alerts/{alert_id}")
def alert_page(request: Request, alert_id: int, session: SessionDep, user: UserDep) -> Response:
    """One alert: why, posts with badges and highlighted terms, timeline, actions, audit."""
    alert = _get_alert(session, alert_id)
    detail = queries.alert_detail(session, alert)
    tz = request.app.state.settings.tz
    by_day: dict[str, int] = {}
    for row in detail["rows"]:
        when = row.post.published_at or row.post.fetched_at
        key = when.astimezone(tz).strftime("%m-%d")
        by_day[key] = by_day.get(key, 0) + 1
    timeline_days = sorted(by_day.items())
    return render(
        request,
        "alert_detail.html",
        alert=alert,
        overdue=queries.is_overdue(alert),
        users=queries.active_users(session),
        dismiss_reasons=_dismiss_reasons(),
        timeline_days=timeline_days,
        timeline_svg=sparkline(
            [c for _, c in timeline_days], width=240, height=40, color="#dc2626"
        ),
        back=f"/alerts/{alert.id}",
        corrected=corrected_post_ids(session, [r.post.id for r in detail["rows"]]),
        **detail,
    )


@router.post("/alerts/{alert_id}/transition")
async def transition(
    request: Request, alert_id: int, session: SessionDep, user: UserDep
) -> Response:
    """Move the alert to another state (with an optional note, and a reason to dismiss)."""
    alert = _get_alert(session, alert_id)
    form = await request.form()
    to_state = clean(form.get("to_state"), 20)
    note = clean(form.get("note"), 5000)
    reason = clean(form.get("reason"), 16)
    service = _lifecycle()
    try:
        service.transition(
            session=session, alert=alert, to_state=to_state, user=user, note=note, reason=reason
        )
        session.commit()
        flash(request, f"告警已改为「{queries_state_label(to_state)}」。")
    except UserError as exc:
        session.rollback()
        flash(request, exc.message, "error")
    return RedirectResponse(f"/alerts/{alert_id}", status_code=303)


def queries_state_label(state: str) -> str:
    """The Chinese label of a state."""
    from alerts.models import STATE_LABELS

    return STATE_LABELS.get(state, state)


@router.post("/alerts/{alert_id}/assign")
async def assign(request: Request, alert_id: int, session: SessionDep, user: UserDep) -> Response:
    """Assign the alert to a user."""
    alert = _get_alert(session, alert_id)
    form = await request.form()
    assignee_id = parse_int(form.get("assignee_id"), None, 1)
    assignee = session.get(User, assignee_id) if assignee_id else None
    if assignee is None or not assignee.active:
        flash(request, "请选择要指派的人员。", "error")
        return RedirectResponse(f"/alerts/{alert_id}", status_code=303)
    service = _lifecycle()
    try:
        service.assign(session=session, alert=alert, assignee=assignee, user=user)
        session.commit()
        flash(request, f"已指派给 {assignee.display_name or assignee.name}。")
    except UserError as exc:
        session.rollback()
        flash(request, exc.message, "error")
    return RedirectResponse(f"/alerts/{alert_id}", status_code=303)


@router.post("/alerts/{alert_id}/notes")
async def note(request: Request, alert_id: int, session: SessionDep, user: UserDep) -> Response:
    """Add a note to the alert."""
    alert = _get_alert(session, alert_id)
    form = await request.form()
    body = clean(form.get("body"), 5000)
    if not body:
        flash(request, "备注不能为空。", "error")
        return RedirectResponse(f"/alerts/{alert_id}", status_code=303)
    service = _lifecycle()
    try:
        service.add_note(session=session, alert=alert, user=user, body=body)
        session.commit()
        flash(request, "备注已添加。")
    except UserError as exc:
        session.rollback()
        flash(request, exc.message, "error")
    return RedirectResponse(f"/alerts/{alert_id}#notes", status_code=303)
