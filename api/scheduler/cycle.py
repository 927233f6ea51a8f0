"""One full cycle on demand (`yuqing run-once`): due crawls, analysis, alert rules, outbox."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from api.scheduler.jobs import HOLDER, JOB_KINDS
from api.scheduler.lease import claim, release
from core.config import Settings, get_settings
from core.db import session_scope, utcnow
from core.errors import UserError


@dataclass
class CycleResult:
    """What one cycle did."""

    crawled: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    items_new: int = 0
    analysed: int = 0
    alerts_created: int = 0
    mail_sent: int = 0
    mail_failed: int = 0


def due_sources(
    *, settings: Settings, sources: list[Any], now: dt.datetime, all_sources: bool = False
) -> list[str]:
    """Names of enabled sources whose last crawl started at least their interval ago."""
    from crawlers.models import CrawlRun, Source

    enabled = [s for s in sources if s.enabled]
    if all_sources:
        return [s.name for s in enabled]
    with session_scope(settings) as session:
        last = dict(
            session.execute(
                select(Source.name, func.max(CrawlRun.started_at))
                .join(CrawlRun, CrawlRun.source_id == Source.id)
                .group_by(Source.name)
            ).all()
        )
    return [
        s.name
        for s in enabled
        if last.get(s.name) is None or now - last[s.name] >= dt.timedelta(minutes=s.interval)
    ]


def run_cycle(
    *,
    settings: Settings | None = None,
    now: dt.datetime | None = None,
    all_sources: bool = False,
    echo: Callable[[str], Any] | None = None,
) -> CycleResult:
    """Crawl due sources (under their job leases), analyse, evaluate, flush the outbox."""
    from alerts.outbox import flush
    from alerts.service import evaluate
    from analysis.service import analyze_pending
    from crawlers.runner import crawl
    from crawlers.sources import load_sources

    settings = settings or get_settings()
    now = now or utcnow()
    say = echo or (lambda _msg: None)
    result = CycleResult()
    if not settings.sources_file.is_file():
        raise UserError(f"sources file not found: {settings.sources_file} (YUQING_SOURCES_FILE)")
    sources = load_sources(settings.sources_file)
    ttl = JOB_KINDS["crawl"].lease_ttl(settings)
    claimed = []
    for name in due_sources(settings=settings, sources=sources, now=now, all_sources=all_sources):
        with session_scope(settings) as session:
            if claim(
                session=session,
                job_id=f"crawl:{name}",
                holder=HOLDER,
                now=now,
                ttl=ttl,
                min_gap=dt.timedelta(0),
            ):
                claimed.append(name)
            else:
                result.skipped.append(name)
    if claimed:
        say(f"抓取 {len(claimed)} 个信息源：{'、'.join(claimed)}")
        status = "ok"
        try:
            for run in crawl(names=claimed, sources_file=settings.sources_file, trigger="manual"):
                result.crawled.append(run.source)
                result.items_new += run.items_new
                if run.status == "failed":
                    say(f"  {run.source}: 失败 {run.error}")
        except Exception:
            status = "failed"
            raise
        finally:
            with session_scope(settings) as session:
                for name in claimed:
                    release(
                        session=session,
                        job_id=f"crawl:{name}",
                        holder=HOLDER,
                        now=utcnow(),
                        status=status,
                    )
    else:
        say("没有到期需要抓取的信息源")
    say("分析新信息…")
    result.analysed = analyze_pending(settings=settings)
    with session_scope(settings) as session:
        evaluation = evaluate(session=session, settings=settings, now=now)
        result.alerts_created = int(getattr(evaluation, "created", 0))
    with session_scope(settings) as session:
        result.mail_sent, result.mail_failed = flush(session=session, settings=settings)
    return result
