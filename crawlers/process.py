"""The crawl subprocess: `python -m crawlers.process SPEC.json` runs one spider per source.

Twisted's reactor cannot be restarted inside a process, so every crawl gets a fresh one.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from pathlib import Path
from typing import Any

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings

from crawlers.extensions import emit_event
from crawlers.sources import SourceConfig
from crawlers.spiders import SPIDERS


def spider_settings(source: SourceConfig) -> dict[str, Any]:
    """Scrapy settings a source overrides (politeness, timeouts, cache)."""
    custom: dict[str, Any] = {
        "ROBOTSTXT_OBEY": source.robots,
        "AUTOTHROTTLE_ENABLED": source.autothrottle,
        "HTTPCACHE_ENABLED": source.http_cache,
    }
    if source.download_delay is not None:
        custom["DOWNLOAD_DELAY"] = source.download_delay
    if source.concurrency is not None:
        custom["CONCURRENT_REQUESTS_PER_DOMAIN"] = source.concurrency
        custom["CONCURRENT_REQUESTS"] = max(16, source.concurrency)
    if source.timeout is not None:
        custom["DOWNLOAD_TIMEOUT"] = source.timeout
    return custom


def spider_class(source: SourceConfig) -> type:
    """A subclass of the kind's spider carrying the source's settings and a file-safe name."""
    base = SPIDERS[source.kind]
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", source.name).strip("-")[:40] or "source"
    digest = hashlib.sha1(source.name.encode()).hexdigest()[:8]
    return type(
        f"{base.__name__}_{digest}",
        (base,),
        {"name": f"{source.kind}-{slug}-{digest}", "custom_settings": spider_settings(source)},
    )


def build_settings(spec: dict[str, Any]) -> Settings:
    """Project settings plus what the parent passed (cache dir, log level)."""
    settings = Settings()
    settings.setmodule("crawlers.settings", priority="project")
    for key, value in (spec.get("settings") or {}).items():
        settings.set(key, value, priority="cmdline")
    return settings


def main(argv: list[str] | None = None) -> int:
    """Run the crawl described by the spec file; crawl runs are closed by the RunRecorder."""
    argv = sys.argv[1:] if argv is None else argv
    spec = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    process = CrawlerProcess(build_settings(spec))
    for job in spec["runs"]:
        source = SourceConfig(**job["source"])
        deferred = process.crawl(
            spider_class(source),
            source=source,
            source_id=job["source_id"],
            run_id=job["run_id"],
            tz=spec.get("timezone", "Asia/Shanghai"),
        )
        deferred.addErrback(_crawler_failed, source.name, job["run_id"])
    process.start()
    return 0


def _crawler_failed(failure: Any, name: str, run_id: int) -> None:
    from core.db import session_scope
    from crawlers.models import CrawlRun
    from crawlers.store import finish_run

    message = f"{type(failure.value).__name__}: {failure.getErrorMessage()}"[:2000]
    with session_scope() as session:
        run = session.get(CrawlRun, run_id)
        if run is not None and run.status == "running":
            finish_run(session=session, run=run, status="failed", last_error=message, exceptions=1)
    emit_event("done", source=name, run_id=run_id, status="failed", last_error=message)


if __name__ == "__main__":
    sys.exit(main())
