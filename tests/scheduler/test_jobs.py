"""Job leases, failure handling and job syncing, with an injected clock."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from sqlalchemy import select

from api.scheduler.jobs import execute
from api.scheduler.lease import claim, release
from api.scheduler.models import JobLease
from api.scheduler.service import create_scheduler, desired_jobs, sync_jobs
from crawlers.models import CrawlRun
from tests.factories import make_source
from tests.scheduler import standin

T0 = dt.datetime(2025, 5, 1, 2, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)


def test_lease_lets_one_holder_run_and_spaces_runs(session):
    args = {"session": session, "job_id": "crawl:a", "ttl": HOUR, "min_gap": 0.5 * HOUR}
    assert claim(holder="p1", now=T0, **args)
    assert not claim(holder="p2", now=T0, **args)  # held
    release(session=session, job_id="crawl:a", holder="p1", now=T0, status="ok")
    assert not claim(holder="p2", now=T0 + dt.timedelta(seconds=5), **args)  # just ran
    assert claim(holder="p2", now=T0 + HOUR, **args)
    # a holder that died keeps the lease only until it expires
    assert not claim(holder="p3", now=T0 + 1.5 * HOUR, **args)
    assert claim(holder="p3", now=T0 + 2.5 * HOUR, **args)
    assert session.get(JobLease, "crawl:a").holder == "p3"


def test_execute_runs_once_per_gap_and_survives_failures(settings):
    gap = dt.timedelta(minutes=30)
    assert execute("standin:x", min_gap=gap, now=T0, holder="p1") == "ran"
    assert execute("standin:x", min_gap=gap, now=T0, holder="p2") == "skipped"
    assert execute("explode:y", min_gap=gap, now=T0, holder="p1") == "failed"
    assert execute("standin:x", min_gap=gap, now=T0 + HOUR, holder="p2") == "ran"
    assert len(standin.runs(settings)) == 2
    from core.db import session_scope

    with session_scope(settings) as session:
        failed = session.get(JobLease, "explode:y")
        assert failed.last_status == "failed"
        assert "stand-in failure y" in failed.last_error
        assert failed.expires_at is None  # released, so the next run is not blocked


def test_failed_crawl_is_recorded_on_the_source_health(settings, session, tmp_path, monkeypatch):
    source = make_source(session, name="坏掉的源")
    session.commit()
    monkeypatch.setenv("YUQING_SOURCES_FILE", str(tmp_path / "missing.toml"))
    from core import config

    config.get_settings.cache_clear()
    result = execute("crawl:坏掉的源", min_gap=HOUR, settings=config.get_settings(), now=T0)
    assert result == "failed"
    session.expire_all()
    runs = session.scalars(select(CrawlRun).where(CrawlRun.source_id == source.id)).all()
    assert [r.status for r in runs] == ["failed"]
    assert runs[0].last_error


def _sources(**intervals):
    return [SimpleNamespace(name=n, enabled=True, interval=i) for n, i in intervals.items()]


def test_sync_keeps_unchanged_jobs_and_follows_the_sources_file(settings):
    scheduler = create_scheduler(settings)
    scheduler.start(paused=True)
    try:
        specs = desired_jobs(settings, sources=_sources(board=30, news=60))
        counts = sync_jobs(scheduler, settings, specs=specs)
        assert counts["added"] == 6
        ids = {job.id for job in scheduler.get_jobs()}
        assert ids == {
            "crawl:board",
            "crawl:news",
            "outbox",
            "digest",
            "monthly_report",
            "retention",
        }
        board = scheduler.get_job("crawl:board")
        missed = board.next_run_time - dt.timedelta(hours=5)
        scheduler.modify_job("crawl:board", next_run_time=missed)
        specs = desired_jobs(settings, sources=_sources(board=30, news=15))
        counts = sync_jobs(scheduler, settings, specs=specs)
        assert counts == {"added": 0, "updated": 1, "removed": 0, "kept": 5}
        assert scheduler.get_job("crawl:board").next_run_time == missed  # still due: runs on start
        specs = desired_jobs(settings, sources=_sources(news=15))
        assert sync_jobs(scheduler, settings, specs=specs)["removed"] == 1
        monthly = scheduler.get_job("monthly_report").next_run_time
        assert (monthly.day, monthly.hour, monthly.minute) == (1, 8, 0)
        assert str(monthly.tzinfo) == "Asia/Shanghai"
        digest = scheduler.get_job("digest").next_run_time
        assert digest.hour == settings.digest_hour
    finally:
        scheduler.shutdown(wait=False)


def test_a_new_job_that_is_already_due_runs_at_once(settings, session):
    from alerts.outbox import queue
    from core.db import utcnow

    source = make_source(session, name="board")
    recent = make_source(session, name="news")
    session.add(CrawlRun(source_id=recent.id, status="ok", trigger="schedule"))
    session.commit()
    assert source.id
    hour = utcnow().astimezone(settings.tz).hour
    settings = settings.model_copy(update={"digest_hour": hour})
    scheduler = create_scheduler(settings)
    scheduler.start(paused=True)
    try:
        started = utcnow()
        specs = desired_jobs(settings, sources=_sources(board=60, news=60, idle=60))
        sync_jobs(scheduler, settings, specs=specs)
        # never crawled: now, not an hour from now
        assert scheduler.get_job("crawl:board").next_run_time <= utcnow()
        assert scheduler.get_job("crawl:idle").next_run_time <= utcnow()
        # crawled a moment ago: at its next interval tick
        assert scheduler.get_job("crawl:news").next_run_time > started
        # started during the digest hour with today's digest not sent: now
        assert scheduler.get_job("digest").next_run_time <= utcnow()
        day = utcnow().astimezone(settings.tz).date().isoformat()
        queue(
            session=session,
            to=["a@example.org"],
            subject="s",
            body_text="b",
            kind="digest",
            dedup_key=f"digest:{day}",
        )
        session.commit()
        scheduler.remove_job("digest")
        sync_jobs(scheduler, settings, specs=specs)
        assert scheduler.get_job("digest").next_run_time > utcnow()  # sent already: tomorrow
    finally:
        scheduler.shutdown(wait=False)
