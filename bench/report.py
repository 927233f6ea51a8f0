"""Time the monthly report over bulk-generated posts.

    .venv/bin/python -m bench.report              # 100,000 posts (SQLite in a temp dir)
    .venv/bin/python -m bench.report --large      # 1,000,000 posts
    .venv/bin/python -m bench.report --large --keep var/bench-report   # keep the SQLite database
    .venv/bin/python -m bench.report --reuse var/bench-report          # report again, no generation
    .venv/bin/python -m bench.report --large --database-url postgresql://…/empty_db

Post texts are mixed and perturbed from the training corpus and the shared real messages
(bench/datagen.py). Posts are spread over --months months ending with the reported month
(default 1: every post falls in the reported month, the worst case); 30% are relevant, 5%
unanalysed; ids follow fetch time, as crawled posts do. Posts and analyses are bulk-loaded
(SQLite: one transaction of executemany with the journal off; PostgreSQL: COPY). The report is
built in a fresh subprocess so that its peak memory (maxrss) is the report's own.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert, text

from analysis.taxonomy import load_taxonomy

# the topic codes of the shipped taxonomy (analysis/data/taxonomy.toml)
TOPICS = list(load_taxonomy())
SENTIMENTS = ["negative", "neutral", "positive", "negative"]
CHUNK = 20_000
N_SOURCES = 8
N_EVENTS = 200
SQLITE_TS = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy stores DateTime on SQLite (naive UTC)

POST_COLUMNS = (
    "id, source_id, url, canonical_url, external_id, title, raw_text, normalized_text, author, "
    "published_at, fetched_at, likes, replies, reposts, views, content_hash, extra"
)
ANALYSIS_COLUMNS = (
    "post_id, model_version, analysed_at, relevant, relevance_proba, topics, topic_proba, "
    "sentiment, sentiment_proba, matched_terms, explanation, simhash, event_id"
)


def month_span(month: str, months: int) -> tuple[dt.datetime, dt.datetime]:
    """UTC start and end of the `months` months ending with `month` (local time)."""
    tz = ZoneInfo("Asia/Shanghai")
    year, mon = map(int, month.split("-"))
    end = dt.datetime(year + mon // 12, mon % 12 + 1, 1, tzinfo=tz)
    first_mon = mon - months + 1
    start = dt.datetime(year + (first_mon - 1) // 12, (first_mon - 1) % 12 + 1, 1, tzinfo=tz)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def small_tables(engine, *, posts: int, start: dt.datetime, end: dt.datetime, rng) -> None:
    """Sources, events, crawl runs and alerts (a few thousand rows) through SQLAlchemy."""
    from alerts.models import Alert
    from analysis.models import Event
    from crawlers.models import CrawlRun, Source

    span = (end - start).total_seconds()
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
                for i in range(1, N_SOURCES + 1)
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
                for i in range(1, N_EVENTS + 1)
            ],
        )
        conn.execute(
            insert(CrawlRun),
            [
                {
                    "source_id": rng.randint(1, N_SOURCES),
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
        alerts = []
        for i in range(1, max(10, posts // 500) + 1):
            created = start + dt.timedelta(seconds=rng.random() * span)
            state = rng.choice(
                ["new", "acknowledged", "in_progress", "resolved", "resolved", "dismissed"]
            )
            acked = created + dt.timedelta(hours=rng.random() * 12)
            resolved = acked + dt.timedelta(hours=rng.random() * 72)
            alerts.append(
                {
                    "kind": "content",
                    "dedup_key": f"bench:{i}",
                    "event_id": rng.randint(1, N_EVENTS),
                    "topic": rng.choice(TOPICS),
                    "rule": "event_negative",
                    "severity": rng.choice(["red", "orange", "yellow", "blue", "blue"]),
                    "state": state,
                    "title": f"告警{i}",
                    "reason": "同一事件多条负面信息",
                    "matched_terms": [],
                    "due_at": created + dt.timedelta(hours=48),
                    "created_at": created,
                    "updated_at": resolved,
                    "acknowledged_at": acked if state != "new" else None,
                    "resolved_at": resolved if state == "resolved" else None,
                    "dismissed_reason": "noise" if state == "dismissed" else "",
                }
            )
        conn.execute(insert(Alert), alerts)


def post_rows(
    *, posts: int, start: dt.datetime, end: dt.datetime, seed: int, fmt_time
) -> Iterator[tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]]:
    """Chunks of (post rows, analysis rows) as plain tuples in the column orders above."""
    from bench.datagen import generate_posts, load_seeds

    rng = random.Random(seed)
    span = (end - start).total_seconds()
    seeds = load_seeds()
    texts = generate_posts(posts, seed=seed, seeds=seeds)
    empty = "{}"
    model = "bench"
    # analyses carry their explanation and matched terms, a few hundred bytes as real ones do
    words = [
        "生育登记",
        "育儿补贴",
        "托育",
        "独生子女",
        "产假",
        "生育津贴",
        "窗口",
        "态度",
        "拖延",
        "投诉",
        "满意",
        "感谢",
        "社区",
        "街道",
        "证明",
        "材料",
        "失独",
        "扶助金",
    ]
    explanations = [
        json.dumps(
            {
                "relevance": [[w, round(rng.random(), 3)] for w in rng.sample(words, 4)],
                "sentiment": [[w, round(rng.random(), 3)] for w in rng.sample(words, 3)],
                "topics": {
                    t: [[w, round(rng.random(), 3)] for w in rng.sample(words, 2)]
                    for t in rng.sample(TOPICS, 2)
                },
            },
            ensure_ascii=False,
        )
        for _ in range(500)
    ]
    matched = [
        json.dumps(
            {
                "plans": [],
                "place": rng.sample(["民治街道", "龙华区", "福田区"], 1),
                "subject": rng.sample(words, 2),
                "event": [],
            },
            ensure_ascii=False,
        )
        for _ in range(200)
    ]
    step = span / posts
    for first in range(1, posts + 1, CHUNK):
        p_rows: list[tuple[Any, ...]] = []
        a_rows: list[tuple[Any, ...]] = []
        for i in range(first, min(posts, first + CHUNK - 1) + 1):
            gen = next(texts)
            body = gen["text"]
            # ids follow crawl order: fetched in time order, published up to two days before
            # (the first days of the month also get posts published the month before); 3% have
            # no publication time and count on their fetch time
            fetched = start + dt.timedelta(seconds=(i - rng.random()) * step)
            published = (
                None
                if rng.random() < 0.03
                else fmt_time(fetched - dt.timedelta(seconds=rng.random() ** 3 * 172_800))
            )
            url = f"http://127.0.0.1/post/{i}"
            p_rows.append(
                (
                    i,
                    rng.randint(1, N_SOURCES),
                    url,
                    url,
                    "",
                    gen["title"],
                    body,
                    body,
                    "",
                    published,
                    fmt_time(fetched),
                    rng.randint(0, 100),
                    rng.randint(0, 30),
                    rng.randint(0, 10),
                    rng.randint(0, 5000),
                    hashlib.sha256(body.encode()).hexdigest(),
                    empty,
                )
            )
            roll = rng.random()
            if roll < 0.05:
                continue  # not analysed yet
            relevant = roll < 0.35
            sentiment = rng.choice(SENTIMENTS)
            topics = json.dumps(rng.sample(TOPICS, rng.randint(1, 2)) if relevant else [])
            event = rng.randint(1, N_EVENTS) if relevant and rng.random() < 0.3 else None
            a_rows.append(
                (
                    i,
                    model,
                    fmt_time(fetched),
                    relevant,
                    0.9 if relevant else 0.1,
                    topics,
                    empty,
                    sentiment,
                    json.dumps({sentiment: 0.8}),
                    rng.choice(matched),
                    rng.choice(explanations),
                    f"{rng.getrandbits(64):016x}",
                    event,
                )
            )
        yield p_rows, a_rows


def _progress(done: int, posts: int, started: float) -> None:
    rate = done / max(time.monotonic() - started, 1e-9)
    print(f"\r  generated {done:,}/{posts:,} posts ({rate:,.0f}/s)", end="", flush=True)


def load_sqlite(path: Path, *, posts: int, start, end, seed: int) -> None:
    """Bulk-load posts and analyses into SQLite: one transaction, journal and syncs off."""
    import sqlite3

    def fmt(when: dt.datetime) -> str:
        return when.replace(tzinfo=None).strftime(SQLITE_TS)

    conn = sqlite3.connect(path, isolation_level=None)
    # only for this throwaway bench database: a crash mid-load may corrupt it
    conn.execute("PRAGMA journal_mode=OFF")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-200000")
    conn.execute("BEGIN")
    started = time.monotonic()
    done = 0
    p_sql = f"INSERT INTO posts ({POST_COLUMNS}) VALUES ({', '.join('?' * 17)})"
    a_sql = f"INSERT INTO analyses ({ANALYSIS_COLUMNS}) VALUES ({', '.join('?' * 13)})"
    for p_rows, a_rows in post_rows(posts=posts, start=start, end=end, seed=seed, fmt_time=fmt):
        conn.executemany(p_sql, p_rows)
        conn.executemany(a_sql, a_rows)
        done += len(p_rows)
        _progress(done, posts, started)
    conn.execute("COMMIT")
    conn.execute("PRAGMA journal_mode=WAL")  # what the product uses
    conn.close()
    print()


def load_postgres(url: str, *, posts: int, start, end, seed: int) -> None:
    """Bulk-load posts and analyses into PostgreSQL with COPY, in one transaction."""
    import psycopg

    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    started = time.monotonic()
    done = 0
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        for p_rows, a_rows in post_rows(
            posts=posts, start=start, end=end, seed=seed, fmt_time=lambda when: when
        ):
            with cur.copy(f"COPY posts ({POST_COLUMNS}) FROM STDIN") as copy:
                for row in p_rows:
                    copy.write_row(row)
            with cur.copy(f"COPY analyses ({ANALYSIS_COLUMNS}) FROM STDIN") as copy:
                for row in a_rows:
                    copy.write_row(row)
            done += len(p_rows)
            _progress(done, posts, started)
        # ids were given explicitly: move the sequence past them
        cur.execute("SELECT setval('posts_id_seq', (SELECT max(id) FROM posts))")
    print()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("ANALYZE")  # what autovacuum would do shortly after a bulk load


def generate(settings, *, posts: int, months: int, month: str, seed: int = 1) -> None:
    """Fill a migrated, empty database with a month (or more) of posts and analyses."""
    from core.db import get_engine

    engine = get_engine(settings)
    start, end = month_span(month, months)
    small_tables(engine, posts=posts, start=start, end=end, rng=random.Random(seed))
    engine.dispose()
    url = settings.db_url
    if url.startswith("sqlite"):
        load_sqlite(Path(url.split("///", 1)[1]), posts=posts, start=start, end=end, seed=seed)
    else:
        load_postgres(url, posts=posts, start=start, end=end, seed=seed)


def _peak_rss_mb() -> float:
    """This process's peak resident memory in MB.

    VmHWM, not getrusage's ru_maxrss: Linux carries ru_maxrss across fork and exec, so a child
    of the generator would report the generator's memory.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def report_step(month: str) -> None:
    """Build the month's report once and print time, size and this process's peak memory."""
    from alerts.reports.monthly import build_monthly_report
    from core.config import get_settings
    from core.db import session_scope

    settings = get_settings()
    rss_before = _peak_rss_mb()
    with session_scope(settings) as session:
        in_db = session.execute(text("SELECT count(*) FROM posts")).scalar_one()
        cpu0 = time.process_time()
        t0 = time.monotonic()
        report = build_monthly_report(session=session, month=month, settings=settings)
        elapsed = time.monotonic() - t0
        cpu = time.process_time() - cpu0
    totals = report.figures["totals"]
    print(
        f"monthly report {month}: {totals['posts']:,} posts in the month "
        f"({totals['relevant']:,} relevant) of {in_db:,} in the database: {elapsed:.1f}s; "
        f"{cpu:.1f}s CPU in this process; xlsx {len(report.xlsx) / 1e6:.1f} MB, "
        f"{len(report.images)} charts; peak RSS {_peak_rss_mb():.0f} MB "
        f"(after imports {rss_before:.0f} MB)",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--large", action="store_true", help="1,000,000 posts")
    parser.add_argument("--months", type=int, default=1, help="months the posts spread over")
    parser.add_argument("--month", default="2025-03")
    parser.add_argument("--database-url", default="", help="an empty PostgreSQL database")
    parser.add_argument("--keep", type=Path, help="data dir for the SQLite database (kept)")
    parser.add_argument("--reuse", type=Path, help="report again over a kept data dir")
    parser.add_argument("--report-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    posts = 1_000_000 if args.large else args.posts

    if args.report_only:
        report_step(args.month)
        return
    scratch = not (args.reuse or args.keep)
    data_dir = args.reuse or args.keep or Path(tempfile.mkdtemp(prefix="yuqing-bench-"))
    data_dir.mkdir(parents=True, exist_ok=True)
    os.environ["YUQING_DATA_DIR"] = str(data_dir.resolve())
    os.environ["YUQING_CONFIG"] = str(data_dir / "none.toml")
    if args.database_url:
        os.environ["YUQING_DATABASE_URL"] = args.database_url
    from core.config import get_settings
    from core.db import get_engine
    from core.migrate import upgrade

    settings = get_settings()
    print(f"database: {settings.db_url.split('@')[-1]}")
    if not args.reuse:
        from bench.datagen import describe, load_seeds

        upgrade(get_engine(settings))
        print(f"posts: {posts:,}, {describe(load_seeds())}")
        t0 = time.monotonic()
        generate(settings, posts=posts, months=args.months, month=args.month)
        print(f"generation: {time.monotonic() - t0:.1f}s ({posts:,} posts with analyses)")
    # a fresh process, so the peak memory measured is the report's alone
    cmd = [sys.executable, "-m", "bench.report", "--report-only", "--month", args.month]
    result = subprocess.run(cmd, env=os.environ.copy(), check=False)
    if scratch:
        shutil.rmtree(data_dir, ignore_errors=True)
    if result.returncode:
        raise SystemExit(result.returncode)


if __name__ == "__main__":
    main()
