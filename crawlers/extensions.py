"""Records how each source's crawl went (crawl_runs) and reports progress to the parent."""

from __future__ import annotations

import json
import sys
from typing import Any

from scrapy import signals
from twisted.internet import task

# finish reasons that still mean the crawl did what it was asked
_NORMAL_REASONS = {"finished", "max_items"}


def emit_event(event: str, **data: Any) -> None:
    """One JSON line on stdout for the parent process (progress and results)."""
    sys.stdout.write(json.dumps({"event": event, **data}, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def run_outcome(
    *, reason: str, found: int, errors: int, last_error: str, pages: int
) -> tuple[str, str]:
    """The run status (ok / partial / failed) and its reason, from what the crawl saw."""
    if reason not in _NORMAL_REASONS:
        why = f"stopped early ({reason})" + (f"; last error: {last_error}" if last_error else "")
        return ("partial" if found else "failed"), why
    if found == 0:
        if last_error:
            return "failed", last_error
        if pages == 0:
            return "failed", "nothing was fetched"
        return "failed", "no posts found (check the URL and selectors)"
    if errors:
        return "partial", last_error
    return "ok", ""


class RunRecorder:
    """Closes the crawl run row of the spider with its figures and status."""

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.loop: task.LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler: Any) -> RunRecorder:
        ext = cls(crawler)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def _source(self, spider: Any) -> str:
        return getattr(getattr(spider, "source", None), "name", spider.name)

    def spider_opened(self, spider: Any) -> None:
        emit_event("start", source=self._source(spider), run_id=getattr(spider, "run_id", 0))
        self.loop = task.LoopingCall(self.progress, spider)
        self.loop.start(2.0, now=False)

    def progress(self, spider: Any) -> None:
        stats = self.crawler.stats
        emit_event(
            "progress",
            source=self._source(spider),
            pages=stats.get_value("downloader/response_count", 0),
            items=getattr(spider, "items_found", 0),
            new=stats.get_value("yuqing/items_new", 0),
        )

    def figures(self, spider: Any, reason: str) -> dict[str, Any]:
        """The crawl's numbers, as stored on the run row."""
        stats = self.crawler.stats
        http_errors = dict(getattr(spider, "http_errors", {}))
        exceptions = getattr(spider, "exception_count", 0) + sum(
            v for k, v in stats.get_stats().items() if k.startswith("spider_exceptions/")
        )
        parse_failures = getattr(spider, "parse_failures", 0)
        known = getattr(spider, "known_skipped", 0)
        found = getattr(spider, "items_found", 0) + known
        pages = stats.get_value("downloader/response_count", 0)
        errors = sum(http_errors.values()) + exceptions + parse_failures
        last_error = getattr(spider, "last_error", "")
        if stats.get_value("spider_exceptions/count", 0) and not last_error:
            last_error = "an error occurred while parsing (see the crawl log)"
        status, why = run_outcome(
            reason=reason, found=found, errors=errors, last_error=last_error, pages=pages
        )
        return {
            "status": status,
            "pages_fetched": pages,
            "items_seen": found,
            "items_new": stats.get_value("yuqing/items_new", 0),
            "items_duplicate": stats.get_value("yuqing/items_duplicate", 0) + known,
            "items_dropped": stats.get_value("item_dropped_count", 0),
            "http_errors": http_errors,
            "exceptions": exceptions,
            "last_error": (why or last_error)[:2000],
        }

    def spider_closed(self, spider: Any, reason: str) -> None:
        from core.db import session_scope
        from crawlers.models import CrawlRun
        from crawlers.store import finish_run

        if self.loop is not None and self.loop.running:
            self.loop.stop()
        figures = self.figures(spider, reason)
        run_id = getattr(spider, "run_id", 0)
        if run_id:
            with session_scope() as session:
                run = session.get(CrawlRun, run_id)
                if run is not None:
                    finish_run(session=session, run=run, **figures)
        emit_event("done", source=self._source(spider), run_id=run_id, **figures)
