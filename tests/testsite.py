"""A local test site on 127.0.0.1 that looks like the places yuqing crawls.

Reusable by every package's end-to-end tests::

    with TestSite(posts=[{"title": "...", "text": "...莲花街道...", "likes": 3}]) as site:
        sources = site.write_sources(tmp_path / "sources.toml", "board")
        run_yuqing("crawl", "--sources", str(sources))

Each post is a dict with `title`, `text` and optionally `time` (an aware/naive datetime, taken
as Asia/Shanghai, or a string shown as-is such as "3小时前"), `author`, `likes`, `replies`.
Every post appears on every channel below; crawl one channel per source (or several, to test
deduplication by content).

Channels (name for `sources_toml` → path):
  board          /board/header/   GBK board, charset in the HTTP header, paginated
  board-meta     /board/meta/     same board, charset only in <meta> (gb2312)
  board-wrong    /board/wrong/    same board, header mis-declares utf-8
  board-none     /board/none/     same board, no charset anywhere
  news           /news/           UTF-8 article pages with boilerplate, no selectors (trafilatura)
  rss            /feed.rss        RSS 2.0 in GB2312, ETag + Last-Modified (answers 304)
  atom           /feed.atom       Atom, UTF-8
  jsonfeed       /feed.json       JSON Feed 1.1
  api            /api/posts?page= JSON endpoint with paging
  broken         /broken/         listing whose links are one good post, 404, 500 and garbage
  dead           (a closed port)  connection refused
  slow           /slow            answers after `slow_seconds`
  huge           /huge            announces 50 MB and streams
  loop           /loop/a          redirects /loop/a -> /loop/b -> /loop/a ...
  private        /private/        disallowed by robots.txt
The board's first page also links its newest post a second time with tracking parameters and
once under /board/<variant>/copy/<id> (the same content at another URL).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import json
import socket
import threading
import time
from collections import Counter
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
VARIANTS = ("header", "meta", "wrong", "none")
BASE_TIME = dt.datetime(2026, 11, 3, 10, 20, tzinfo=SHANGHAI)

DEFAULT_POSTS: list[dict[str, Any]] = [
    {
        "title": "莲花街道计生办窗口办理生育登记太慢",
        "text": "今天上午去福田区莲花街道办生育登记，排了两个小时队，"
        "工作人员态度冷淡，材料来回让补。"
        "希望改进办事效率。",
        "author": "深圳市民小李",
        "likes": 23,
        "replies": 5,
    },
    {
        "title": "咨询：独生子女父母奖励怎么申领",
        "text": "请问在南山区粤海街道，独生子女父母奖励需要带哪些材料？是否可以网上申请？",
        "author": "王女士",
        "likes": 2,
        "replies": 1,
    },
    {
        "title": "感谢社区组织免费孕前优生健康检查",
        "text": "上周参加了社区的免费孕前优生健康检查，流程清楚，医生很耐心，点赞！喆喆妈妈留言。",
        "author": "喆喆妈妈",
        "likes": 41,
        "replies": 0,
    },
    {
        "title": "育儿补贴什么时候发放",
        "text": "宝宝三月出生，宝安区新安街道的育儿补贴申请已经提交两个月了"
        "还没到账，打电话也没人接。",
        "author": "新手爸爸",
        "likes": 15,
        "replies": 7,
    },
    {
        "title": "托育机构收费是否有标准",
        "text": "龙华区民治街道附近托育机构收费差别很大，每月三千到六千不等，"
        "相关部门有没有指导价？",
        "author": "陈先生",
        "likes": 9,
        "replies": 2,
    },
    {
        "title": "失独家庭特别扶助金发放情况",
        "text": "罗湖区东门街道失独家庭的特别扶助金今年调整了吗？希望社区工作人员上门讲解政策。",
        "author": "老张",
        "likes": 30,
        "replies": 4,
    },
    {
        "title": "产假延长政策解读讲座通知",
        "text": "福田区华富街道将于本周六举办产假和育儿假政策解读讲座，欢迎辖区居民参加。",
        "author": "华富街道",
        "likes": 3,
        "replies": 0,
    },
]


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def generate_posts(n: int) -> list[dict[str, Any]]:
    """`n` distinct synthetic posts (for benchmarks and paging tests)."""
    places = [
        "福田区莲花街道",
        "南山区粤海街道",
        "宝安区新安街道",
        "龙华区民治街道",
        "罗湖区东门街道",
    ]
    topics = ["生育登记", "育儿补贴", "孕前优生检查", "独生子女奖励", "托育服务", "产假政策"]
    return [
        {
            "title": f"关于{topics[i % len(topics)]}的第{i}条留言",
            "text": f"{places[i % len(places)]}居民反映{topics[i % len(topics)]}问题，编号{i}。"
            + "希望有关部门尽快答复处理。" * (1 + i % 3),
            "author": f"网友{i}",
            "likes": i % 50,
            "replies": i % 7,
        }
        for i in range(n)
    ]


class TestSite:
    """The HTTP server in a thread; start/stop, or use as a context manager."""

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        posts: list[dict[str, Any]] | None = None,
        *,
        per_page: int = 3,
        slow_seconds: float = 5.0,
        duplicates: bool = True,
    ) -> None:
        self.posts: list[dict[str, Any]] = []
        self.per_page = per_page
        self.slow_seconds = slow_seconds
        self.duplicates = duplicates
        self.hits: Counter[str] = Counter()
        self.not_modified = 0
        self.user_agents: set[str] = set()
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[int, str, bytes, dict[str, str]]] = {}
        self._version = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0
        for post in posts if posts is not None else DEFAULT_POSTS:
            self.add_post(**post)

    # -- content ----------------------------------------------------------------------------
    def add_post(
        self,
        title: str,
        text: str,
        *,
        time: dt.datetime | str | None = None,
        author: str = "网友",
        likes: int = 0,
        replies: int = 0,
        **extra: Any,
    ) -> dict[str, Any]:
        """Add a post (newest first on listings); returns it with its `id`."""
        with self._lock:
            post_id = len(self.posts) + 1
            if time is None:
                time = BASE_TIME + dt.timedelta(hours=len(self.posts))
            if isinstance(time, dt.datetime) and time.tzinfo is None:
                time = time.replace(tzinfo=SHANGHAI)
            post = {
                "id": post_id,
                "title": title,
                "text": text,
                "time": time,
                "author": author,
                "likes": likes,
                "replies": replies,
                **extra,
            }
            self.posts.append(post)
            self._version += 1
            self._cache.clear()
        return post

    def post_url(self, post_id: int, channel: str = "board") -> str:
        """Where a post lives on a channel."""
        if channel.startswith("board"):
            variant = channel.partition("-")[2] or "header"
            return self.url(f"/board/{variant}/post/{post_id}")
        if channel == "news":
            return self.url(f"/news/{post_id}.html")
        return self.url(f"/p/{post_id}")

    # -- server -----------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def start(self) -> TestSite:
        """Serve on a random free port in a daemon thread."""
        site = self

        class Handler(_Handler):
            pass

        Handler.site = site
        self._server = _Server(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> TestSite:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- sources files ----------------------------------------------------------------------
    def source_entry(
        self, channel: str, *, name: str | None = None, polite: bool = False, **options: Any
    ) -> dict[str, Any]:
        """A [[source]] table (as a dict) crawling one channel of this site."""
        b = self.base_url
        board = {
            "kind": "html",
            "link_selector": "ul.list a.title",
            "next_selector": "a.next",
            "max_pages": 50,
            "title_selector": "h1.title",
            "text_selector": "div.content",
            "time_selector": "span.time",
            "author_selector": "span.author",
            "engagement": {"likes": "span.likes", "replies": "span.replies"},
        }
        table: dict[str, Any]
        if channel.startswith("board"):
            variant = channel.partition("-")[2] or "header"
            table = {**board, "start_urls": [f"{b}/board/{variant}/"]}
        elif channel == "news":
            table = {"kind": "html", "start_urls": [f"{b}/news/"], "link_selector": "ul.news a"}
        elif channel == "rss":
            table = {"kind": "feed", "url": f"{b}/feed.rss"}
        elif channel == "atom":
            table = {"kind": "feed", "url": f"{b}/feed.atom"}
        elif channel == "jsonfeed":
            table = {"kind": "feed", "url": f"{b}/feed.json"}
        elif channel == "api":
            table = {
                "kind": "json",
                "url": f"{b}/api/posts?page={{page}}&size={self.per_page}",
                "max_pages": 50,
                "items_path": "data.list",
                "id_path": "id",
                "title_path": "title",
                "text_path": "content",
                "url_path": "link",
                "time_path": "ctime",
                "author_path": "user.nick",
                "likes_path": "stat.like",
                "replies_path": "stat.reply",
            }
        elif channel == "broken":
            table = {**board, "start_urls": [f"{b}/broken/"]}
        elif channel == "dead":
            table = {"kind": "feed", "url": f"http://127.0.0.1:{free_port()}/feed.rss"}
        elif channel == "slow":
            table = {"kind": "feed", "url": f"{b}/slow", "timeout": 2}
        elif channel == "huge":
            table = {"kind": "feed", "url": f"{b}/huge"}
        elif channel == "loop":
            table = {"kind": "feed", "url": f"{b}/loop/a"}
        elif channel == "private":
            table = {**board, "start_urls": [f"{b}/private/"]}
        else:
            raise ValueError(f"unknown channel {channel!r}")
        table = {"name": name or channel, **table, "tags": {"place": "福田区"}}
        if not polite:
            table.update({"download_delay": 0, "autothrottle": False, "concurrency": 8})
        table.update(options)
        return table

    def sources_toml(self, *channels: str, polite: bool = False, **options: Any) -> str:
        """A sources file crawling the given channels (default: the GBK board)."""
        tables = [self.source_entry(c, polite=polite, **options) for c in channels or ("board",)]
        return "\n".join(_toml_table(t) for t in tables)

    def write_sources(self, path: Path, *channels: str, **options: Any) -> Path:
        """Write `sources_toml(...)` to a file and return its path."""
        path = Path(path)
        path.write_text(self.sources_toml(*channels, **options), encoding="utf-8")
        return path

    # -- rendering --------------------------------------------------------------------------
    def _shown_time(self, post: dict[str, Any]) -> str:
        t = post["time"]
        if isinstance(t, str):
            return t
        t = t.astimezone(SHANGHAI)
        return f"{t.year}年{t.month}月{t.day}日 {t:%H:%M}"

    def _newest_first(self) -> list[dict[str, Any]]:
        return list(reversed(self.posts))

    def _page(self, page: int) -> tuple[list[dict[str, Any]], bool]:
        posts = self._newest_first()
        start = (page - 1) * self.per_page
        return posts[start : start + self.per_page], start + self.per_page < len(posts)

    def render(
        self, path: str, query: dict[str, list[str]]
    ) -> tuple[int, str, bytes, dict[str, str]]:
        """(status, content type, body, extra headers) for a path."""
        parts = [p for p in path.split("/") if p]
        page = _int(query.get("page", ["1"])[0], 1)
        if path == "/robots.txt":
            return 200, "text/plain", b"User-agent: *\nDisallow: /private/\n", {}
        if len(parts) >= 2 and parts[0] == "board" and parts[1] in VARIANTS:
            variant = parts[1]
            if len(parts) == 2:
                return self._board_listing(variant, page)
            if len(parts) == 4 and parts[2] in ("post", "copy"):
                post = self._post(parts[3])
                if post:
                    return self._board_post(variant, post)
        if parts == ["news"]:
            return self._news_listing()
        if len(parts) == 2 and parts[0] == "news" and parts[1].endswith(".html"):
            post = self._post(parts[1].removesuffix(".html"))
            if post:
                return self._news_post(post)
        if len(parts) == 2 and parts[0] == "p":
            post = self._post(parts[1])
            if post:
                return self._news_post(post)
        if path == "/feed.rss":
            return self._rss()
        if path == "/feed.atom":
            return self._atom()
        if path == "/feed.json":
            return self._json_feed()
        if path == "/api/posts":
            return self._api(page, _int(query.get("size", [str(self.per_page)])[0], self.per_page))
        if parts == ["broken"]:
            links = "".join(
                f'<li><a class="title" href="{h}">{h}</a></li>'
                for h in ("/board/header/post/1", "/status/404", "/status/500", "/garbage")
            )
            body = f"<html><body><ul class='list'>{links}</ul></body></html>"
            return 200, "text/html; charset=utf-8", body.encode(), {}
        if parts == ["garbage"]:
            junk = hashlib.sha256(b"x").digest() * 64
            return 200, "text/html", b"<html><body><div" + junk + b"\x00\xff<<<", {}
        if len(parts) == 2 and parts[0] == "status":
            code = _int(parts[1], 500)
            return code, "text/html", f"<h1>error {code}</h1>".encode(), {}
        if parts and parts[0] == "private":
            return self._board_listing("header", 1)
        return 404, "text/html", b"<h1>404 not found</h1>", {}

    def _post(self, raw_id: str) -> dict[str, Any] | None:
        post_id = _int(raw_id, 0)
        return self.posts[post_id - 1] if 1 <= post_id <= len(self.posts) else None

    def _gbk_page(
        self, variant: str, title: str, body: str
    ) -> tuple[int, str, bytes, dict[str, str]]:
        meta = '<meta charset="gb2312">' if variant == "meta" else ""
        content_type = {
            "header": "text/html; charset=GBK",
            "meta": "text/html",
            "wrong": "text/html; charset=utf-8",
            "none": "text/html",
        }[variant]
        page = (
            f"<!DOCTYPE html><html><head>{meta}<title>{html.escape(title)} - 街道留言板</title>"
            f"</head><body><div class='nav'><a href='/'>首页</a> | "
            f"<a href='/board/{variant}/'>留言板</a>"
            f"</div>{body}<div class='footer'>版权所有 街道办事处 联系电话 0755-12345678</div>"
            "</body></html>"
        )
        return 200, content_type, page.encode("gb18030"), {}

    def _board_listing(self, variant: str, page: int) -> tuple[int, str, bytes, dict[str, str]]:
        posts, more = self._page(page)
        items = []
        for post in posts:
            items.append(
                f'<li><a class="title" href="/board/{variant}/post/{post["id"]}">'
                f"{html.escape(post['title'])}</a> <span>{self._shown_time(post)}</span></li>"
            )
        if page == 1 and posts and self.duplicates:
            first = posts[0]["id"]
            items.append(
                f'<li><a class="title" href="/board/{variant}/post/{first}'
                '?utm_source=wx&amp;from=timeline#reply">'
                "（置顶）同一帖子</a></li>"
            )
            items.append(
                f'<li><a class="title" href="/board/{variant}/copy/{first}">'
                "（转载）同一帖子</a></li>"
            )
        nav = f'<a class="next" href="?page={page + 1}">下一页</a>' if more else ""
        status, ctype, body, _ = self._gbk_page(
            variant, f"留言列表 第{page}页", f"<ul class='list'>{''.join(items)}</ul>{nav}"
        )
        return status, ctype, body, {"ETag": _etag(body)}

    def _board_post(
        self, variant: str, post: dict[str, Any]
    ) -> tuple[int, str, bytes, dict[str, str]]:
        paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in post["text"].split("\n"))
        body = (
            f"<h1 class='title'>{html.escape(post['title'])}</h1>"
            f"<div class='meta'><span class='author'>{html.escape(post['author'])}</span> "
            f"<span class='time'>发表于 {self._shown_time(post)}</span> "
            f"<span class='likes'>赞({post['likes']})</span> "
            f"<span class='replies'>回复 {post['replies']}</span></div>"
            f"<div class='content'>{paragraphs}</div>"
        )
        return self._gbk_page(variant, post["title"], body)

    def _news_listing(self) -> tuple[int, str, bytes, dict[str, str]]:
        links = "".join(
            f'<li><a href="/news/{p["id"]}.html">{html.escape(p["title"])}</a></li>'
            for p in self._newest_first()
        )
        body = (
            "<html><head><meta charset='utf-8'><title>新闻</title></head>"
            f"<body><ul class='news'>{links}</ul></body></html>"
        )
        return 200, "text/html; charset=utf-8", body.encode(), {}

    def _news_post(self, post: dict[str, Any]) -> tuple[int, str, bytes, dict[str, str]]:
        t = post["time"]
        date = (
            t.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if isinstance(t, dt.datetime) else t
        )
        paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in post["text"].split("\n"))
        menu = "".join(f"<li><a href='/c{i}'>栏目{i}</a></li>" for i in range(12))
        related = "".join(f"<li><a href='/r{i}'>热门推荐文章标题第{i}篇</a></li>" for i in range(8))
        page = f"""<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">
<title>{html.escape(post["title"])}_区新闻网</title>
<meta name="author" content="{html.escape(post["author"])}"></head>
<body><header><ul class="menu">{menu}</ul></header>
<main><article><h1>{html.escape(post["title"])}</h1>
<div class="info">来源：区新闻网 作者：{html.escape(post["author"])} 时间：{date}</div>
{paragraphs}</article></main>
<aside><h3>热门推荐</h3><ul>{related}</ul></aside>
<footer>关于我们 | 联系方式 | 版权所有 区新闻网 粤ICP备00000000号</footer></body></html>"""
        return 200, "text/html; charset=utf-8", page.encode(), {}

    def _feed_time(self, post: dict[str, Any]) -> dt.datetime:
        t = post["time"]
        return t if isinstance(t, dt.datetime) else BASE_TIME

    def _rss(self) -> tuple[int, str, bytes, dict[str, str]]:
        items = "".join(
            f"<item><title>{html.escape(p['title'])}</title>"
            f"<link>{self.url('/p/' + str(p['id']))}</link>"
            f"<guid>{self.url('/p/' + str(p['id']))}</guid>"
            f"<author>{html.escape(p['author'])}</author>"
            f"<pubDate>{format_datetime(self._feed_time(p))}</pubDate>"
            f"<description>{html.escape(_html_paragraphs(p['text']))}</description></item>"
            for p in self._newest_first()
        )
        body = (
            '<?xml version="1.0" encoding="gb2312"?><rss version="2.0"><channel>'
            f"<title>街道动态</title><link>{self.base_url}/</link><description>测试</description>"
            f"{items}</channel></rss>"
        ).encode("gb18030")
        last = max((self._feed_time(p) for p in self.posts), default=BASE_TIME)
        return (
            200,
            "application/rss+xml",
            body,
            {
                "ETag": _etag(body),
                "Last-Modified": format_datetime(last.astimezone(dt.UTC), usegmt=True),
            },
        )

    def _atom(self) -> tuple[int, str, bytes, dict[str, str]]:
        entries = "".join(
            f"<entry><title>{html.escape(p['title'])}</title>"
            f'<link href="{self.url("/p/" + str(p["id"]))}"/>'
            f"<id>{self.url('/p/' + str(p['id']))}</id>"
            f"<author><name>{html.escape(p['author'])}</name></author>"
            f"<updated>{self._feed_time(p).isoformat()}</updated>"
            f'<content type="html">{html.escape(_html_paragraphs(p["text"]))}</content></entry>'
            for p in self._newest_first()
        )
        body = (
            '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
            f"<title>街道动态</title><id>{self.base_url}/</id>"
            f"<updated>{BASE_TIME.isoformat()}</updated>{entries}</feed>"
        ).encode()
        return 200, "application/atom+xml; charset=utf-8", body, {"ETag": _etag(body)}

    def _json_feed(self) -> tuple[int, str, bytes, dict[str, str]]:
        feed = {
            "version": "https://jsonfeed.org/version/1.1",
            "title": "街道动态",
            "items": [
                {
                    "id": str(p["id"]),
                    "url": self.url("/p/" + str(p["id"])),
                    "title": p["title"],
                    "content_text": p["text"],
                    "date_published": self._feed_time(p).isoformat(),
                    "authors": [{"name": p["author"]}],
                }
                for p in self._newest_first()
            ],
        }
        body = json.dumps(feed, ensure_ascii=False).encode()
        return 200, "application/feed+json", body, {"ETag": _etag(body)}

    def _api(self, page: int, size: int) -> tuple[int, str, bytes, dict[str, str]]:
        posts = self._newest_first()
        chunk = posts[(page - 1) * size : page * size]
        rows = [
            {
                "id": p["id"],
                "title": p["title"],
                "content": _html_paragraphs(p["text"]),
                "link": f"/p/{p['id']}",
                "ctime": self._feed_time(p).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
                if isinstance(p["time"], dt.datetime)
                else p["time"],
                "user": {"nick": p["author"]},
                "stat": {"like": p["likes"], "reply": p["replies"]},
            }
            for p in chunk
        ]
        data = {
            "code": 0,
            "data": {"page": page, "list": rows, "has_more": page * size < len(posts)},
        }
        return (
            200,
            "application/json; charset=utf-8",
            json.dumps(data, ensure_ascii=False).encode(),
            {},
        )


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # clients hanging up on /huge and /slow is expected, not worth a traceback
        pass


class _Handler(BaseHTTPRequestHandler):
    site: TestSite
    protocol_version = "HTTP/1.1"
    # headers and body in one send, no Nagle: keep-alive clients otherwise wait ~40 ms per answer
    wbufsize = 1 << 16
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        site = self.site
        parts = urlsplit(self.path)
        with site._lock:
            site.hits[parts.path] += 1
            site.user_agents.add(self.headers.get("User-Agent", ""))
        if parts.path == "/slow":
            time.sleep(site.slow_seconds)
        if parts.path == "/huge":
            return self._huge()
        if parts.path.startswith("/loop/"):
            target = "/loop/b" if parts.path == "/loop/a" else "/loop/a"
            self.send_response(302)
            self.send_header("Location", target)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        key = self.path
        with site._lock:
            cached = site._cache.get(key)
        if cached is None:
            with site._lock:
                cached = site.render(parts.path, parse_qs(parts.query))
                site._cache[key] = cached
        status, ctype, body, headers = cached
        etag = headers.get("ETag")
        if etag and self.headers.get("If-None-Match") == etag:
            with site._lock:
                site.not_modified += 1
            self.send_response(304)
            self.send_header("ETag", etag)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)
        return None

    def _huge(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml")
        self.send_header("Content-Length", str(50 * 1024 * 1024))
        self.end_headers()
        chunk = b"<!-- padding -->" * 4096
        try:
            for _ in range(50 * 1024 * 1024 // len(chunk)):
                self.wfile.write(chunk)
        except OSError:
            pass
        self.close_connection = True


def _html_paragraphs(text: str) -> str:
    return "".join(f"<p>{html.escape(p)}</p>" for p in text.split("\n"))


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha1(body).hexdigest()[:16] + '"'


def _int(value: str, default: int) -> int:
    try:
        return int(value)
    except ValueError:
        return default


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {value!r} as TOML")


def _toml_table(table: dict[str, Any]) -> str:
    lines = ["[[source]]"] + [f"{k} = {_toml_value(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover - manual exploration
    with TestSite() as demo_site:
        print(f"serving on {demo_site.base_url}; Ctrl-C to stop")
        print(demo_site.sources_toml("board", "rss", "api"))
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            pass
