"""The post item and its loader: spiders put raw values in, the loader cleans them."""

from __future__ import annotations

import re
from typing import Any

import scrapy
from itemloaders.processors import Identity, MapCompose, TakeFirst
from scrapy.loader import ItemLoader

from crawlers.dates import parse_date
from crawlers.extract import clean_text

_NUMBER = re.compile(r"(\d+(?:\.\d+)?)\s*([万wW千kK亿]?)")
_MULTIPLIERS = {
    "万": 10_000,
    "w": 10_000,
    "W": 10_000,
    "千": 1_000,
    "k": 1_000,
    "K": 1_000,
    "亿": 100_000_000,
    "": 1,
}


class PostItem(scrapy.Item):
    """A post as crawled, before it is stored."""

    url = scrapy.Field()
    external_id = scrapy.Field()
    title = scrapy.Field()
    text = scrapy.Field()
    author = scrapy.Field()
    published_at = scrapy.Field()
    likes = scrapy.Field()
    replies = scrapy.Field()
    reposts = scrapy.Field()
    views = scrapy.Field()
    extra = scrapy.Field()


def to_count(value: Any) -> int | None:
    """An engagement count from '赞(12)', '1.2万', 34 or '3 条评论'; None if there is no number."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(value)
    m = _NUMBER.search(str(value).replace(",", ""))
    if not m:
        return None
    return int(float(m.group(1)) * _MULTIPLIERS[m.group(2)])


def _strip(value: Any) -> Any:
    if isinstance(value, str):
        value = " ".join(value.split())
        return value or None
    return value


def _text(value: Any) -> Any:
    if isinstance(value, str):
        return clean_text(value) or None
    return value


def _join_text(values: list[str]) -> str:
    return clean_text("\n".join(v for v in values if v))


class PostLoader(ItemLoader):
    """Cleans whitespace, makes URLs absolute, parses Chinese dates and engagement counts.

    Loader context: `response` (for absolute URLs), `now` and `tz` (for relative dates).
    """

    default_item_class = PostItem
    default_output_processor = TakeFirst()

    url_in = MapCompose(_strip, lambda v, loader_context: _absolute(v, loader_context))
    external_id_in = MapCompose(lambda v: str(v).strip() or None)
    title_in = MapCompose(_strip)
    author_in = MapCompose(_strip)
    text_in = MapCompose(_text)
    text_out = _join_text
    published_at_in = MapCompose(
        _strip,
        lambda v, loader_context: parse_date(
            v, now=loader_context.get("now"), tz=loader_context.get("tz", "Asia/Shanghai")
        ),
    )
    likes_in = replies_in = reposts_in = views_in = MapCompose(to_count)
    extra_in = Identity()


def _absolute(value: Any, context: dict[str, Any]) -> Any:
    response = context.get("response")
    if isinstance(value, str) and response is not None:
        return response.urljoin(value)
    return value
