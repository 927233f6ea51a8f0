"""What each scheduled job does, and the one wrapper every job runs through (lease, log, health)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select

from api.scheduler.lease import claim, new_holder, release
from core.config import Settings, get_settings
from core.db import session_scope, utcnow

log = logging.getLogger("yuqing.scheduler")

# A job function gets the part of the job id after the colon ("crawl:board" -> "board").
JobFunc = Callable[[str, Settings, dt.datetime], None]


@dataclass(frozen=True)
class JobKind:
    """A kind of job: its function, how long one run may hold the lease, its Chinese name."""

    func: JobFunc
    ttl: dt.timedelta | Callable[[Settings], dt.timedelta]
    label: str

    def lease_ttl(self, settings: Settings) -> dt.timedelta:
        """How long one run may hold the lease before another process may take over."""
        return self.ttl(settings) if callable(self.ttl) else self.ttl


JOB_KINDS: dict[str, JobKind] = {}
HOLDER = new_holder()


def register(
    kind: str,
    func: JobFunc,
    *,
    ttl: dt.timedelta | Callable[[Settings], dt.timedelta],
    label: str,
) -> None:
    """Make a job kind runnable by the scheduler (the built-in kinds register below)."""
    JOB_KINDS[kind] = JobKind(func=func, ttl=ttl, label=label)


def run_scheduled(job_id: str, min_gap_seconds: float) -> None:
    """Entry point APScheduler calls (by its text reference, so the job store can keep it)."""
    execute(job_id, min_gap=dt.timedelta(seconds=min_gap_seconds))


def execute(
    job_id: str,
    *,
    min_gap: dt.timedelta,
    settings: Settings | None = None,
    now: dt.datetime | None = None,
    holder: str | None = None,
) -> str:
    """Run one job under its lease: 'ran', 'skipped' (another run has it) or 'failed'."""
    settings = settings or get_settings()
    injected = now is not None
    now = now or utcnow()
    holder = holder or HOLDER
    kind_name, _, arg = job_id.partition(":")
    kind = JOB_KINDS.get(kind_name)
    if kind is None:
        log.error("job %s: unknown job kind %r; skipped", job_id, kind_name)
        return "failed"
    with session_scope(settings) as session:
        if not claim(
            session=session,
            job_id=job_id,
            holder=holder,
            now=now,
            ttl=kind.lease_ttl(settings),
            min_gap=min_gap,
        ):
            log.info("job %s: already running or just ran elsewhere; skipped", job_id)
            return "skipped"
    status, error = "ok", ""
    try:
        kind.func(arg, settings, now)
    except Exception as exc:  # a failing job must never stop the scheduler
        status, error = "failed", f"{type(exc).__name__}: {exc}"
        log.exception("job %s failed", job_id)
    finally:
        with session_scope(settings) as session:
            finished = now if injected else utcnow()
            release(
                session=session,
                job_id=job_id,
                holder=holder,
                now=finished,
                status=status,
                error=error,
            )
    return "ran" if status == "ok" else "failed"


def record_crawl_failure(*, settings: Settings, source_name: str, error: str) -> None:
    """Put a failed crawl run on the source's health history."""
    from crawlers.models import CrawlRun, Source

    with session_scope(settings) as session:
        source = session.scalars(select(Source).where(Source.name == source_name)).first()
        if source is None:
            log.warning("crawl of %s failed before the source was known: %s", source_name, error)
            return
        session.add(
            CrawlRun(
                source_id=source.id,
                status="failed",
                trigger="schedule",
                started_at=utcnow(),
                finished_at=utcnow(),
                exceptions=1,
                last_error=error[:2000],
            )
        )


def analyze_and_evaluate(settings: Settings, now: dt.datetime | None = None) -> None:
    """Analyse new posts, then run the alert rules over them."""
    from alerts.service import evaluate
    from analysis.service import analyze_pending

    analyze_pending(settings=settings)
    with session_scope(settings) as session:
        evaluate(session=session, settings=settings, now=now)


def crawl_job(name: str, settings: Settings, now: dt.datetime) -> None:
    """Crawl one source, then analyse and evaluate what came in."""
    try:
        from crawlers.runner import crawl

        results = crawl(names=[name], sources_file=settings.sources_file, trigger="schedule")
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        record_crawl_failure(settings=settings, source_name=name, error=error)
        raise
    for result in results:
        if result.status == "failed":
            log.warning("crawl of %s failed: %s", result.source, result.error)
    analyze_and_evaluate(settings)


def outbox_job(_: str, settings: Settings, now: dt.datetime) -> None:
    """Send what waits in the email outbox."""
    from alerts.outbox import flush

    with session_scope(settings) as session:
        sent, failed = flush(session=session, settings=settings)
    if sent or failed:
        log.info("outbox: %d sent, %d failed", sent, failed)


def digest_job(_: str, settings: Settings, now: dt.datetime) -> None:
    """Queue the daily alert digest and send it."""
    from alerts.digest import queue_daily_digest

    with session_scope(settings) as session:
        queue_daily_digest(session=session, settings=settings, now=now)
    outbox_job("", settings, now)


def monthly_report_job(_: str, settings: Settings, now: dt.datetime) -> None:
    """Build and send last month's report once (a report already sent is not sent again)."""
    from alerts.models import Report
    from alerts.reports.figures import month_before
    from alerts.reports.monthly import build_monthly_report, send_monthly_report, store_report

    month = month_before(now, settings.tz)
    with session_scope(settings) as session:
        sent = session.scalars(
            select(Report.id).where(
                Report.kind == "monthly", Report.period == month, Report.sent_at.is_not(None)
            )
        ).first()
        if sent is not None:
            log.info("monthly report %s was already sent (report %s)", month, sent)
            return
        report = build_monthly_report(session=session, month=month, settings=settings, now=now)
        if not settings.report_recipients:
            store_report(session=session, report=report)
            log.warning("monthly report %s stored but not sent: no YUQING_REPORT_RECIPIENTS", month)
            return
        send_monthly_report(session=session, month=month, settings=settings, now=now, report=report)
    outbox_job("", settings, now)


def retention_job(_: str, settings: Settings, now: dt.datetime) -> None:
    """Purge posts older than the retention period, keeping daily counts."""
    from alerts.reports.retention import purge

    with session_scope(settings) as session:
        result = purge(session=session, settings=settings, now=now)
    if result.posts:
        log.info("retention: %d posts over %d days purged", result.posts, result.days)


register(
    "crawl",
    crawl_job,
    ttl=lambda s: dt.timedelta(seconds=s.crawl_timeout) + dt.timedelta(minutes=10),
    label="抓取信息源",
)
register("outbox", outbox_job, ttl=dt.timedelta(minutes=15), label="发送邮件队列")
register("digest", digest_job, ttl=dt.timedelta(hours=1), label="每日告警摘要")
register("monthly_report", monthly_report_job, ttl=dt.timedelta(hours=2), label="月度舆情报告")
register("retention", retention_job, ttl=dt.timedelta(hours=6), label="过期数据清理")
