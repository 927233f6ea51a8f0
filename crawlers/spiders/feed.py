"""kind = "feed": RSS 2.0, Atom (feedparser) and JSON Feed; one request per run."""

from __future__ import annotations

import calendar
import datetime as dt
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import scrapy
from scrapy.http import Response, TextResponse

from crawlers.extract import html_to_text
from crawlers.spiders.base import SourceSpider


def _struct_to_dt(value: Any) -> dt.datetime | None:
    if not value:
        return None
    return dt.datetime.fromtimestamp(calendar.timegm(value), dt.UTC)


class FeedSpider(SourceSpider):
    """Reads one feed; RSSHub routes (Weibo, WeChat accounts, 贴吧) come in through here."""

    name = "feed"

    async def start(self) -> AsyncIterator[scrapy.Request]:
        yield self.request(self.source.url, self.parse, dont_filter=True)

    def parse(self, response: Response, **kwargs: Any) -> Iterator[Any]:
        if not isinstance(response, TextResponse):
            self.parse_failed(response.url, "feed is not text")
            return
        self.listing_pages += 1
        head = response.text.lstrip()[:1]
        if head in ("{", "["):
            yield from self.parse_json_feed(response)
        else:
            yield from self.parse_xml_feed(response)

    def parse_xml_feed(self, response: TextResponse) -> Iterator[Any]:
        import feedparser

        parsed = feedparser.parse(response.text)
        if not parsed.entries:
            reason = "no entries in feed"
            if parsed.bozo:
                reason = f"not a valid feed ({parsed.bozo_exception})"
            self.parse_failed(response.url, reason)
            return
        for entry in parsed.entries:
            link = entry.get("link") or entry.get("id")
            if not link:
                continue
            content = ""
            if entry.get("content"):
                content = max((c.get("value", "") for c in entry.content), key=len)
            content = content or entry.get("summary", "")
            loader = self.loader(response)
            loader.add_value("url", link)
            loader.add_value("external_id", entry.get("id"))
            loader.add_value("title", html_to_text(entry.get("title", "")))
            loader.add_value("text", html_to_text(content))
            loader.add_value("author", entry.get("author"))
            published = _struct_to_dt(entry.get("published_parsed") or entry.get("updated_parsed"))
            loader.add_value("published_at", published or entry.get("published"))
            loader.add_value("replies", entry.get("slash_comments"))
            yield self.emit(loader.load_item())

    def parse_json_feed(self, response: TextResponse) -> Iterator[Any]:
        try:
            data = json.loads(response.text)
        except ValueError as exc:
            self.parse_failed(response.url, f"not valid JSON ({exc})")
            return
        if not isinstance(data, dict) or "jsonfeed.org" not in str(data.get("version", "")):
            self.parse_failed(response.url, 'JSON but not a JSON Feed (use kind = "json")')
            return
        for entry in data.get("items") or []:
            if not isinstance(entry, dict):
                continue
            link = entry.get("url") or entry.get("external_url") or entry.get("id")
            if not link:
                continue
            author = entry.get("author") or (entry.get("authors") or [{}])[0]
            loader = self.loader(response)
            loader.add_value("url", str(link))
            loader.add_value("external_id", entry.get("id"))
            loader.add_value("title", entry.get("title"))
            text = entry.get("content_text") or html_to_text(entry.get("content_html") or "")
            loader.add_value("text", text or entry.get("summary"))
            loader.add_value("author", author.get("name") if isinstance(author, dict) else None)
            loader.add_value("published_at", _iso(entry.get("date_published")))
            yield self.emit(loader.load_item())


def _iso(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    return value
