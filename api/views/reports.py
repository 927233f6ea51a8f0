"""报表: monthly reports built by alerts.reports, previewed in a sandboxed frame, sent by email."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from alerts.models import Report
from api.deps import AdminDep, SessionDep, UserDep
from api.forms import clean, verify_csrf
from api.templating import render
from api.websession import flash
from core.errors import UserError

router = APIRouter(include_in_schema=False, dependencies=[Depends(verify_csrf)])

# the report's own HTML: its inline styles and embedded images, nothing that runs
REPORT_CSP = (
    "default-src 'none'; img-src data: 'self'; style-src 'unsafe-inline'; "
    "frame-ancestors 'self'; sandbox"
)


def _monthly() -> Any:
    try:
        from alerts.reports import monthly
    except ImportError as exc:
        raise UserError("月度报表功能尚未安装 (alerts.reports.monthly missing)") from exc
    return monthly


def _report(session: SessionDep, report_id: int) -> Report:
    report = session.get(Report, report_id) if 0 < report_id < 2**62 else None
    if report is None:
        raise HTTPException(404, "报表不存在 (report not found)")
    return report


@router.get("/reports")
def reports_page(request: Request, session: SessionDep, user: UserDep) -> Response:
    """The list of built reports."""
    reports = list(
        session.scalars(select(Report).order_by(Report.period.desc(), Report.id.desc()).limit(100))
    )
    today = dt.datetime.now(request.app.state.settings.tz).date()
    last_month = (today.replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")
    return render(request, "reports.html", reports=reports, default_month=last_month)


@router.get("/reports/{report_id}")
def report_preview(
    request: Request, report_id: int, session: SessionDep, user: UserDep
) -> Response:
    """A report's preview page (the report itself is framed from /reports/{id}/html)."""
    return render(request, "report_preview.html", report=_report(session, report_id))


@router.get("/reports/{report_id}/html")
def report_html(report_id: int, session: SessionDep, user: UserDep) -> Response:
    """The report's HTML as mailed, under a CSP that allows no script at all."""
    report = _report(session, report_id)
    return HTMLResponse(
        report.html or "<p>（此报表没有 HTML 内容）</p>",
        headers={"Content-Security-Policy": REPORT_CSP, "X-Frame-Options": "SAMEORIGIN"},
    )


@router.post("/reports/build")
async def build(request: Request, session: SessionDep, user: AdminDep) -> Response:
    """Build (or rebuild) a month's report."""
    form = await request.form()
    month = clean(form.get("month"), 7)
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month):
        flash(request, "月份格式应为 YYYY-MM。", "error")
        return RedirectResponse("/reports", status_code=303)
    try:
        monthly = _monthly()
        built = monthly.build_monthly_report(
            session=session, month=month, settings=request.app.state.settings
        )
        monthly.store_report(session=session, report=built)
        session.commit()
        flash(request, f"{month} 月度报表已生成。")
    except UserError as exc:
        session.rollback()
        flash(request, exc.message, "error")
    return RedirectResponse("/reports", status_code=303)


@router.post("/reports/{report_id}/send")
def send(request: Request, report_id: int, session: SessionDep, user: AdminDep) -> Response:
    """Queue the report's email to the configured recipients."""
    report = _report(session, report_id)
    settings = request.app.state.settings
    try:
        monthly = _monthly()
        if report.sent_at is None:
            monthly.send_monthly_report(session=session, month=report.period, settings=settings)
        else:
            monthly.resend_report(session=session, report=report, settings=settings)
        session.commit()
        flash(request, f"{report.period} 月度报表已加入发送队列。")
    except ImportError:
        session.rollback()
        flash(request, "邮件发送功能尚未安装 (alerts.outbox missing)", "error")
    except UserError as exc:
        session.rollback()
        flash(request, exc.message, "error")
    return RedirectResponse("/reports", status_code=303)
