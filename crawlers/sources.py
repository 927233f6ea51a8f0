"""The sources file: what to crawl, as data. Loading validates every field before anything runs."""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from core.errors import UserError
from crawlers.models import SOURCE_KINDS

COMMON_FIELDS = {
    "name",
    "kind",
    "enabled",
    "interval",
    "weight",
    "encoding",
    "headers",
    "download_delay",
    "concurrency",
    "timeout",
    "robots",
    "autothrottle",
    "http_cache",
    "tags",
    "max_items",
}
KIND_FIELDS: dict[str, set[str]] = {
    "feed": {"url"},
    "html": {
        "start_urls",
        "link_selector",
        "next_selector",
        "max_pages",
        "title_selector",
        "text_selector",
        "time_selector",
        "author_selector",
        "engagement",
    },
    "json": {
        "url",
        "start_page",
        "max_pages",
        "items_path",
        "id_path",
        "title_path",
        "text_path",
        "url_path",
        "time_path",
        "author_path",
        "likes_path",
        "replies_path",
        "reposts_path",
        "views_path",
        "url_template",
    },
}
ENGAGEMENT_KEYS = ("likes", "replies", "reposts", "views")


@dataclass
class SourceConfig:
    """One source from the sources file, validated."""

    name: str
    kind: str
    enabled: bool = True
    interval: int = 60
    weight: float = 1.0
    tags: dict[str, Any] = field(default_factory=dict)
    encoding: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    download_delay: float | None = None
    concurrency: int | None = None
    timeout: float | None = None
    robots: bool = True
    autothrottle: bool = True
    http_cache: bool = True
    max_items: int = 0
    # feed / json
    url: str = ""
    # html
    start_urls: list[str] = field(default_factory=list)
    link_selector: str = ""
    next_selector: str = ""
    max_pages: int = 5
    title_selector: str = ""
    text_selector: str = ""
    time_selector: str = ""
    author_selector: str = ""
    engagement: dict[str, str] = field(default_factory=dict)
    # json
    start_page: int = 1
    items_path: str = ""
    id_path: str = ""
    title_path: str = ""
    text_path: str = ""
    url_path: str = ""
    url_template: str = ""
    time_path: str = ""
    author_path: str = ""
    likes_path: str = ""
    replies_path: str = ""
    reposts_path: str = ""
    views_path: str = ""

    @property
    def main_url(self) -> str:
        """The address shown for the source."""
        return self.url or (self.start_urls[0] if self.start_urls else "")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able copy (passed to the crawl subprocess and stored on the source row)."""
        return asdict(self)


class _Checker:
    def __init__(self, path: Path, name: str, raw: dict[str, Any]) -> None:
        self.path, self.name, self.raw = path, name, raw

    def fail(self, fieldname: str, message: str) -> UserError:
        return UserError(f"{self.path}: source {self.name!r}: field {fieldname!r}: {message}")

    def get(self, key: str, types: type | tuple[type, ...], default: Any = None) -> Any:
        value = self.raw.get(key, default)
        if value is default:
            return value
        if isinstance(value, bool) and bool not in (
            types if isinstance(types, tuple) else (types,)
        ):
            raise self.fail(key, f"expected {_type_name(types)}, got {value!r}")
        if not isinstance(value, types):
            raise self.fail(key, f"expected {_type_name(types)}, got {value!r}")
        return value

    def url(self, key: str, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise self.fail(key, f"not an http(s) URL: {value!r}")
        return value

    def css(self, key: str, value: str) -> str:
        from cssselect import GenericTranslator, SelectorError
        from parsel.csstranslator import GenericTranslator as ParselTranslator

        if not value.strip():
            raise self.fail(key, "empty selector")
        try:
            # parsel adds ::text and ::attr(); fall back to plain cssselect for its message
            ParselTranslator().css_to_xpath(value)
        except SelectorError:
            try:
                GenericTranslator().css_to_xpath(value)
            except SelectorError as exc2:
                exc = exc2
            raise self.fail(key, f"bad CSS selector {value!r}: {exc}") from exc
        return value

    def jmes(self, key: str, value: str) -> str:
        import jmespath
        from jmespath.exceptions import JMESPathError

        try:
            jmespath.compile(value)
        except JMESPathError as exc:
            reason = str(exc).splitlines()[0]
            raise self.fail(key, f"bad JMESPath {value!r}: {reason}") from exc
        return value


def _type_name(types: type | tuple[type, ...]) -> str:
    names = {
        str: "a string",
        int: "an integer",
        float: "a number",
        bool: "true or false",
        list: "a list",
        dict: "a table",
    }
    if isinstance(types, tuple):
        return " or ".join(names.get(t, t.__name__) for t in types)
    return names.get(types, types.__name__)


def _parse_one(path: Path, index: int, raw: Any) -> SourceConfig:
    if not isinstance(raw, dict):
        raise UserError(f"{path}: [[source]] #{index}: expected a table")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise UserError(f"{path}: [[source]] #{index}: field 'name': missing or empty")
    c = _Checker(path, name, raw)
    kind = raw.get("kind")
    if kind not in SOURCE_KINDS:
        raise c.fail("kind", f"must be one of {', '.join(SOURCE_KINDS)}, got {kind!r}")
    allowed = COMMON_FIELDS | KIND_FIELDS[kind]
    for key in raw:
        if key not in allowed:
            raise c.fail(key, f"unknown field for kind {kind!r}")
    cfg = SourceConfig(name=name.strip(), kind=kind)
    cfg.enabled = c.get("enabled", bool, True)
    cfg.interval = c.get("interval", int, 60)
    if cfg.interval < 1:
        raise c.fail("interval", "must be at least 1 (minutes)")
    cfg.weight = float(c.get("weight", (int, float), 1.0))
    if cfg.weight <= 0:
        raise c.fail("weight", "must be positive")
    cfg.tags = c.get("tags", dict, {})
    cfg.encoding = c.get("encoding", str, "")
    if cfg.encoding:
        import codecs

        try:
            codecs.lookup(cfg.encoding)
        except LookupError as exc:
            raise c.fail("encoding", f"unknown encoding {cfg.encoding!r}") from exc
    headers = c.get("headers", dict, {})
    for key, value in headers.items():
        if not isinstance(value, str):
            raise c.fail("headers", f"header {key!r} must be a string")
    cfg.headers = headers
    delay = c.get("download_delay", (int, float), None)
    if delay is not None and delay < 0:
        raise c.fail("download_delay", "must not be negative")
    cfg.download_delay = None if delay is None else float(delay)
    cfg.concurrency = c.get("concurrency", int, None)
    if cfg.concurrency is not None and not 1 <= cfg.concurrency <= 64:
        raise c.fail("concurrency", "must be between 1 and 64")
    timeout = c.get("timeout", (int, float), None)
    if timeout is not None and timeout <= 0:
        raise c.fail("timeout", "must be positive (seconds)")
    cfg.timeout = None if timeout is None else float(timeout)
    cfg.robots = c.get("robots", bool, True)
    cfg.autothrottle = c.get("autothrottle", bool, True)
    cfg.http_cache = c.get("http_cache", bool, True)
    cfg.max_items = c.get("max_items", int, 0)
    if cfg.max_items < 0:
        raise c.fail("max_items", "must not be negative (0 means no limit)")

    if kind in ("feed", "json"):
        url = c.get("url", str, None)
        if url is None:
            raise c.fail("url", "missing")
        cfg.url = c.url("url", url)
    if kind == "html":
        start_urls = c.get("start_urls", (list, str), None)
        if start_urls is None:
            raise c.fail("start_urls", "missing")
        if isinstance(start_urls, str):
            start_urls = [start_urls]
        if not start_urls:
            raise c.fail("start_urls", "empty list")
        for u in start_urls:
            if not isinstance(u, str):
                raise c.fail("start_urls", f"not a string: {u!r}")
            c.url("start_urls", u)
        cfg.start_urls = start_urls
        link = c.get("link_selector", str, None)
        if link is None:
            raise c.fail("link_selector", "missing (CSS selector of detail links on the listing)")
        cfg.link_selector = c.css("link_selector", link)
        for key in (
            "next_selector",
            "title_selector",
            "text_selector",
            "time_selector",
            "author_selector",
        ):
            value = c.get(key, str, "")
            if value:
                setattr(cfg, key, c.css(key, value))
        engagement = c.get("engagement", dict, {})
        for key, value in engagement.items():
            if key not in ENGAGEMENT_KEYS:
                raise c.fail(f"engagement.{key}", f"must be one of {', '.join(ENGAGEMENT_KEYS)}")
            if not isinstance(value, str):
                raise c.fail(f"engagement.{key}", "expected a CSS selector string")
            c.css(f"engagement.{key}", value)
        cfg.engagement = engagement
    if kind in ("html", "json"):
        cfg.max_pages = c.get("max_pages", int, 5)
        if cfg.max_pages < 1:
            raise c.fail("max_pages", "must be at least 1")
    if kind == "json":
        cfg.start_page = c.get("start_page", int, 1)
        items_path = c.get("items_path", str, None)
        if items_path is None:
            raise c.fail("items_path", "missing (JMESPath of the list of items)")
        cfg.items_path = c.jmes("items_path", items_path)
        for key in (
            "id_path",
            "title_path",
            "text_path",
            "url_path",
            "time_path",
            "author_path",
            "likes_path",
            "replies_path",
            "reposts_path",
            "views_path",
        ):
            value = c.get(key, str, "")
            if value:
                setattr(cfg, key, c.jmes(key, value))
        if not cfg.text_path and not cfg.title_path:
            raise c.fail("text_path", "missing (give text_path and/or title_path)")
        cfg.url_template = c.get("url_template", str, "")
        if not cfg.url_path and not cfg.url_template:
            raise c.fail("url_path", "missing (give url_path, or url_template with {id})")
        if cfg.url_template and "{id}" not in cfg.url_template:
            raise c.fail("url_template", "must contain {id}")
    return cfg


def parse_sources(text: str, path: Path) -> list[SourceConfig]:
    """Parse and validate the text of a sources file."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{path}: not valid TOML: {exc}") from exc
    unknown = set(data) - {"source"}
    if unknown:
        raise UserError(
            f"{path}: unknown top-level key(s) {sorted(unknown)}; use [[source]] tables"
        )
    raw_sources = data.get("source", [])
    if not isinstance(raw_sources, list):
        raise UserError(f"{path}: 'source' must be an array of tables ([[source]])")
    configs: list[SourceConfig] = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_sources, start=1):
        cfg = _parse_one(path, index, raw)
        if cfg.name in seen:
            raise UserError(f"{path}: source {cfg.name!r}: field 'name': duplicate name")
        seen.add(cfg.name)
        configs.append(cfg)
    return configs


def load_sources(path: Path) -> list[SourceConfig]:
    """Load and validate a sources file; raises UserError naming file, source and field."""
    path = Path(path)
    if not path.is_file():
        raise UserError(
            f"{path}: sources file not found "
            "(copy sources.example.toml, or set YUQING_SOURCES_FILE)"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not UTF-8 text: {exc}") from exc
    return parse_sources(text, path)
