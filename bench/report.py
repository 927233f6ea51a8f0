"""Time the monthly report over bulk-generated posts.

    .venv/bin/python -m bench.report              # 100,000 posts (SQLite in a temp dir)
    .venv/bin/python -m bench.report --large      # 1,000,000 posts
    YUQING_DATABASE_URL=postgresql://... .venv/bin/python -m bench.report --posts 200000

Posts are spread over --months months ending with the reported month (default 1: every post
falls in the reported month, the worst case); 30% are relevant, 5% unanalysed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import os
import random
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import insert

TOPICS = ["policy", "registration", "support", "staff_conduct", "special_families", "publicity"]
WORDS = ["生育登记", "窗口态度", "育儿补贴", "独生子女", "失独家庭", "产假", "办证", "托育机构"]


def generate(engine, *, posts: int, months: int, month: str, seed: int = 1) -> None:
    """Insert sources, events, posts and analyses in bulk."""
    from analysis.models import Analysis, Event
    from crawlers.models import CrawlRun, Post, Source

    rng = random.Random(seed)
    tz = ZoneInfo("Asia/Shanghai")
    year, mon = map(int, month.split("-"))
    end = dt.datetime(year + mon // 12, mon % 12 + 1, 1, tzinfo=tz)
    span = (end - (end - dt.timedelta(days=30.4 * months))).total_seconds()
    start = end - dt.timedelta(seconds=span)
    with engine.begin() as conn:
        conn.execute(
            insert(Source),
            [
                {
                    "name": f"source{i}",
                    "kind": "html",
                    "url": f"http://127.0.0.1/{i}",
                    "enabled": True,
                    "interval_minutes": 60,
                    "weight": 1.0,
                    "tags": {},
                    "config": {},
                    "created_at": start,
                    "updated_at": start,
                }
                for i in range(1, 9)
            ],
        )
        conn.execute(
            insert(Event),
            [
                {
                    "title": f"事件{i}",
                    "first_seen": start,
                    "last_seen": end,
                    "post_count": 0,
                    "negative_count": 0,
                    "relevant_count": 0,
                    "topics": [rng.choice(TOPICS)],
                    "signature": {},
                }
                for i in range(1, 201)
            ],
        )
        conn.execute(
            insert(CrawlRun),
            [
                {
                    "source_id": rng.randint(1, 8),
                    "started_at": start + dt.timedelta(hours=h),
                    "finished_at": start + dt.timedelta(hours=h, minutes=1),
                    "status": rng.choice(["ok", "ok", "ok", "partial", "failed"]),
                    "trigger": "schedule",
                    "node": "local",
                    "job_id": "",
                    "pages_fetched": 5,
                    "items_seen": 10,
                    "items_new": 5,
                    "items_duplicate": 5,
                    "items_dropped": 0,
                    "http_errors": {},
                    "exceptions": 0,
                    "last_error": "",
                }
                for h in range(0, int(span // 3600), 3)
            ],
        )
    chunk = 20_000
    done = 0
    started = time.monotonic()
    while done < posts:
        n = min(chunk, posts - done)
        post_rows, analysis_rows = [], []
        for i in range(done + 1, done + n + 1):
            when = start + dt.timedelta(seconds=rng.random() * span)
            word = rng.choice(WORDS)
            text = f"{word}的问题，{rng.choice(WORDS)}办理太慢，希望尽快处理。编号{i}"
            url = f"http://127.0.0.1/post/{i}"
            post_rows.append(
                {
                    "id": i,
                    "source_id": rng.randint(1, 8),
                    "url": url,
                    "canonical_url": url,
                    "external_id": "",
                    "title": f"关于{word}的反映",
                    "raw_text": text,
                    "normalized_text": text,
                    "author": "",
                    "published_at": when,
                    "fetched_at": when,
                    "likes": rng.randint(0, 100),
                    "replies": rng.randint(0, 30),
                    "reposts": rng.randint(0, 10),
                    "views": rng.randint(0, 5000),
                    "content_hash": hashlib.sha256(text.encode()).hexdigest(),
                    "extra": {},
                }
            )
            roll = rng.random()
            if roll < 0.05:
                continue
            relevant = roll < 0.35
            sentiment = rng.choice(["negative", "neutral", "positive", "negative"])
            analysis_rows.append(
                {
                    "post_id": i,
                    "model_version": "bench",
                    "analysed_at": when,
                    "relevant": relevant,
                    "relevance_proba": 0.9 if relevant else 0.1,
                    "topics": rng.sample(TOPICS, rng.randint(1, 2)) if relevant else [],
                    "topic_proba": {},
                    "sentiment": sentiment,
                    "sentiment_proba": {},
                    "matched_terms": {},
                    "explanation": {},
                    "simhash": "",
                    "event_id": rng.randint(1, 200) if relevant and rng.random() < 0.3 else None,
                }
            )
        with engine.begin() as conn:
            conn.execute(insert(Post), post_rows)
            if analysis_rows:
                conn.execute(insert(Analysis), analysis_rows)
        done += n
        rate = done / (time.monotonic() - started)
        print(f"\r  generated {done:,}/{posts:,} posts ({rate:,.0f}/s)", end="", flush=True)
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--large", action="store_true", help="1,000,000 posts")
    parser.add_argument("--months", type=int, default=1, help="months the posts spread over")
    parser.add_argument("--month", default="2025-03")
    args = parser.parse_args()
    posts = 1_000_000 if args.large else args.posts

    tmp = Path(tempfile.mkdtemp(prefix="yuqing-bench-"))
    os.environ.setdefault("YUQING_DATA_DIR", str(tmp))
    os.environ["YUQING_CONFIG"] = str(tmp / "none.toml")
    from alerts.reports.monthly import build_monthly_report
    from core.config import get_settings
    from core.db import get_engine, session_scope
    from core.migrate import upgrade

    settings = get_settings()
    engine = get_engine(settings)
    upgrade(engine)
    print(f"database: {settings.db_url.split('@')[-1]}")
    t0 = time.monotonic()
    generate(engine, posts=posts, months=args.months, month=args.month)
    print(f"generation: {time.monotonic() - t0:.1f}s")
    t0 = time.monotonic()
    with session_scope(settings) as session:
        report = build_monthly_report(session=session, month=args.month, settings=settings)
    elapsed = time.monotonic() - t0
    totals = report.figures["totals"]
    print(
        f"monthly report {args.month}: {totals['posts']:,} posts in the month "
        f"({totals['relevant']:,} relevant) of {posts:,} in the database: {elapsed:.1f}s; "
        f"xlsx {len(report.xlsx) / 1e6:.1f} MB, {len(report.images)} charts"
    )


if __name__ == "__main__":
    main()
