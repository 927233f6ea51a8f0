"""Item pipelines: check and key each post, then store them in batches through the core session."""

from __future__ import annotations

from typing import Any

from scrapy import Spider
from scrapy.exceptions import DropItem

from crawlers.store import content_hash
from crawlers.urls import canonical_url


class CleanPipeline:
    """Drop posts without URL or text; add the canonical URL and the content hash."""

    def process_item(self, item: Any, spider: Spider | None = None) -> dict[str, Any]:
        data = dict(item)
        url = data.get("url")
        if not url or not url.startswith(("http://", "https://")):
            raise DropItem(f"post without a usable URL: {url!r}")
        title = data.get("title") or ""
        text = data.get("text") or ""
        if not text.strip() and not title.strip():
            raise DropItem(f"post without title or text at {url}")
        data["title"] = title[:2000]
        data["text"] = text or title
        data["canonical_url"] = canonical_url(url)
        data["content_hash"] = content_hash(title, data["text"])
        return data


class StorePipeline:
    """Buffer posts and store a batch at a time; counts new and duplicate posts in the stats."""

    def __init__(self, batch_size: int = 100) -> None:
        self.batch_size = batch_size
        self.buffer: list[dict[str, Any]] = []
        self.crawler: Any = None

    @classmethod
    def from_crawler(cls, crawler: Any) -> StorePipeline:
        pipeline = cls(crawler.settings.getint("YUQING_BATCH_SIZE", 100))
        pipeline.crawler = crawler
        return pipeline

    def process_item(self, item: dict[str, Any], spider: Spider | None = None) -> dict[str, Any]:
        self.buffer.append(item)
        if len(self.buffer) >= self.batch_size:
            self.flush()
        return item

    def close_spider(self, spider: Spider | None = None) -> None:
        self.flush()

    def flush(self) -> None:
        """Store the buffered posts in one transaction."""
        from core.db import session_factory
        from crawlers.store import save_batch_safely

        if not self.buffer:
            return
        items, self.buffer = self.buffer, []
        spider = self.crawler.spider if self.crawler else None
        with session_factory()() as session:
            result = save_batch_safely(
                session=session,
                source_id=getattr(spider, "source_id", 0),
                run_id=getattr(spider, "run_id", None) or None,
                items=items,
            )
        if self.crawler is not None:
            self.crawler.stats.inc_value("yuqing/items_new", result.new)
            self.crawler.stats.inc_value("yuqing/items_duplicate", result.duplicate)
