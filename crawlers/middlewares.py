"""Downloader middleware and cache policy: right text encoding, conditional requests."""

from __future__ import annotations

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.extensions.httpcache import RFC2616Policy
from scrapy.http import Response, TextResponse

from crawlers.encoding import detect_encoding


class EncodingMiddleware:
    """Re-decode text responses whose declared charset is wrong or missing (GBK boards)."""

    def __init__(self, crawler: Crawler | None = None) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> EncodingMiddleware:
        return cls(crawler)

    def process_response(
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Response:
        if not isinstance(response, TextResponse) or not response.body:
            return response
        spider = spider or (self.crawler.spider if self.crawler else None)
        override = getattr(getattr(spider, "source", None), "encoding", "") or ""
        content_type = response.headers.get(b"Content-Type")
        encoding = detect_encoding(
            response.body,
            content_type.decode("latin-1") if content_type else None,
            override,
        )
        if encoding != response.encoding:
            return response.replace(encoding=encoding)
        return response


class RevalidatePolicy(RFC2616Policy):
    """Keep responses that can be revalidated; always ask the server (If-None-Match/-Modified).

    Plain RFC 2616 freshness would serve a listing from cache for hours and miss new posts.
    """

    def should_cache_response(self, response: Response, request: Request) -> bool:
        return response.status == 200 and (
            b"ETag" in response.headers or b"Last-Modified" in response.headers
        )

    def is_cached_response_fresh(self, cachedresponse: Response, request: Request) -> bool:
        self._set_conditional_validators(request, cachedresponse)
        return False

    def is_cached_response_valid(
        self, cachedresponse: Response, response: Response, request: Request
    ) -> bool:
        # a 5xx is a failure to report, not a reason to replay old content
        return response.status == 304
