"""The demo site: the project's sample posts served on 127.0.0.1 the way real sources look.

Three channels, each like a kind of place yuqing crawls:
  /bbs/list?page=N          本地论坛: a GBK message board, 20 threads a page, detail pages under
                             /bbs/thread/<id>.html, dates as "2026年11月3日 10:20" or "3小时前"
  /news/rss.xml, atom.xml   a news feed (RSS 2.0 and Atom) carrying the full text
  /api/leader/list?page=N   a 领导留言板-like JSON endpoint with paging; each message also has a
                             page at /leader/<id>.html
Dates come from each post's `days_ago` and `time` relative to now, so the content is always the
last three months.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import threading
from dataclasses import dataclass
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
PAGE_SIZE = 20
CHANNELS = ("board", "news", "leader")


@dataclass
class DemoPost:
    """One sample post with its publication time resolved against now."""

    id: int
    channel: str
    title: str
    text: str
    author: str
    published: dt.datetime
    likes: int
    replies: int
    incident: bool


def load_posts(now: dt.datetime | None = None) -> list[DemoPost]:
    """The sample posts, newest first, dated relative to `now` (never in the future)."""
    now = (now or dt.datetime.now(SHANGHAI)).astimezone(SHANGHAI)
    text = resources.files("api.demo").joinpath("data/posts.jsonl").read_text(encoding="utf-8")
    posts = []
    for index, line in enumerate(text.splitlines()):
        if not line.strip():
            continue
        raw = json.loads(line)
        hour, minute = (int(part) for part in raw["time"].split(":"))
        day = now.date() - dt.timedelta(days=int(raw["days_ago"]))
        published = dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)
        if published > now:
            # today's posts written for the evening: move them into the last few hours
            published = now - dt.timedelta(minutes=7 + (index * 37) % 300)
        posts.append(
            DemoPost(
                id=1001 + index,
                channel=raw["channel"],
                title=raw["title"],
                text=raw["text"],
                author=raw["author"],
                published=published,
                likes=int(raw.get("likes", 0)),
                replies=int(raw.get("replies", 0)),
                incident=bool(raw.get("incident")),
            )
        )
    posts.sort(key=lambda p: (p.published, p.id), reverse=True)
    return posts


def board_date(published: dt.datetime, now: dt.datetime) -> str:
    """How a local board shows a date: relative within a day, else 年月日 时:分."""
    age = now - published
    if age < dt.timedelta(hours=1):
        return f"{max(1, int(age.total_seconds() // 60))}分钟前"
    if age < dt.timedelta(hours=24):
        return f"{int(age.total_seconds() // 3600)}小时前"
    local = published.astimezone(SHANGHAI)
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


class DemoSite:
    """The demo site in a background thread; use as a context manager or start()/stop()."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The site's base address, without a trailing slash."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> DemoSite:
        """Bind the port and serve in a daemon thread."""
        self._server = ThreadingHTTPServer((self.host, self.port), _Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="demo-site", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> DemoSite:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def sources_toml(self) -> str:
        """A sources file for the three channels of this site."""
        base = self.url
        polite = "download_delay = 0\nautothrottle = false\nconcurrency = 8\nhttp_cache = false\n"
        return f"""# Written by `yuqing demo`: the three channels of the local demo site at {base}.
# A real sources file lists the office's boards, news sites and feeds the same way.

[[source]]
name = "本地论坛"
kind = "html"
interval = 30
encoding = "gbk"
start_urls = ["{base}/bbs/list?page=1"]
link_selector = "ul.threads a.thread-link"
next_selector = "a.next-page"
max_pages = 20
title_selector = "h1.thread-title"
text_selector = "div.thread-body"
time_selector = "span.post-time"
author_selector = "span.post-author"
engagement = {{ likes = "span.likes", replies = "span.replies" }}
tags = {{ type = "board" }}
{polite}
[[source]]
name = "本地新闻"
kind = "feed"
interval = 60
url = "{base}/news/rss.xml"
tags = {{ type = "news" }}
{polite}
[[source]]
name = "领导留言板"
kind = "json"
interval = 60
weight = 2.0
url = "{base}/api/leader/list?page={{page}}&size=20"
max_pages = 20
items_path = "data.list"
id_path = "tid"
title_path = "title"
text_path = "content"
time_path = "createTime"
author_path = "userName"
replies_path = "replyNum"
likes_path = "supportNum"
url_template = "{base}/leader/{{id}}.html"
tags = {{ type = "government" }}
{polite}"""


class _Handler(BaseHTTPRequestHandler):
    server_version = "DemoSite/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the demo prints its own progress."""

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        path = parts.path
        now = dt.datetime.now(SHANGHAI)
        posts = load_posts(now)
        try:
            if path in ("/", "/index.html"):
                self._send(_index_page(), "text/html; charset=utf-8")
            elif path == "/robots.txt":
                self._send("User-agent: *\nAllow: /\n", "text/plain; charset=utf-8")
            elif path == "/bbs/list":
                page = _int(query.get("page"), 1)
                board = [p for p in posts if p.channel == "board"]
                body = _board_listing(board, page, now)
                self._send(body, "text/html; charset=gbk", encoding="gbk")
            elif path.startswith("/bbs/thread/") and path.endswith(".html"):
                post = _find(posts, path.removeprefix("/bbs/thread/").removesuffix(".html"))
                if post is None or post.channel != "board":
                    self._not_found()
                    return
                body = _board_thread(post, now)
                self._send(body, "text/html; charset=gbk", encoding="gbk")
            elif path == "/news/rss.xml":
                news = [p for p in posts if p.channel == "news"]
                self._send(_rss(news, self._base()), "application/rss+xml; charset=utf-8")
            elif path == "/news/atom.xml":
                news = [p for p in posts if p.channel == "news"]
                self._send(_atom(news, self._base(), now), "application/atom+xml; charset=utf-8")
            elif path.startswith("/news/") and path.endswith(".html"):
                post = _find(posts, path.removeprefix("/news/").removesuffix(".html"))
                if post is None or post.channel != "news":
                    self._not_found()
                    return
                self._send(_article(post, "本地新闻"), "text/html; charset=utf-8")
            elif path == "/api/leader/list":
                page = _int(query.get("page"), 1)
                size = min(max(_int(query.get("size"), PAGE_SIZE), 1), 100)
                leader = [p for p in posts if p.channel == "leader"]
                self._send(_leader_json(leader, page, size), "application/json; charset=utf-8")
            elif path.startswith("/leader/") and path.endswith(".html"):
                post = _find(posts, path.removeprefix("/leader/").removesuffix(".html"))
                if post is None or post.channel != "leader":
                    self._not_found()
                    return
                self._send(_article(post, "领导留言板"), "text/html; charset=utf-8")
            else:
                self._not_found()
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _base(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def _send(
        self, body: str, content_type: str, *, encoding: str = "utf-8", status: int = 200
    ) -> None:
        data = body.encode(encoding, errors="xmlcharrefreplace")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _not_found(self) -> None:
        self._send("<h1>404 页面不存在</h1>", "text/html; charset=utf-8", status=404)


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def _find(posts: list[DemoPost], ident: str) -> DemoPost | None:
    if not ident.isdigit():
        return None
    wanted = int(ident)
    return next((p for p in posts if p.id == wanted), None)


def _e(value: object) -> str:
    return html.escape(str(value))


def _index_page() -> str:
    return (
        "<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'><title>演示站点</title>"
        "</head><body><h1>舆情哨兵演示站点</h1><ul>"
        "<li><a href='/bbs/list?page=1'>本地论坛</a></li>"
        "<li><a href='/news/rss.xml'>本地新闻 RSS</a> · <a href='/news/atom.xml'>Atom</a></li>"
        "<li><a href='/api/leader/list?page=1'>领导留言板 JSON</a></li>"
        "</ul><p>内容为项目编写的示例帖子，仅供演示。</p></body></html>"
    )


def _board_listing(board: list[DemoPost], page: int, now: dt.datetime) -> str:
    pages = max(1, -(-len(board) // PAGE_SIZE))
    rows = board[(page - 1) * PAGE_SIZE : page * PAGE_SIZE] if page >= 1 else []
    items = "\n".join(
        f"<li><a class='thread-link' href='/bbs/thread/{p.id}.html'>{_e(p.title)}</a>"
        f" <span class='meta'>{_e(p.author)} · {_e(board_date(p.published, now))}"
        f" · 回复 {p.replies}</span></li>"
        for p in rows
    )
    nav = []
    if page > 1:
        nav.append(f"<a class='prev-page' href='/bbs/list?page={page - 1}'>上一页</a>")
    nav.append(f"<span>第 {page} / {pages} 页</span>")
    if page < pages:
        nav.append(f"<a class='next-page' href='/bbs/list?page={page + 1}'>下一页</a>")
    return (
        "<!doctype html><html lang='zh-CN'><head>"
        "<meta http-equiv='Content-Type' content='text/html; charset=gbk'>"
        "<title>本地论坛 - 民生杂谈</title></head><body>"
        "<div class='header'><a href='/'>首页</a> &gt; 民生杂谈</div>"
        f"<ul class='threads'>\n{items}\n</ul>"
        f"<div class='pager'>{' '.join(nav)}</div>"
        "<div class='footer'>本地论坛 版权所有</div></body></html>"
    )


def _board_thread(post: DemoPost, now: dt.datetime) -> str:
    return (
        "<!doctype html><html lang='zh-CN'><head>"
        "<meta http-equiv='Content-Type' content='text/html; charset=gbk'>"
        f"<title>{_e(post.title)} - 本地论坛</title></head><body>"
        "<div class='header'><a href='/'>首页</a> &gt; "
        "<a href='/bbs/list?page=1'>民生杂谈</a></div>"
        f"<h1 class='thread-title'>{_e(post.title)}</h1>"
        f"<div class='thread-meta'>楼主：<span class='post-author'>{_e(post.author)}</span>"
        f" 发表于 <span class='post-time'>{_e(board_date(post.published, now))}</span>"
        f" 赞 <span class='likes'>{post.likes}</span>"
        f" 回复 <span class='replies'>{post.replies}</span></div>"
        f"<div class='thread-body'>{_e(post.text)}</div>"
        "<div class='ad'>【广告】本地装修找我们，电话咨询</div>"
        "<div class='footer'>本地论坛 版权所有</div></body></html>"
    )


def _article(post: DemoPost, site: str) -> str:
    local = post.published.astimezone(SHANGHAI)
    return (
        "<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'>"
        f"<title>{_e(post.title)} - {site}</title></head><body><article>"
        f"<h1>{_e(post.title)}</h1><p class='meta'>{_e(post.author)} · "
        f"{local:%Y-%m-%d %H:%M}</p><div class='content'><p>{_e(post.text)}</p></div>"
        "</article></body></html>"
    )


def _rss(news: list[DemoPost], base: str) -> str:
    items = "\n".join(
        "<item>"
        f"<title>{_e(p.title)}</title><link>{base}/news/{p.id}.html</link>"
        f"<guid isPermaLink='true'>{base}/news/{p.id}.html</guid>"
        f"<author>{_e(p.author)}</author>"
        f"<pubDate>{format_datetime(p.published)}</pubDate>"
        f"<description>{_e(p.text)}</description>"
        "</item>"
        for p in news
    )
    return (
        "<?xml version='1.0' encoding='utf-8'?>\n<rss version='2.0'><channel>"
        f"<title>本地新闻</title><link>{base}/</link><description>本地民生新闻</description>"
        f"<language>zh-cn</language>\n{items}\n</channel></rss>"
    )


def _atom(news: list[DemoPost], base: str, now: dt.datetime) -> str:
    entries = "\n".join(
        "<entry>"
        f"<title>{_e(p.title)}</title><link href='{base}/news/{p.id}.html'/>"
        f"<id>{base}/news/{p.id}.html</id><author><name>{_e(p.author)}</name></author>"
        f"<updated>{p.published.isoformat()}</updated>"
        f"<content type='text'>{_e(p.text)}</content>"
        "</entry>"
        for p in news
    )
    return (
        "<?xml version='1.0' encoding='utf-8'?>\n<feed xmlns='http://www.w3.org/2005/Atom'>"
        f"<title>本地新闻</title><id>{base}/news/</id><updated>{now.isoformat()}</updated>"
        f"<link href='{base}/'/>\n{entries}\n</feed>"
    )


def _leader_json(leader: list[DemoPost], page: int, size: int) -> str:
    rows = leader[(page - 1) * size : page * size] if page >= 1 else []
    data = {
        "code": 0,
        "msg": "success",
        "data": {
            "total": len(leader),
            "page": page,
            "size": size,
            "list": [
                {
                    "tid": p.id,
                    "title": p.title,
                    "content": p.text,
                    "createTime": p.published.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S"),
                    "userName": p.author,
                    "replyNum": p.replies,
                    "supportNum": p.likes,
                    "forumName": "深圳市龙华区",
                }
                for p in rows
            ],
        },
    }
    return json.dumps(data, ensure_ascii=False)
