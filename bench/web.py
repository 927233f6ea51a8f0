"""Benchmark the web pages staff use most: p50/p95 of the alerts list, an alert detail and the
dashboard over a database of generated posts (SQLite by default).

    .venv/bin/python bench/web.py                      # 20,000 posts, quick
    .venv/bin/python bench/web.py --posts 100000
    .venv/bin/python bench/web.py --posts 1000000 --keep var/bench-1m.db
    .venv/bin/python bench/web.py --reuse var/bench-1m.db   # measure again without regenerating
    .venv/bin/python bench/web.py --posts 100000 --database-url postgresql://…/empty_db
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analysis.taxonomy import load_taxonomy  # after the sys.path line above

# the topic codes of the shipped taxonomy (analysis/data/taxonomy.toml)
TOPICS = list(load_taxonomy())
PLACES = ["福田", "沙头", "下沙", "上沙", "新洲", "石厦", "金地", "天安"]
SUBJECTS = [
    "生育登记",
    "独生子女奖励",
    "计生证明",
    "育儿补贴",
    "生育津贴",
    "孕前优生检查",
    "特别扶助金",
    "托育机构",
]
MOODS = [
    "办事窗口态度很差，来回跑了好几趟",
    "工作人员很耐心，一次就办好了",
    "想咨询一下需要什么材料",
    "补贴拖了半年还没发下来",
    "社区通知说下周有宣传活动",
]
FMT = "%Y-%m-%d %H:%M:%S.%f"


def _ts(when: dt.datetime) -> str:
    return when.strftime(FMT)


class _Cursor:
    """executemany with ? placeholders over a SQLAlchemy connection (SQLite or PostgreSQL)."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    def executemany(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        count = sql.count("?")
        for i in range(count):
            sql = sql.replace("?", f":p{i}", 1)
        self.conn.execute(text(sql), [{f"p{i}": v for i, v in enumerate(r)} for r in rows])


def generate(url: str, posts: int, seed: int = 7) -> dict[str, int]:
    """Fill a migrated database with sources, runs, posts, analyses, events and alerts."""
    rng = random.Random(seed)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    engine = create_engine(url)
    if url.startswith("sqlite"):
        event.listen(engine, "connect", lambda c, _r: c.execute("PRAGMA synchronous=OFF"))
    conn = engine.connect()
    if not url.startswith("sqlite"):
        conn.execute(text("SET TIME ZONE 'UTC'"))
    cur = _Cursor(conn)
    from core.security import hash_password

    pw = hash_password("bench-password")
    cur.executemany(
        "INSERT INTO users (name, display_name, email, role, password_hash, active, on_duty, "
        "created_at) VALUES (?, ?, '', ?, ?, true, false, ?)",
        [(f"user{i}", f"用户{i}", "admin" if i == 0 else "staff", pw, _ts(now)) for i in range(5)],
    )
    n_sources = 20
    cur.executemany(
        "INSERT INTO sources (name, kind, url, enabled, interval_minutes, weight, tags, config, "
        "created_at, updated_at) VALUES (?, 'html', ?, true, 60, 1.0, '{}', '{}', ?, ?)",
        [(f"来源{i}", f"http://127.0.0.1/{i}", _ts(now), _ts(now)) for i in range(n_sources)],
    )
    runs = []
    for s in range(1, n_sources + 1):
        for h in range(0, 24 * 30, 12):
            start = now - dt.timedelta(hours=h)
            status = "failed" if rng.random() < 0.05 else "ok"
            runs.append(
                (
                    s,
                    _ts(start),
                    _ts(start + dt.timedelta(minutes=2)),
                    status,
                    rng.randint(0, 40),
                    "timeout" if status == "failed" else "",
                )
            )
    cur.executemany(
        "INSERT INTO crawl_runs (source_id, started_at, finished_at, status, trigger, node, "
        "job_id, pages_fetched, items_seen, items_new, items_duplicate, items_dropped, "
        "http_errors, exceptions, last_error) VALUES (?, ?, ?, ?, 'schedule', 'local', '', 10, "
        "0, ?, 0, 0, '{}', 0, ?)",
        runs,
    )
    n_events = max(1, posts // 20)
    event_rows = []
    for _ in range(n_events):
        first = now - dt.timedelta(minutes=rng.randint(0, 365 * 24 * 60))
        event_rows.append(
            (
                f"{rng.choice(PLACES)}{rng.choice(SUBJECTS)}问题",
                _ts(first),
                _ts(first + dt.timedelta(hours=rng.randint(0, 72))),
                20,
                rng.randint(0, 20),
                rng.randint(0, 20),
                json.dumps([rng.choice(TOPICS)]),
            )
        )
    cur.executemany(
        "INSERT INTO events (title, first_seen, last_seen, post_count, negative_count, "
        "relevant_count, topics, signature) VALUES (?, ?, ?, ?, ?, ?, ?, '{}')",
        event_rows,
    )
    batch = 50_000
    for start in range(0, posts, batch):
        post_rows, analysis_rows = [], []
        for i in range(start, min(posts, start + batch)):
            published = now - dt.timedelta(seconds=rng.randint(0, 365 * 86400))
            place, subject, mood = rng.choice(PLACES), rng.choice(SUBJECTS), rng.choice(MOODS)
            body = f"{place}街道{subject}：{mood}。编号{i}"
            link = f"http://127.0.0.1/p/{i}"
            post_rows.append(
                (
                    i + 1,
                    rng.randint(1, n_sources),
                    link,
                    link,
                    f"{subject}的问题",
                    body,
                    body,
                    _ts(published),
                    _ts(published),
                    rng.randint(0, 50),
                    hashlib.sha1(body.encode()).hexdigest(),
                )
            )
            relevant = rng.random() < 0.4
            sentiment = rng.choice(["negative", "neutral", "neutral", "positive"])
            topics = rng.sample(TOPICS, rng.randint(1, 2)) if relevant else []
            analysis_rows.append(
                (
                    i + 1,
                    _ts(now),
                    relevant,
                    0.9 if relevant else 0.1,
                    json.dumps(topics),
                    sentiment,
                    json.dumps({sentiment: 0.8}),
                    json.dumps(
                        {"plans": [], "place": [place], "subject": [subject], "event": []},
                        ensure_ascii=False,
                    ),
                    json.dumps(
                        {"relevance": [[subject, 1.0]], "sentiment": [["差", 0.5]], "topics": {}},
                        ensure_ascii=False,
                    ),
                    (i % n_events) + 1,
                )
            )
        cur.executemany(
            "INSERT INTO posts (id, source_id, url, canonical_url, external_id, title, raw_text, "
            "normalized_text, author, published_at, fetched_at, likes, replies, reposts, views, "
            "content_hash, extra) VALUES (?, ?, ?, ?, '', ?, ?, ?, '', ?, ?, ?, 0, 0, 0, ?, '{}')",
            post_rows,
        )
        cur.executemany(
            "INSERT INTO analyses (post_id, model_version, analysed_at, relevant, "
            "relevance_proba, topics, topic_proba, sentiment, sentiment_proba, matched_terms, "
            "explanation, simhash, event_id) VALUES (?, 'bench', ?, ?, ?, ?, '{}', ?, ?, ?, ?, "
            "'', ?)",
            analysis_rows,
        )
        conn.commit()
        print(f"  {min(posts, start + batch):,} / {posts:,} posts", file=sys.stderr)
    n_alerts = max(10, posts // 500)
    states = ["new", "new", "acknowledged", "in_progress", "resolved", "resolved", "dismissed"]
    alert_rows, link_rows = [], []
    for a in range(1, n_alerts + 1):
        created = now - dt.timedelta(minutes=rng.randint(0, 365 * 24 * 60))
        sev = rng.choice(["red", "orange", "yellow", "blue", "blue"])
        event_id = rng.randint(1, n_events)
        title = f"{rng.choice(PLACES)}{rng.choice(SUBJECTS)}负面信息增多"
        alert_rows.append(
            (
                f"content:{a}",
                event_id,
                rng.choice(TOPICS),
                sev,
                rng.choice(states),
                title,
                "同一事件多条负面信息",
                _ts(created),
                _ts(created),
                _ts(created + dt.timedelta(hours=24)),
                rng.choice([None, 1, 2, 3]),
            )
        )
        for k in range(5):
            link_rows.append((a, ((event_id - 1) + k * n_events) % posts + 1))
    cur.executemany(
        "INSERT INTO alerts (kind, dedup_key, event_id, topic, rule, severity, state, title, "
        "reason, matched_terms, created_at, updated_at, due_at, dismissed_reason, "
        "assignee_id) VALUES ('content', ?, ?, ?, 'event_negative', ?, ?, ?, ?, '[]', ?, ?, ?, "
        "'', ?)",
        alert_rows,
    )
    cur.executemany(
        "INSERT INTO alert_posts (alert_id, post_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
        link_rows,
    )
    if not url.startswith("sqlite"):
        # ids were given explicitly: move the sequence past them
        conn.execute(text("SELECT setval('posts_id_seq', (SELECT max(id) FROM posts))"))
    conn.commit()
    conn.execute(text("ANALYZE"))
    conn.commit()
    conn.close()
    engine.dispose()
    return {"posts": posts, "events": n_events, "alerts": n_alerts}


def measure(url: str, data_dir: Path, runs: int) -> dict[str, dict[str, float]]:
    """Time the three pages through the real app (in-process ASGI client)."""
    from fastapi.testclient import TestClient

    from api.app import create_app
    from core.config import Settings

    settings = Settings(
        data_dir=data_dir, database_url=url, secret_key="bench-secret-key-0123456789"
    )
    app = create_app(settings)
    client = TestClient(app)
    login = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', login).group(1)
    response = client.post(
        "/login",
        data={"username": "user0", "password": "bench-password", "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    engine = create_engine(settings.db_url)
    with engine.connect() as conn:
        alert_ids = [
            r[0] for r in conn.execute(text("SELECT id FROM alerts ORDER BY random() LIMIT 200"))
        ]
    engine.dispose()
    rng = random.Random(1)
    targets = {
        "alerts list": lambda: "/",
        "alerts list (filtered, page 3)": lambda: "/?state=all&severity=red&sort=time&page=3",
        "alert detail": lambda: f"/alerts/{rng.choice(alert_ids)}",
        "dashboard (30 days)": lambda: "/dashboard",
    }
    results = {}
    for name, path in targets.items():
        for _ in range(3):
            client.get(path())
        times = []
        for _ in range(runs):
            url = path()
            t0 = time.perf_counter()
            r = client.get(url)
            times.append((time.perf_counter() - t0) * 1000)
            assert r.status_code == 200, (url, r.status_code)
        times.sort()
        results[name] = {
            "p50": statistics.median(times),
            "p95": times[max(0, round(0.95 * len(times)) - 1)],
        }
    # the first dashboard view after a start; later recounts run in the background
    from api.queries import DailyStatsCache

    cold = []
    for _ in range(5):
        app.state.daily_stats = DailyStatsCache(factory=app.state.session_factory)
        t0 = time.perf_counter()
        assert client.get("/dashboard").status_code == 200
        cold.append((time.perf_counter() - t0) * 1000)
    cold.sort()
    results["dashboard, first view after start"] = {"p50": statistics.median(cold), "p95": cold[-1]}
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=20_000, help="posts to generate")
    parser.add_argument("--runs", type=int, default=40, help="timed requests per page")
    parser.add_argument("--keep", type=Path, help="write the SQLite database here and keep it")
    parser.add_argument("--reuse", type=Path, help="measure an existing SQLite bench database")
    parser.add_argument(
        "--database-url",
        default="",
        help="an EMPTY PostgreSQL database to fill and measure instead of SQLite",
    )
    args = parser.parse_args()
    from core.config import Settings
    from core.db import make_engine
    from core.migrate import upgrade

    data_dir = Path(tempfile.mkdtemp(prefix="yuqing-bench-"))
    if args.database_url:
        url = args.database_url
        label = f"PostgreSQL, {args.posts:,} posts"
    elif args.reuse:
        url, label = f"sqlite:///{args.reuse.resolve()}", f"SQLite, {args.reuse}"
    else:
        db_path = args.keep or data_dir / "bench.db"
        db_path.parent.mkdir(parents=True, exist_ok=True)
        db_path.unlink(missing_ok=True)
        url, label = f"sqlite:///{db_path.resolve()}", f"SQLite, {args.posts:,} posts"
    if not args.reuse:
        settings = Settings(database_url=url)
        engine = make_engine(settings)
        upgrade(engine)
        engine.dispose()
        t0 = time.perf_counter()
        counts = generate(settings.db_url, args.posts)
        print(f"generated {counts} in {time.perf_counter() - t0:.0f}s", file=sys.stderr)
    results = measure(url, data_dir, args.runs)
    print(label)
    print(f"{'page':36} {'p50 ms':>8} {'p95 ms':>8}")
    for name, r in results.items():
        print(f"{name:36} {r['p50']:8.1f} {r['p95']:8.1f}")


if __name__ == "__main__":
    main()
