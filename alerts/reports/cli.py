"""`yuqing report`: build, write and send the monthly report; list and re-send stored ones."""

from __future__ import annotations

import time
from pathlib import Path

import click

from core.errors import UserError


@click.group(name="report")
def report_group() -> None:
    """Monthly sentiment reports (月度舆情报告)."""


@report_group.command("monthly")
@click.option("--month", help="YYYY-MM; default: the month before this one.")
@click.option("--send", is_flag=True, help="Queue the email to YUQING_REPORT_RECIPIENTS and flush.")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write the HTML, chart PNGs and XLSX into this folder.",
)
@click.option("--to", "to", multiple=True, help="Send to this address instead (repeatable).")
def monthly(month: str | None, send: bool, out_dir: Path | None, to: tuple[str, ...]) -> None:
    """Build the monthly report from the database (and email it with --send)."""
    from alerts.reports.figures import month_before, parse_month
    from alerts.reports.monthly import build_monthly_report, send_monthly_report, store_report
    from core.config import get_settings
    from core.db import session_scope, utcnow

    settings = get_settings()
    month = month or month_before(utcnow(), settings.tz)
    parse_month(month)
    if send:
        from alerts.reports.monthly import recipients_for

        recipients_for(settings, list(to))
    started = time.monotonic()
    click.echo(f"正在生成 {month} 月度报告…", err=True)
    with session_scope(settings) as session:
        report = build_monthly_report(session=session, month=month, settings=settings)
        if send:
            row = send_monthly_report(
                session=session,
                month=month,
                settings=settings,
                to=list(to) or None,
                report=report,
            )
        else:
            row = store_report(session=session, report=report)
        report_id = row.id
    totals = report.figures["totals"]
    click.echo(
        f"{report.figures['month_label']}: 信息 {totals['posts']} 条，"
        f"相关 {totals['relevant']} 条，"
        f"图表 {len(report.images)} 张（{time.monotonic() - started:.1f}s，报告编号 {report_id}）"
    )
    if out_dir:
        for path in report.write(out_dir):
            click.echo(f"  {path}")
    if send:
        _flush(settings)


def _flush(settings) -> None:  # type: ignore[no-untyped-def]
    from alerts.outbox import flush
    from core.db import session_scope

    if not settings.smtp_host:
        click.echo("已加入发送队列（未配置 YUQING_SMTP_HOST，邮件留在队列中）")
        return
    with session_scope(settings) as session:
        sent, failed = flush(session=session, settings=settings)
    click.echo(f"邮件：已发送 {sent} 封，失败 {failed} 封（失败的会自动重试）")


@report_group.command("list")
def list_reports() -> None:
    """List stored reports."""
    from sqlalchemy import select

    from alerts.models import OutboxEmail, Report
    from core.db import session_scope

    with session_scope() as session:
        rows = session.scalars(select(Report).order_by(Report.period.desc(), Report.id.desc()))
        for row in rows:
            mail = session.get(OutboxEmail, row.outbox_id) if row.outbox_id else None
            state = "未发送"
            if mail is not None:
                state = "已送达" if mail.sent_at else f"待发送（已尝试 {mail.attempts} 次）"
            totals = (row.figures or {}).get("totals", {})
            click.echo(
                f"{row.id}\t{row.period}\t信息 {totals.get('posts', 0)}\t"
                f"相关 {totals.get('relevant', 0)}\t{state}"
            )


@report_group.command("resend")
@click.argument("report_id", type=int)
@click.option("--to", "to", multiple=True, help="Send to this address instead (repeatable).")
def resend(report_id: int, to: tuple[str, ...]) -> None:
    """Queue a stored report again and flush the outbox."""
    from alerts.models import Report
    from alerts.reports.monthly import resend_report
    from core.config import get_settings
    from core.db import session_scope

    settings = get_settings()
    with session_scope(settings) as session:
        report = session.get(Report, report_id)
        if report is None:
            raise UserError(f"no report with id {report_id} (see `yuqing report list`)")
        resend_report(session=session, report=report, settings=settings, to=list(to) or None)
    click.echo(f"报告 {report_id} 已重新加入发送队列")
    _flush(settings)
