"""End to end: the real `yuqing crawl` subprocess against the local test site over HTTP."""

import csv
import io
import json

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from crawlers.models import CrawlRun, Post, PostDuplicate
from tests.testsite import DEFAULT_POSTS, TestSite

pytestmark = pytest.mark.slow


@pytest.fixture
def site():
    with TestSite() as s:
        yield s


def exported(yuqing, *args):
    result = yuqing("export", "posts", *args)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_feed_board_and_api_land_decoded_and_a_second_run_adds_nothing(
    site, yuqing, session, tmp_path
):
    sources = site.write_sources(
        tmp_path / "sources.toml", "board", "rss", "api", "atom", "jsonfeed"
    )
    first = yuqing("crawl", "--sources", str(sources))
    assert first.returncode == 0, first.stdout + first.stderr
    assert "[board] started" in first.stdout
    assert "new post(s)" in first.stdout

    posts = exported(yuqing)
    # the same seven posts on three channels are stored once (content twins recorded)
    assert len(posts) == len(DEFAULT_POSTS)
    by_title = {p["title"]: p for p in posts}
    for original in DEFAULT_POSTS:
        stored = by_title[original["title"]]
        assert stored["text"] == original["text"]
    board_posts = [p for p in posts if p["source"] == "board"]
    for p in board_posts:
        original = next(o for o in DEFAULT_POSTS if o["title"] == p["title"])
        assert p["author"] == original["author"]
        assert p["likes"] == original["likes"] and p["replies"] == original["replies"]
    oldest = next(p for p in posts if p["title"] == DEFAULT_POSTS[0]["title"])
    assert oldest["published_at"].startswith("2026-11-03T02:20:00")  # 10:20 in Shanghai
    dup_count = session.scalar(select(func.count()).select_from(PostDuplicate))
    assert dup_count >= len(DEFAULT_POSTS)  # other channels + the board's /copy/ URL

    hits_before = site.hits.copy()
    second = yuqing("crawl", "--sources", str(sources))
    assert second.returncode == 0, second.stderr
    assert "0 new post(s)" in second.stdout
    assert len(exported(yuqing)) == len(DEFAULT_POSTS)
    assert site.not_modified >= 2  # feed and listing revalidated with ETag, answered 304
    # nothing already known was downloaded again
    assert not any(site.hits[path] > hits_before[path] for path in site.hits if "/post/" in path)
    runs = session.scalars(select(CrawlRun).order_by(CrawlRun.id)).all()
    assert len(runs) == 10 and all(r.status == "ok" for r in runs)
    assert all(r.finished_at and r.pages_fetched > 0 for r in runs)
    assert sum(r.items_new for r in runs[5:]) == 0
    assert "yuqing/0.1.0 (+public-opinion monitoring)" in site.user_agents


def test_every_gbk_declaration_variant_decodes_to_the_same_posts(site, yuqing, tmp_path):
    sources = site.write_sources(
        tmp_path / "s.toml", "board", "board-meta", "board-wrong", "board-none"
    )
    result = yuqing("crawl", "--sources", str(sources))
    assert result.returncode == 0, result.stdout + result.stderr
    posts = exported(yuqing)
    # decoded wrongly, a variant's text would differ and be stored as a new post
    assert sorted(p["text"] for p in posts) == sorted(p["text"] for p in DEFAULT_POSTS)
    assert any("喆" in p["text"] for p in posts)  # GBK-only character, outside GB2312


def test_news_pages_without_selectors_use_trafilatura(site, yuqing, tmp_path):
    sources = site.write_sources(tmp_path / "s.toml", "news")
    assert yuqing("crawl", "--sources", str(sources)).returncode == 0
    posts = exported(yuqing)
    assert len(posts) == len(DEFAULT_POSTS)
    for p in posts:
        original = next(o for o in DEFAULT_POSTS if o["title"] == p["title"])
        assert original["text"] in p["text"]
        assert "热门推荐" not in p["text"] and "版权所有" not in p["text"]


def test_dead_and_broken_sources_are_reported_and_the_others_still_land(
    site, yuqing, session, tmp_path
):
    site.slow_seconds = 4
    sources = site.write_sources(
        tmp_path / "s.toml", "board", "dead", "broken", "slow", "huge", "loop", "private"
    )
    result = yuqing("crawl", "--sources", str(sources))
    assert result.returncode == 0, result.stdout + result.stderr
    runs = {r.source.name: r for r in session.scalars(select(CrawlRun))}
    assert runs["board"].status == "ok"
    assert runs["broken"].status == "partial"
    assert runs["broken"].http_errors == {"404": 1, "500": 1}
    assert "no post text" in result.stdout or runs["broken"].last_error
    for name in ("dead", "slow", "huge", "loop", "private"):
        assert runs[name].status == "failed", name
        assert runs[name].last_error, name
    assert "refused" in runs["dead"].last_error.lower()
    assert runs["slow"].http_errors.get("timeout")
    assert "52428800" in runs["huge"].last_error or "size" in runs["huge"].last_error
    assert "redirect" in runs["loop"].last_error
    assert "robots.txt" in runs["private"].last_error
    assert session.scalar(select(func.count()).select_from(Post)) >= len(DEFAULT_POSTS)
    assert "failed" in result.stdout and "partial" in result.stdout

    listing = yuqing("sources", "list", "--sources", str(sources))
    assert listing.returncode == 0, listing.stderr
    assert "失败" in listing.stdout and "健康" in listing.stdout


def test_exit_code_is_non_zero_only_when_every_source_failed(site, yuqing, tmp_path):
    sources = site.write_sources(tmp_path / "s.toml", "dead", "private")
    result = yuqing("crawl", "--sources", str(sources))
    assert result.returncode != 0
    assert "every selected source failed" in result.stderr
    one = yuqing("crawl", "--sources", str(sources), "--source", "private")
    assert one.returncode != 0
    assert "private" in one.stdout and "dead" not in one.stdout.split("source")[-1]


def test_listing_stops_paging_once_a_page_is_known(site, yuqing, tmp_path):
    sources = site.write_sources(tmp_path / "s.toml", "board")
    assert yuqing("crawl", "--sources", str(sources)).returncode == 0
    pages_first = site.hits["/board/header/"]
    assert pages_first == 3  # 7 posts, 3 per page
    site.add_post("新帖：计生证明开具流程", "请问在福田区开计生证明需要多久？", author="新网友")
    result = yuqing("crawl", "--sources", str(sources))
    assert result.returncode == 0
    # page 1 has the new post, page 2 is all known: paging stops there
    assert site.hits["/board/header/"] - pages_first == 2
    titles = [p["title"] for p in exported(yuqing)]
    assert titles.count("新帖：计生证明开具流程") == 1
    assert len(titles) == len(DEFAULT_POSTS) + 1


def test_export_formats_and_since(site, yuqing, tmp_path):
    sources = site.write_sources(tmp_path / "s.toml", "api")
    assert yuqing("crawl", "--sources", str(sources)).returncode == 0
    as_csv = yuqing("export", "posts", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert len(rows) == len(DEFAULT_POSTS)
    assert set(rows[0]) >= {
        "id",
        "source",
        "url",
        "title",
        "text",
        "author",
        "published_at",
        "fetched_at",
        "likes",
    }
    out = tmp_path / "posts.xlsx"
    result = yuqing("export", "posts", "--format", "xlsx", "--out", str(out))
    assert result.returncode == 0, result.stderr
    sheet = load_workbook(out).active
    assert sheet.max_row == len(DEFAULT_POSTS) + 1
    # published 2026-11-03 or earlier, fetched now: --since in the future leaves none
    assert exported(yuqing, "--since", "2999-01-01") == []
    bad = yuqing("export", "posts", "--since", "someday")
    assert bad.returncode == 2 and "--since" in bad.stderr


def test_bad_sources_file_is_refused_and_nothing_is_crawled(site, yuqing, session, tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(site.sources_toml("board") + '\n[[source]]\nname = "x"\nkind = "rss"\n')
    result = yuqing("crawl", "--sources", str(path))
    assert result.returncode == 2
    assert str(path) in result.stderr and "'x'" in result.stderr and "'kind'" in result.stderr
    assert "Traceback" not in result.stderr
    assert session.scalar(select(func.count()).select_from(CrawlRun)) == 0
    assert site.hits["/board/header/"] == 0


def test_runner_api_returns_one_result_per_source(site, settings, tmp_path):
    from crawlers.runner import crawl

    sources = site.write_sources(tmp_path / "s.toml", "jsonfeed", "dead")
    results = crawl(sources_file=sources, trigger="schedule")
    by_name = {r.source: r for r in results}
    assert by_name["jsonfeed"].status == "ok" and by_name["jsonfeed"].items_new == 7
    assert by_name["dead"].status == "failed" and by_name["dead"].error
