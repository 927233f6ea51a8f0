"""`yuqing alerts`, `yuqing outbox` and `yuqing export alerts`."""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path
from typing import Any

import click

from alerts.models import SEVERITIES, SEVERITY_LABELS, STATE_LABELS, STATES, Alert
from core.config import get_settings
from core.db import session_scope
from core.errors import UserError
from core.spreadsheet import cell

EXPORT_FIELDS = (
    "id",
    "event_id",
    "severity",
    "state",
    "rule",
    "reason",
    "post_ids",
    "created_at",
    "updated_at",
)


@click.group(name="alerts")
def alerts_group() -> None:
    """Evaluate alert rules and list alerts."""


@alerts_group.command(name="evaluate")
@click.option("--no-send", is_flag=True, help="Queue urgent mail but do not send it now.")
def evaluate_cmd(no_send: bool) -> None:
    """Run the alert rules over analysed posts and source health; send urgent mail."""
    from alerts import outbox, service

    settings = get_settings()
    with session_scope(settings) as session:
        result = service.evaluate(session=session, settings=settings)
    click.echo(
        f"告警评估完成：新建 {result.created} 条，更新 {result.updated} 条，"
        f"自动办结 {result.resolved} 条，待发邮件 {result.mails} 封"
    )
    if result.mails and not no_send:
        _send(outbox, settings)


def _send(outbox: Any, settings: Any) -> None:
    if not settings.smtp_host:
        click.echo("未配置 YUQING_SMTP_HOST：邮件留在发件箱中 (mail stays in the outbox)")
        return
    with session_scope(settings) as session:
        sent, failed = outbox.flush(session=session, settings=settings)
    click.echo(f"邮件：已发送 {sent} 封，失败 {failed} 封（失败的稍后自动重试）")


@alerts_group.command(name="list")
@click.option(
    "--state", "states", multiple=True, type=click.Choice(STATES), help="Filter by state."
)
@click.option(
    "--severity",
    "severities",
    multiple=True,
    type=click.Choice(SEVERITIES),
    help="Filter by severity.",
)
@click.option("--limit", type=click.IntRange(min=1), default=200, show_default=True)
def list_cmd(states: tuple[str, ...], severities: tuple[str, ...], limit: int) -> None:
    """List alerts, newest first."""
    from alerts import service
    from alerts.mail import local_time

    settings = get_settings()
    with session_scope(settings) as session:
        alerts = service.list_alerts(
            session=session, states=states, severities=severities, limit=limit
        )
        if not alerts:
            click.echo("（没有符合条件的告警）")
            return
        for alert in alerts:
            posts = len(service.post_ids_of(session=session, alert=alert))
            click.echo(
                f"#{alert.id:<5} {SEVERITY_LABELS[alert.severity]:<4} "
                f"{STATE_LABELS.get(alert.state, alert.state):<4} "
                f"{local_time(alert.created_at, settings)}  {alert.rule:<18} "
                f"帖子{posts:>3}  {alert.title[:40]}"
            )


@alerts_group.command(name="digest")
def digest_cmd() -> None:
    """Queue today's digest now and send it."""
    from alerts import digest, outbox

    settings = get_settings()
    with session_scope(settings) as session:
        mail = digest.queue_daily_digest(session=session, settings=settings)
    if mail is None:
        raise UserError(
            "no digest recipients: put a user with an email on duty, or set YUQING_ALERT_RECIPIENTS"
        )
    click.echo(f"日报已加入发件箱 (#{mail.id})")
    _send(outbox, settings)


@click.group(name="outbox")
def outbox_group() -> None:
    """The email outbox."""


@outbox_group.command(name="send")
def outbox_send() -> None:
    """Send every mail whose time has come now."""
    from alerts import outbox

    settings = get_settings()
    if not settings.smtp_host:
        raise UserError("YUQING_SMTP_HOST is not set: mail stays in the outbox")
    with session_scope(settings) as session:
        sent, failed = outbox.flush(session=session, settings=settings)
        waiting = len(outbox.pending(session=session, now=None)) if failed else 0
    click.echo(
        f"已发送 {sent} 封，失败 {failed} 封" + ("（将按退避时间自动重试）" if failed else "")
    )
    if failed and not sent:
        raise UserError(f"could not send {failed} mail(s); they wait in the outbox ({waiting} due)")


def _export_rows(states: tuple[str, ...], severities: tuple[str, ...]) -> list[dict[str, Any]]:
    from alerts import service

    with session_scope() as session:
        alerts = service.list_alerts(session=session, states=states, severities=severities)
        return [_export_row(session, alert) for alert in reversed(alerts)]


def _export_row(session: Any, alert: Alert) -> dict[str, Any]:
    from alerts.service import post_ids_of

    return {
        "id": alert.id,
        "event_id": alert.event_id,
        "severity": alert.severity,
        "state": alert.state,
        "rule": alert.rule,
        "reason": alert.reason,
        "post_ids": post_ids_of(session=session, alert=alert),
        "created_at": alert.created_at.isoformat(),
        "updated_at": alert.updated_at.isoformat(),
    }


@click.command(name="alerts")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "csv", "xlsx"]),
    default="jsonl",
    show_default=True,
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file (default: standard output; xlsx needs a file or a pipe).",
)
@click.option("--state", "states", multiple=True, type=click.Choice(STATES))
@click.option("--severity", "severities", multiple=True, type=click.Choice(SEVERITIES))
def export_alerts(
    fmt: str, output: Path | None, states: tuple[str, ...], severities: tuple[str, ...]
) -> None:
    """Export alerts (id, event_id, severity, state, rule, reason, post_ids, times)."""
    if fmt == "xlsx" and output is None and sys.stdout.isatty():
        raise UserError("xlsx is binary: give --output FILE or redirect standard output")
    rows = _export_rows(states, severities)
    data = _encode(rows, fmt)
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        try:
            output.write_bytes(data)
        except OSError as exc:
            raise UserError(f"cannot write {output}: {exc.strerror}") from exc
        click.echo(f"已导出 {len(rows)} 条告警到 {output}", err=True)


def _encode(rows: list[dict[str, Any]], fmt: str) -> bytes:
    if fmt == "jsonl":
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode()
    flat = [r | {"post_ids": " ".join(str(p) for p in r["post_ids"])} for r in rows]
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=EXPORT_FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: cell(v) for k, v in r.items()} for r in flat)
        # a BOM so Excel opens the Chinese reasons correctly
        return ("\ufeff" + buffer.getvalue()).encode()
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "alerts"
    sheet.append(list(EXPORT_FIELDS))
    for row in flat:
        sheet.append([cell(row[f]) for f in EXPORT_FIELDS])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
