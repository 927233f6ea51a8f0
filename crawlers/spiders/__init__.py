"""Three generic spiders, one per source kind; each is configured by a SourceConfig."""

from __future__ import annotations

from crawlers.spiders.base import SourceSpider
from crawlers.spiders.feed import FeedSpider
from crawlers.spiders.html import HtmlSpider
from crawlers.spiders.json import JsonSpider

SPIDERS: dict[str, type[SourceSpider]] = {
    "feed": FeedSpider,
    "html": HtmlSpider,
    "json": JsonSpider,
}

__all__ = ["SPIDERS", "FeedSpider", "HtmlSpider", "JsonSpider", "SourceSpider"]
