"""kind = "json": a JSON endpoint with paging; fields picked out with JMESPath."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import jmespath
import scrapy
from scrapy.http import Response, TextResponse

from crawlers.extract import html_to_text
from crawlers.spiders.base import SourceSpider

FIELDS = ("id", "title", "text", "url", "time", "author", "likes", "replies", "reposts", "views")


class JsonSpider(SourceSpider):
    """Pages through `url` ({page} is replaced) until a page is empty, known, or max_pages."""

    name = "json"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        src = self.source
        self.items_expr = jmespath.compile(src.items_path)
        self.paths = {
            f: jmespath.compile(getattr(src, f"{f}_path"))
            for f in FIELDS
            if getattr(src, f"{f}_path")
        }

    def page_url(self, page: int) -> str:
        return self.source.url.replace("{page}", str(page))

    async def start(self) -> AsyncIterator[scrapy.Request]:
        page = self.source.start_page
        yield self.request(
            self.page_url(page), self.parse, cb_kwargs={"page": page, "n": 1}, dont_filter=True
        )

    def parse(self, response: Response, page: int = 1, n: int = 1, **kw: Any) -> Iterator[Any]:
        self.listing_pages += 1
        body = (
            response.text
            if isinstance(response, TextResponse)
            else response.body.decode("utf-8", "replace")
        )
        try:
            data = json.loads(body)
        except ValueError as exc:
            self.parse_failed(response.url, f"not valid JSON ({exc})")
            return
        rows = self.items_expr.search(data)
        if not isinstance(rows, list):
            if n == 1:
                self.parse_failed(
                    response.url, f"items_path {self.source.items_path!r} found no list"
                )
            return
        items = []
        for row in rows:
            values = {f: expr.search(row) for f, expr in self.paths.items()}
            url = values.get("url")
            if not url and self.source.url_template and values.get("id") is not None:
                url = self.source.url_template.replace("{id}", str(values["id"]))
            if not url:
                continue
            items.append((response.urljoin(str(url)), values))
        fresh, known = self.split_known(u for u, _ in items)
        self.known_skipped += known
        fresh_set = set(fresh)
        for url, values in items:
            if url not in fresh_set:
                continue
            fresh_set.discard(url)
            loader = self.loader(response)
            loader.add_value("url", url)
            if values.get("id") is not None:
                loader.add_value("external_id", str(values["id"]))
            loader.add_value("title", _text(values.get("title")))
            loader.add_value("text", _text(values.get("text")))
            loader.add_value("author", values.get("author"))
            loader.add_value("published_at", values.get("time"))
            for key in ("likes", "replies", "reposts", "views"):
                loader.add_value(key, values.get(key))
            yield self.emit(loader.load_item())
        if fresh and "{page}" in self.source.url and n < self.source.max_pages:
            yield self.request(
                self.page_url(page + 1), self.parse, cb_kwargs={"page": page + 1, "n": n + 1}
            )


def _text(value: Any) -> Any:
    if isinstance(value, str) and "<" in value:
        return html_to_text(value)
    return value
