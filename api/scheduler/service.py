"""The APScheduler 3 scheduler: jobs kept in the database, coalesced, never overlapping."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_STOPPED
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import func, select

from api.scheduler.jobs import JOB_KINDS
from core.config import Settings, get_settings
from core.db import get_engine, session_scope, utcnow
from core.errors import UserError

log = logging.getLogger("yuqing.scheduler")

JOBSTORE_TABLE = "apscheduler_jobs"
JOB_FUNC = "api.scheduler.jobs:run_scheduled"
# Interval jobs count from a fixed origin so every process computes the same run times.
ORIGIN = dt.datetime(2024, 1, 1)
SYNC_MINUTES = 5


@dataclass
class JobSpec:
    """One job the scheduler should have: id ('kind:arg'), trigger, spacing between runs."""

    id: str
    trigger: BaseTrigger
    min_gap: dt.timedelta
    name: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _interval(minutes: float, settings: Settings) -> IntervalTrigger:
    return IntervalTrigger(
        minutes=minutes, start_date=ORIGIN.replace(tzinfo=settings.tz), timezone=settings.tz
    )


def desired_jobs(settings: Settings, *, sources: list[Any] | None = None) -> list[JobSpec]:
    """Every job the configuration asks for: one crawl per enabled source plus the fixed jobs."""
    if sources is None:
        sources = _load_sources(settings)
    jobs = [
        JobSpec(
            id=f"crawl:{source.name}",
            trigger=_interval(source.interval, settings),
            min_gap=dt.timedelta(minutes=source.interval / 2),
            name=f"抓取 {source.name}（每 {source.interval} 分钟）",
        )
        for source in sources
        if source.enabled
    ]
    tz = settings.tz
    jobs += [
        JobSpec("outbox", _interval(1, settings), dt.timedelta(seconds=30), "发送邮件队列"),
        JobSpec(
            "digest",
            CronTrigger(hour=settings.digest_hour, minute=0, timezone=tz),
            dt.timedelta(hours=12),
            f"每日告警摘要（每天 {settings.digest_hour}:00）",
        ),
        JobSpec(
            "monthly_report",
            CronTrigger(day=1, hour=8, minute=0, timezone=tz),
            dt.timedelta(days=14),
            "月度舆情报告（每月 1 日 8:00，上月）",
        ),
        JobSpec(
            "retention",
            CronTrigger(hour=3, minute=30, timezone=tz),
            dt.timedelta(hours=12),
            f"清理 {settings.retention_days} 天前的信息（每天 3:30）",
        ),
    ]
    return jobs


def _load_sources(settings: Settings) -> list[Any]:
    try:
        from crawlers.sources import load_sources
    except ImportError:
        log.warning("crawlers are not installed; no crawl jobs")
        return []
    if not settings.sources_file.is_file():
        log.warning("sources file %s not found; no crawl jobs", settings.sources_file)
        return []
    try:
        return load_sources(settings.sources_file)
    except UserError as exc:
        log.error("sources file unusable, crawl jobs unchanged: %s", exc.message)
        raise


class Scheduler(BackgroundScheduler):
    """APScheduler's background scheduler that never touches due jobs once shut down.

    APScheduler 3 wakes its thread on shutdown and may then advance a due job's next run time
    without running it; a stopped scheduler (or one only opened to read or sync the job store)
    must leave missed runs alone so the next start still runs them.
    """

    def _process_jobs(self) -> float | None:
        if self.state == STATE_STOPPED:
            return None
        return super()._process_jobs()


def create_scheduler(settings: Settings | None = None) -> Scheduler:
    """A scheduler whose jobs live in the product database; not started."""
    settings = settings or get_settings()
    scheduler = Scheduler(
        jobstores={
            "default": SQLAlchemyJobStore(engine=get_engine(settings), tablename=JOBSTORE_TABLE)
        },
        executors={"default": ThreadPoolExecutor(4)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        timezone=settings.tz,
    )
    scheduler.add_listener(_on_event, EVENT_JOB_ERROR | EVENT_JOB_MISSED)
    return scheduler


def _on_event(event: JobExecutionEvent) -> None:
    if event.code == EVENT_JOB_MISSED:
        log.warning("job %s missed its run at %s", event.job_id, event.scheduled_run_time)
    elif event.exception is not None:
        log.error("job %s raised %r", event.job_id, event.exception)


def sync_jobs(
    scheduler: BackgroundScheduler,
    settings: Settings,
    *,
    specs: list[JobSpec] | None = None,
) -> dict[str, int]:
    """Make the stored jobs match the configuration; unchanged jobs keep their next run time."""
    if specs is None:
        try:
            specs = desired_jobs(settings)
        except UserError:
            return {"added": 0, "updated": 0, "removed": 0, "kept": len(scheduler.get_jobs())}
    existing = {job.id: job for job in scheduler.get_jobs()}
    counts = {"added": 0, "updated": 0, "removed": 0, "kept": 0}
    now = utcnow()
    for spec in specs:
        if spec.id.partition(":")[0] not in JOB_KINDS:
            raise ValueError(f"unknown job kind in {spec.id!r}")
        args = [spec.id, spec.min_gap.total_seconds()]
        job = existing.pop(spec.id, None)
        if job is not None and repr(job.trigger) == repr(spec.trigger) and list(job.args) == args:
            counts["kept"] += 1  # keeps next_run_time, so a missed run still fires on start
            continue
        # A new or changed job that is already due runs at once, not a whole interval later.
        due = _due_now(spec, settings, now)
        scheduler.add_job(
            JOB_FUNC,
            spec.trigger,
            args=args,
            id=spec.id,
            name=spec.name or spec.id,
            replace_existing=True,
            **({"next_run_time": now.astimezone(settings.tz)} if due else {}),
        )
        counts["updated" if job is not None else "added"] += 1
    for job_id in existing:
        if job_id != "sync":
            scheduler.remove_job(job_id)
            counts["removed"] += 1
    return counts


def _due_now(spec: JobSpec, settings: Settings, now: dt.datetime) -> bool:
    """Whether a job being added (or changed) should run now rather than at its next tick.

    A source never crawled, or not within its interval, is crawled at once; the digest is sent
    at once when the scheduler starts during the digest hour and today's digest was not sent.
    """
    kind, _, arg = spec.id.partition(":")
    if kind == "crawl" and isinstance(spec.trigger, IntervalTrigger):
        from crawlers.models import CrawlRun, Source

        with session_scope(settings) as session:
            last = session.scalar(
                select(func.max(CrawlRun.started_at))
                .join(Source, CrawlRun.source_id == Source.id)
                .where(Source.name == arg)
            )
        return last is None or now - last >= spec.trigger.interval
    if kind == "digest":
        from alerts.models import OutboxEmail

        local = now.astimezone(settings.tz)
        if local.hour != settings.digest_hour:
            return False
        with session_scope(settings) as session:
            queued = session.scalar(
                select(OutboxEmail.id).where(
                    OutboxEmail.dedup_key == f"digest:{local.date().isoformat()}"
                )
            )
        return queued is None
    return False


_running: dict[str, Any] = {}


def resync() -> None:
    """Re-read sources.toml in a running scheduler (a scheduled job of its own)."""
    scheduler = _running.get("scheduler")
    if scheduler is not None:
        sync_jobs(scheduler, _running["settings"])


def start_scheduler(
    settings: Settings | None = None, *, specs: list[JobSpec] | None = None
) -> BackgroundScheduler:
    """Start the scheduler: sync the jobs, then run what was missed (once) and what comes."""
    settings = settings or get_settings()
    scheduler = create_scheduler(settings)
    scheduler.start(paused=True)
    counts = sync_jobs(scheduler, settings, specs=specs)
    if specs is None:
        scheduler.add_job(
            "api.scheduler.service:resync",
            _interval(SYNC_MINUTES, settings),
            id="sync",
            name="重新读取信息源配置",
            replace_existing=True,
        )
    _running.update(scheduler=scheduler, settings=settings)
    scheduler.resume()
    log.info("scheduler started: %s", counts)
    return scheduler


def stop_scheduler(scheduler: BackgroundScheduler) -> None:
    """Stop the scheduler, letting running jobs finish."""
    if scheduler.running:
        scheduler.shutdown(wait=True)
    if _running.get("scheduler") is scheduler:
        _running.clear()


def next_runs(settings: Settings | None = None) -> list[dict[str, Any]]:
    """Each job with its next run and how its last run went (for `yuqing schedule list`)."""
    from api.scheduler.models import JobLease

    settings = settings or get_settings()
    scheduler = create_scheduler(settings)
    scheduler.start(paused=True)
    try:
        sync_jobs(scheduler, settings)
        jobs = scheduler.get_jobs()
    finally:
        scheduler.shutdown(wait=False)
    with session_scope(settings) as session:
        leases = {row.job_id: row for row in session.scalars(select(JobLease))}
    rows = []
    for job in sorted(jobs, key=lambda j: (j.next_run_time is None, j.next_run_time, j.id)):
        lease = leases.get(job.id)
        rows.append(
            {
                "id": job.id,
                "name": job.name,
                "next_run": job.next_run_time,
                "last_started": lease.last_started_at if lease else None,
                "last_status": lease.last_status if lease else "",
                "last_error": lease.last_error if lease else "",
            }
        )
    return rows
