"""kind = "html": listing pages with detail links, optional pagination, selectors or trafilatura."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import scrapy
from scrapy.http import Response, TextResponse

from crawlers.extract import html_to_text, main_text
from crawlers.spiders.base import SourceSpider


def select_texts(response: TextResponse, css: str) -> list[str]:
    """Text of every node a CSS selector matches (plain strings for ::text and ::attr())."""
    texts = []
    for node in response.css(css):
        if isinstance(node.root, str):
            texts.append(node.root)
        else:
            texts.append(html_to_text(node.get()))
    return [t for t in texts if t and t.strip()]


def select_links(response: TextResponse, css: str) -> list[str]:
    """Absolute hrefs of what a CSS selector matches (elements or ::attr(href) strings)."""
    links = []
    for node in response.css(css):
        href = node.root if isinstance(node.root, str) else node.attrib.get("href")
        if href and not href.strip().lower().startswith(("javascript:", "mailto:", "#")):
            links.append(response.urljoin(href.strip()))
    return links


class HtmlSpider(SourceSpider):
    """Follows detail links from listing pages; stops paging once a whole page is known."""

    name = "html"

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for url in self.source.start_urls:
            yield self.request(url, self.parse_listing, cb_kwargs={"page": 1}, dont_filter=True)

    def parse_listing(self, response: Response, page: int) -> Iterator[Any]:
        if not isinstance(response, TextResponse):
            self.parse_failed(response.url, "listing is not a text page")
            return
        self.listing_pages += 1
        links = select_links(response, self.source.link_selector)
        if not links:
            self.parse_failed(response.url, f"no links match {self.source.link_selector!r}")
            return
        fresh, known = self.split_known(links)
        self.known_skipped += known
        for url in fresh:
            yield self.request(url, self.parse_post)
        if not fresh:
            self.logger.info("page %s holds only known posts; not paging further", response.url)
            return
        if self.source.next_selector and page < self.source.max_pages:
            next_links = select_links(response, self.source.next_selector)
            if next_links:
                yield self.request(next_links[0], self.parse_listing, cb_kwargs={"page": page + 1})

    def parse_post(self, response: Response) -> Iterator[Any]:
        if not isinstance(response, TextResponse):
            self.parse_failed(response.url, "post is not a text page")
            return
        src = self.source
        loader = self.loader(response)
        loader.add_value("url", response.url)
        auto: dict[str, str] = {}
        if src.text_selector:
            loader.add_value("text", select_texts(response, src.text_selector))
        else:
            auto = main_text(response.text, response.url)
            loader.add_value("text", auto["text"])
        if src.title_selector:
            loader.add_value("title", select_texts(response, src.title_selector))
        loader.add_value("title", auto.get("title") or response.css("title::text").get())
        if src.author_selector:
            loader.add_value("author", select_texts(response, src.author_selector))
        loader.add_value("author", auto.get("author"))
        if src.time_selector:
            loader.add_value("published_at", select_texts(response, src.time_selector))
        loader.add_value("published_at", auto.get("date"))
        for key, css in src.engagement.items():
            loader.add_value(key, select_texts(response, css))
        item = loader.load_item()
        if not item.get("text"):
            self.parse_failed(response.url, "no post text found")
            return
        yield self.emit(item)
