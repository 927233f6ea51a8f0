"""The demo site serves the sample posts as a GBK board, a news feed and a paged JSON board."""

from __future__ import annotations

import datetime as dt
import re

import feedparser
import httpx

from api.demo.site import SHANGHAI, DemoSite, board_date, load_posts


def test_posts_span_the_last_three_months_and_never_the_future() -> None:
    now = dt.datetime(2026, 3, 1, 9, 0, tzinfo=SHANGHAI)
    posts = load_posts(now)
    assert len(posts) == 300
    assert all(p.published <= now for p in posts)
    assert min(p.published for p in posts) >= now - dt.timedelta(days=92)
    assert sum(p.incident for p in posts) >= 20
    assert {p.channel for p in posts} == {"board", "news", "leader"}


def test_board_dates_look_like_a_local_board() -> None:
    now = dt.datetime(2026, 11, 3, 13, 20, tzinfo=SHANGHAI)
    assert board_date(now - dt.timedelta(hours=3), now) == "3小时前"
    assert board_date(now - dt.timedelta(minutes=5), now) == "5分钟前"
    earlier = dt.datetime(2026, 11, 1, 10, 20, tzinfo=SHANGHAI)
    assert board_date(earlier, now) == "2026年11月1日 10:20"


def test_channels_over_http() -> None:
    with DemoSite() as site, httpx.Client(base_url=site.url) as client:
        listing = client.get("/bbs/list?page=1")
        assert listing.headers["content-type"] == "text/html; charset=gbk"
        text = listing.content.decode("gbk")
        links = re.findall(r"href='(/bbs/thread/\d+\.html)'", text)
        assert len(links) == 20 and "下一页" in text
        last = client.get("/bbs/list?page=6").content.decode("gbk")
        assert "下一页" not in last and "上一页" in last
        thread = client.get(links[0]).content.decode("gbk")
        assert "class='thread-body'" in thread and "class='post-time'" in thread

        feed = feedparser.parse(client.get("/news/rss.xml").text)
        assert len(feed.entries) == 70 and feed.entries[0].published_parsed
        assert len(feedparser.parse(client.get("/news/atom.xml").text).entries) == 70

        page = client.get("/api/leader/list", params={"page": 6, "size": 20}).json()
        assert page["data"]["total"] == 110 and len(page["data"]["list"]) == 10
        assert client.get("/api/leader/list", params={"page": 7}).json()["data"]["list"] == []
        first = page["data"]["list"][0]
        assert client.get(f"/leader/{first['tid']}.html").status_code == 200
        assert client.get("/bbs/thread/999999.html").status_code == 404
