"""GBK/GB2312/GB18030 pages decode right however (or whether) they declare their charset.

Runs the real downloader middleware on saved real pages from ../shared/data/html.
"""

import json
import re

import pytest
from scrapy.http import HtmlResponse, Request, XmlResponse

from crawlers.extract import html_to_text, main_text
from crawlers.middlewares import EncodingMiddleware
from tests.conftest import shared_data

META_CHARSET = re.compile(rb"""charset\s*=\s*["']?[\w-]+["']?""", re.I)


def decoded(body, content_type=None, cls=HtmlResponse, override=""):
    headers = {"Content-Type": content_type} if content_type else {}
    url = "http://127.0.0.1/page"
    response = cls(url, body=body, headers=headers)

    class Spider:
        class source:
            encoding = override

    fixed = EncodingMiddleware().process_response(Request(url), response, Spider())
    return fixed.text


def reference_lines(path):
    text = path.read_bytes().decode("gb18030")
    return [line.strip() for line in text.splitlines() if len(line.strip()) >= 12][:3]


def news163_pages():
    raw = shared_data("html", "news163_gb2312", "raw")
    return sorted(raw.glob("*.html"), key=lambda p: int(p.stem))


VARIANTS = {
    "meta only": (None, False),
    "header only": ("text/html; charset=gb2312", True),
    "mis-declared utf-8 header": ("text/html; charset=utf-8", True),
    "mis-declared latin-1 header": ("text/html; charset=iso-8859-1", True),
    "absent": ("text/html", True),
}


@pytest.mark.parametrize("variant", VARIANTS)
def test_news163_pages_decode_to_the_reference_text(variant):
    content_type, strip_meta = VARIANTS[variant]
    text_dir = shared_data("html", "news163_gb2312", "text")
    pages = news163_pages()
    assert len(pages) == 54
    failures = []
    for page in pages:
        body = page.read_bytes()
        if strip_meta:
            body = META_CHARSET.sub(b"", body)
        text = html_to_text(decoded(body, content_type))
        squashed = "".join(text.split())
        for line in reference_lines(text_dir / f"{page.stem}.txt"):
            if "".join(line.split())[:20] not in squashed:
                failures.append((page.name, line[:20]))
        assert "\ufffd" not in text[:5000], page.name
    assert not failures, failures[:5]


# trafilatura leaves out baike's infobox table, where this birth date lives
KNOWN_MISSES = {("baike.baidu.com.tanya.html", "missing", "1975年1月28日出生")}


def test_trafilatura_pages_main_text_has_and_lacks_the_snippets():
    folder = shared_data("html", "trafilatura")
    cases = json.loads((folder / "evaldata_chinese_subset.json").read_text(encoding="utf-8"))
    misses = []
    for url, case in cases.items():
        html = decoded((folder / case["file"]).read_bytes(), "text/html")
        text = main_text(html, url)["text"]
        for snippet in case.get("with", []):
            if snippet not in text:
                misses.append((case["file"], "missing", snippet))
        for snippet in case.get("without", []):
            if snippet in text:
                misses.append((case["file"], "unwanted", snippet))
    assert set(misses) <= KNOWN_MISSES, misses


def test_archive_page_that_mixes_declarations_decodes():
    folder = shared_data("html", "trafilatura")
    body = (folder / "archive.org.he.xinhuanet.com.25340717.html").read_bytes()
    text = decoded(body, "text/html; charset=utf-8")
    assert "\ufffd" not in text
    assert re.search(r"[\u4e00-\u9fff]{20}", text)


def test_chardet_gb2312_feeds_decode_and_parse():
    import feedparser

    folder = shared_data("html", "chardet_gb2312")
    files = [p for p in folder.iterdir() if p.name != "LICENSE"]
    assert len(files) >= 20
    for path in files:
        body = path.read_bytes()
        text = decoded(body, None, cls=XmlResponse)
        assert "\ufffd" not in text, path.name
        assert re.search(r"[\u4e00-\u9fff]{4}", text), path.name
        if (path.suffix == ".xml" and b"<rss" in body[:2000]) or b"<feed" in body[:2000]:
            assert feedparser.parse(text).entries, path.name


def test_source_encoding_override_wins():
    body = "街道留言板".encode("big5")
    assert decoded(body, "text/html; charset=gbk", override="big5") == "街道留言板"
