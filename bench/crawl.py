"""Crawl benchmark: pages/s and peak memory for a ≥10,000-page crawl of the local test site.

Politeness off (no delay, no AutoThrottle, no robots.txt, 16 parallel requests). Two runs of the
same pages, each in a fresh process:
  * yuqing    – `crawlers.runner.crawl`: the generic html spider, item loaders, encoding
                middleware, dedup and batched storage into a fresh SQLite database;
  * baseline  – a bare Scrapy spider following the same links and selectors, no pipeline.
Prints the figures and writes JSON to bench/results/crawl-<time>.json.

    .venv/bin/python bench/crawl.py [--posts 10000] [--per-page 50]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CONCURRENCY = 16


def _maxrss_mb(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # Linux: kilobytes


def phase_yuqing(sources: Path, data_dir: Path) -> dict[str, float]:
    """The product's crawl into a fresh database (runs in its own process)."""
    os.environ["YUQING_DATA_DIR"] = str(data_dir)
    os.environ.pop("YUQING_DATABASE_URL", None)
    os.environ["YUQING_CONFIG"] = str(data_dir / "none.toml")
    os.environ["YUQING_LOG_LEVEL"] = "WARNING"
    from core.db import get_engine
    from core.migrate import upgrade
    from crawlers.runner import crawl

    upgrade(get_engine())
    start = time.perf_counter()
    results = crawl(sources_file=sources, trigger="bench")
    seconds = time.perf_counter() - start
    r = results[0]
    return {
        "seconds": seconds,
        "pages": r.pages_fetched,
        "posts_stored": r.items_new,
        "status": r.status,
        "peak_rss_mb": _maxrss_mb(resource.RUSAGE_CHILDREN),
    }


def phase_baseline(start_url: str) -> dict[str, float]:
    """A bare Scrapy crawl of the same pages: same selectors, items discarded."""
    import scrapy
    from scrapy.crawler import CrawlerProcess

    counts = {"items": 0}

    class Bare(scrapy.Spider):
        name = "bare"
        start_urls = (start_url,)

        def parse(self, response):
            for href in response.css("ul.list a.title::attr(href)").getall():
                yield response.follow(href, self.parse_post)
            nxt = response.css("a.next::attr(href)").get()
            if nxt:
                yield response.follow(nxt, self.parse)

        def parse_post(self, response):
            counts["items"] += 1
            yield {
                "url": response.url,
                "title": response.css("h1.title::text").get(),
                "text": " ".join(response.css("div.content ::text").getall()),
            }

    process = CrawlerProcess(
        {
            "LOG_LEVEL": "WARNING",
            "ROBOTSTXT_OBEY": False,
            "AUTOTHROTTLE_ENABLED": False,
            "DOWNLOAD_DELAY": 0,
            "CONCURRENT_REQUESTS": CONCURRENCY,
            "CONCURRENT_REQUESTS_PER_DOMAIN": CONCURRENCY,
            "TELNETCONSOLE_ENABLED": False,
            "REMOTE_CONTROL_ENABLED": False,
        }
    )
    crawler = process.create_crawler(Bare)
    process.crawl(crawler)
    start = time.perf_counter()
    process.start()
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "pages": crawler.stats.get_value("downloader/response_count", 0),
        "posts_stored": counts["items"],
        "status": "ok",
        "peak_rss_mb": _maxrss_mb(resource.RUSAGE_SELF),
    }


def run_phase(*args: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--phase", *args], capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise SystemExit(f"phase {args[0]} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=10_000)
    parser.add_argument("--per-page", type=int, default=50)
    parser.add_argument("--phase", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        name, *rest = args.phase
        if name == "yuqing":
            result = phase_yuqing(Path(rest[0]), Path(rest[1]))
        else:
            result = phase_baseline(rest[0])
        print(json.dumps(result))
        return

    from tests.testsite import TestSite, generate_posts

    site = TestSite(generate_posts(args.posts), per_page=args.per_page, duplicates=False).start()
    try:
        with tempfile.TemporaryDirectory(prefix="yuqing-bench-") as tmp:
            sources = site.write_sources(
                Path(tmp) / "sources.toml",
                "board",
                robots=False,
                concurrency=CONCURRENCY,
                max_pages=args.posts // args.per_page + 10,
                http_cache=False,
            )
            print(f"test site {site.base_url}: {args.posts} posts, {args.per_page} per page")
            yuqing = run_phase("yuqing", str(sources), str(Path(tmp) / "var"))
            baseline = run_phase("baseline", site.url("/board/header/"))
    finally:
        site.stop()
    for r in (yuqing, baseline):
        r["pages_per_s"] = r["pages"] / r["seconds"] if r["seconds"] else 0.0
    figures = {
        "benchmark": "crawl",
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "posts": args.posts,
        "per_page": args.per_page,
        "concurrency": CONCURRENCY,
        "yuqing": yuqing,
        "baseline_bare_scrapy": baseline,
        "ratio_pages_per_s": yuqing["pages_per_s"] / baseline["pages_per_s"],
        "ratio_peak_rss": yuqing["peak_rss_mb"] / baseline["peak_rss_mb"],
    }
    print(f"{'run':<22}{'pages':>8}{'posts':>8}{'seconds':>9}{'pages/s':>9}{'peak MB':>9}")
    for label, r in (("yuqing (full pipeline)", yuqing), ("bare Scrapy baseline", baseline)):
        print(
            f"{label:<22}{r['pages']:>8}{r['posts_stored']:>8}{r['seconds']:>9.1f}"
            f"{r['pages_per_s']:>9.1f}{r['peak_rss_mb']:>9.0f}"
        )
    print(
        f"ratio yuqing/baseline: speed {figures['ratio_pages_per_s']:.2f}x, "
        f"peak memory {figures['ratio_peak_rss']:.2f}x"
    )
    out_dir = ROOT / "bench" / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"crawl-{dt.datetime.now():%Y%m%d-%H%M%S}.json"
    path.write_text(json.dumps(figures, indent=2), encoding="utf-8")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
