"""What every source spider shares: config, requests with error accounting, loaders, known URLs."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

import scrapy
from scrapy.exceptions import CloseSpider, IgnoreRequest
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawlers.items import PostLoader
from crawlers.sources import SourceConfig
from crawlers.urls import canonical_url


class SourceSpider(scrapy.Spider):
    """Base of the generic spiders; one instance crawls one source."""

    name = "source"

    def __init__(
        self,
        source: dict[str, Any] | SourceConfig,
        source_id: int = 0,
        run_id: int = 0,
        tz: str = "Asia/Shanghai",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if isinstance(source, str):  # Scrapyd passes spider arguments as strings
            source = json.loads(source)
        self.source = source if isinstance(source, SourceConfig) else SourceConfig(**source)
        self.source_id = int(source_id)
        self.run_id = int(run_id)
        self.tz = tz
        self.now = dt.datetime.now(dt.UTC)
        self.http_errors: Counter[str] = Counter()
        self.exception_count = 0
        self.parse_failures = 0
        self.last_error = ""
        self.items_found = 0
        self.known_skipped = 0
        self.listing_pages = 0

    # -- requests -------------------------------------------------------------------------------
    def request(self, url: str, callback: Callable[..., Any], **kwargs: Any) -> scrapy.Request:
        """A request with the source's headers and an errback that counts the failure."""
        headers = {**self.source.headers, **kwargs.pop("headers", {})}
        return scrapy.Request(
            url, callback=callback, errback=self.on_error, headers=headers or None, **kwargs
        )

    def on_error(self, failure: Failure) -> None:
        """Count and remember a failed request; the crawl goes on."""
        request = getattr(failure, "request", None)
        url = request.url if request is not None else ""
        if failure.check(HttpError):
            status = failure.value.response.status
            self.http_errors[str(status)] += 1
            self.last_error = f"HTTP {status} at {url}"
        elif failure.check(IgnoreRequest):
            message = failure.getErrorMessage() or "request ignored"
            self.exception_count += 1
            self.last_error = f"{message} at {url}"
        else:
            exc = failure.value
            name = type(exc).__name__
            message = failure.getErrorMessage().strip() or name
            if (
                name in {"TimeoutError", "TCPTimedOutError", "ResponseNeverReceived"}
                or "took longer" in message
            ):
                self.http_errors["timeout"] += 1
            self.exception_count += 1
            self.last_error = f"{name}: {message[:300]} at {url}"
        self.logger.warning("request failed: %s", self.last_error)

    def parse_failed(self, url: str, reason: str) -> None:
        """A page arrived but held nothing usable."""
        self.parse_failures += 1
        self.last_error = f"{reason} at {url}"
        self.logger.warning("%s", self.last_error)

    # -- items ----------------------------------------------------------------------------------
    def loader(self, response: Response | None = None, **kwargs: Any) -> PostLoader:
        """A post loader that resolves URLs against the response and dates in the office tz."""
        return PostLoader(response=response, now=self.now, tz=self.tz, **kwargs)

    def emit(self, item: Any) -> Any:
        """Count an item found and close the spider once max_items is reached."""
        if self.source.max_items and self.items_found >= self.source.max_items:
            raise CloseSpider("max_items")
        self.items_found += 1
        return item

    # -- incremental ----------------------------------------------------------------------------
    def split_known(self, urls: Iterable[str]) -> tuple[list[str], int]:
        """The URLs not stored yet (deduplicated, order kept) and how many were already known."""
        from core.db import session_scope
        from crawlers.store import known_urls

        by_canon: dict[str, str] = {}
        for url in urls:
            by_canon.setdefault(canonical_url(url), url)
        if not by_canon:
            return [], 0
        with session_scope() as session:
            known = known_urls(session=session, canonical_urls=by_canon)
        fresh = [url for canon, url in by_canon.items() if canon not in known]
        return fresh, len(by_canon) - len(fresh)
