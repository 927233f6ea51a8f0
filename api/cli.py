"""`yuqing serve`, `yuqing schedule list` and `yuqing run-once`."""

from __future__ import annotations

import datetime as dt
import logging
import signal
from typing import Any

import click

from core.errors import UserError


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--no-scheduler", is_flag=True, help="Serve the web app only (no scheduled jobs).")
def serve(host: str, port: int, no_scheduler: bool) -> None:
    """Run the web app and the scheduler (crawls, analysis, alerts, mail, reports)."""
    import uvicorn

    from api.scheduler.service import start_scheduler, stop_scheduler
    from core.config import get_settings

    settings = get_settings()
    logging.getLogger("yuqing").setLevel(settings.log_level)
    if not logging.getLogger().handlers:
        logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger().setLevel(min(logging.getLogger().level, logging.INFO))
    logging.getLogger("alembic").setLevel(logging.WARNING)  # its plugin setup lines are noise
    _check_database(settings)
    try:
        from api.app import create_app
    except ImportError as exc:
        raise UserError(f"the web app is not available in this build ({exc})") from exc
    app = create_app(settings)
    # uvicorn re-raises the stop signal once the web app is down; SIGTERM's default action
    # would then kill the process before the scheduler stops (a running crawl cut off, its
    # lease held until it expires). As KeyboardInterrupt, SIGTERM stops like Ctrl-C.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    scheduler = None if no_scheduler else start_scheduler(settings)
    suffix = "" if scheduler else " (no scheduler)"
    click.echo(f"舆情哨兵 serving on http://{host}:{port}{suffix}")
    try:
        uvicorn.run(app, host=host, port=port, log_level=settings.log_level.lower())
    except KeyboardInterrupt:
        pass  # the stop signal, re-raised by uvicorn after its own clean shutdown
    finally:
        if scheduler is not None:
            click.echo("停止定时任务，等待正在运行的任务结束… (stopping the scheduler)")
            stop_scheduler(scheduler)
    click.echo("舆情哨兵已停止 (stopped)")


def _check_database(settings: Any) -> None:
    from core.db import get_engine
    from core.migrate import current_revision, head_revision

    if current_revision(get_engine(settings)) != head_revision():
        raise UserError("the database is not initialised or not up to date: run `yuqing init`")


@click.group(name="schedule")
def schedule_group() -> None:
    """Scheduled jobs (定时任务)."""


@schedule_group.command("list")
def schedule_list() -> None:
    """Show each job with its next run and its last result."""
    from api.scheduler.service import next_runs
    from core.config import get_settings

    settings = get_settings()
    _check_database(settings)
    tz = settings.tz
    click.echo("任务\t下次运行\t上次开始\t上次结果")
    for row in next_runs(settings):
        click.echo(
            f"{row['id']}\t{_fmt(row['next_run'], tz)}\t{_fmt(row['last_started'], tz)}\t"
            f"{row['last_status'] or '—'}"
            + (f"  {row['last_error'][:120]}" if row["last_status"] == "failed" else "")
        )


def _fmt(value: dt.datetime | None, tz: Any) -> str:
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M") if value else "—"


@click.command(name="run-once")
@click.option("--all", "all_sources", is_flag=True, help="Crawl every enabled source, due or not.")
def run_once(all_sources: bool) -> None:
    """One full cycle now: crawl due sources, analyse, evaluate alerts, send mail."""
    from api.scheduler.cycle import run_cycle
    from core.config import get_settings

    settings = get_settings()
    _check_database(settings)
    result = run_cycle(settings=settings, all_sources=all_sources, echo=click.echo)
    click.echo(
        f"完成：抓取 {len(result.crawled)} 个信息源，新增信息 {result.items_new} 条，"
        f"分析 {result.analysed} 条，新告警 {result.alerts_created} 条，"
        f"邮件发送 {result.mail_sent} 封、失败 {result.mail_failed} 封"
    )
