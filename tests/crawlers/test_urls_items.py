from scrapy.http import HtmlResponse

from crawlers.items import PostLoader, to_count
from crawlers.pipelines import CleanPipeline
from crawlers.urls import canonical_url


def test_canonical_url_drops_tracking_and_fragment():
    a = canonical_url("HTTP://Example.COM/post/7?utm_source=wx&from=timeline&id=3#reply")
    b = canonical_url("http://example.com/post/7?id=3")
    assert a == b == "http://example.com/post/7?id=3"


def test_canonical_url_keeps_meaningful_parameters_sorted():
    assert canonical_url("http://x.cn/t?b=2&a=1") == "http://x.cn/t?a=1&b=2"


def test_counts():
    assert to_count("赞(12)") == 12
    assert to_count("1.2万") == 12000
    assert to_count("回复 3") == 3
    assert to_count(7) == 7
    assert to_count("暂无") is None


def test_loader_cleans_and_resolves():
    response = HtmlResponse("http://127.0.0.1/board/", body=b"<html></html>", encoding="utf-8")
    loader = PostLoader(response=response, tz="Asia/Shanghai")
    loader.add_value("url", " /board/post/1 ")
    loader.add_value("title", "  标题\n  第一行 ")
    loader.add_value("text", "第一段  \n\n\n  第二段\u3000")
    loader.add_value("published_at", "发表于 2026年11月3日 10:20")
    loader.add_value("likes", "赞(12)")
    item = loader.load_item()
    assert item["url"] == "http://127.0.0.1/board/post/1"
    assert item["title"] == "标题 第一行"
    assert item["text"] == "第一段\n第二段"
    assert item["published_at"].isoformat() == "2026-11-03T02:20:00+00:00"
    assert item["likes"] == 12


def test_clean_pipeline_keys_the_same_text_at_two_urls_alike():
    clean = CleanPipeline()
    a = clean.process_item({"url": "http://x.cn/a?spm=1", "title": "t", "text": "同一 内容"})
    b = clean.process_item({"url": "http://x.cn/b", "title": "t", "text": "同一内容"})
    assert a["canonical_url"] == "http://x.cn/a"
    assert a["content_hash"] == b["content_hash"]
