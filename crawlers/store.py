"""Database side of crawling: mirror sources, open and close runs, store posts without twins."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.db import utcnow
from crawlers.models import CrawlRun, Post, PostDuplicate, Source
from crawlers.sources import SourceConfig


def content_hash(title: str, text: str) -> str:
    """SHA-256 of the whitespace-free title and text: equal for the same post at two URLs."""
    body = "".join((title or "").split()) + "\n" + "".join((text or "").split())
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def sync_sources(*, session: Session, configs: Iterable[SourceConfig]) -> dict[str, Source]:
    """Create or update a Source row per config (sources absent from the file are kept)."""
    rows = {s.name: s for s in session.scalars(select(Source))}
    for cfg in configs:
        row = rows.get(cfg.name)
        if row is None:
            row = Source(name=cfg.name, kind=cfg.kind)
            session.add(row)
            rows[cfg.name] = row
        row.kind = cfg.kind
        row.url = cfg.main_url
        row.enabled = cfg.enabled
        row.interval_minutes = cfg.interval
        row.weight = cfg.weight
        row.tags = dict(cfg.tags)
        row.config = cfg.to_dict()
    session.flush()
    return rows


def known_urls(*, session: Session, canonical_urls: Iterable[str]) -> set[str]:
    """Which of these canonical URLs are already stored, as posts or as recorded duplicates."""
    urls = list(set(canonical_urls))
    known: set[str] = set()
    for i in range(0, len(urls), 500):
        chunk = urls[i : i + 500]
        known.update(
            session.scalars(select(Post.canonical_url).where(Post.canonical_url.in_(chunk)))
        )
        known.update(
            session.scalars(
                select(PostDuplicate.canonical_url).where(PostDuplicate.canonical_url.in_(chunk))
            )
        )
    return known


@dataclass
class BatchResult:
    """What one batch did."""

    new: int = 0
    duplicate: int = 0


# key of the PostgreSQL advisory lock that serialises storing posts ("yuqi")
STORE_LOCK_KEY = 0x79757169


def _lock_store(*, session: Session, source_id: int) -> None:
    """Hold the store's write lock until the caller's transaction ends.

    Two crawls running at once (Scrapyd jobs, serve and a manual crawl) may carry the same post;
    without the lock both check for a content twin, find none, and both insert it.
    """
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": STORE_LOCK_KEY})
    elif dialect == "sqlite":
        # a transaction's first write takes SQLite's single write lock (waiting up to
        # busy_timeout); the twin check then reads what every earlier writer committed
        session.execute(text("UPDATE sources SET id = id WHERE id = :id"), {"id": source_id})


def save_batch(
    *, session: Session, source_id: int, run_id: int | None, items: list[dict[str, Any]]
) -> BatchResult:
    """Store new posts; record content twins in post_duplicates; skip URLs already known.

    Each item has `canonical_url`, `content_hash` and the post fields. Commits nothing itself.
    """
    result = BatchResult()
    if not items:
        return result
    _lock_store(session=session, source_id=source_id)
    known = known_urls(session=session, canonical_urls=[i["canonical_url"] for i in items])
    hashes = {i["content_hash"] for i in items}
    by_hash: dict[str, int | Post] = {}
    for post_id, h in session.execute(
        select(Post.id, Post.content_hash).where(Post.content_hash.in_(list(hashes)))
    ):
        by_hash.setdefault(h, post_id)
    twins: list[tuple[dict[str, Any], int | Post]] = []
    for item in items:
        canon = item["canonical_url"]
        if canon in known:
            result.duplicate += 1
            continue
        known.add(canon)
        twin = by_hash.get(item["content_hash"])
        if twin is not None:
            twins.append((item, twin))
            result.duplicate += 1
            continue
        post = Post(
            source_id=source_id,
            crawl_run_id=run_id,
            url=item["url"],
            canonical_url=canon,
            external_id=(item.get("external_id") or "")[:200],
            title=item.get("title") or "",
            raw_text=item.get("text") or "",
            normalized_text="",
            author=(item.get("author") or "")[:200],
            published_at=item.get("published_at"),
            fetched_at=utcnow(),
            likes=item.get("likes") or 0,
            replies=item.get("replies") or 0,
            reposts=item.get("reposts") or 0,
            views=item.get("views") or 0,
            content_hash=item["content_hash"],
            extra=item.get("extra") or {},
        )
        session.add(post)
        by_hash[item["content_hash"]] = post
        result.new += 1
    # one flush inserts the whole batch; twins of posts from this batch need their ids after it
    session.flush()
    for item, twin in twins:
        session.add(
            PostDuplicate(
                post_id=twin if isinstance(twin, int) else twin.id,
                source_id=source_id,
                crawl_run_id=run_id,
                url=item["url"],
                canonical_url=item["canonical_url"],
                reason="content",
            )
        )
    return result


def save_batch_safely(
    *, session: Session, source_id: int, run_id: int | None, items: list[dict[str, Any]]
) -> BatchResult:
    """`save_batch` and commit; if another process stored some of them meanwhile, go one by one."""
    try:
        result = save_batch(session=session, source_id=source_id, run_id=run_id, items=items)
        session.commit()
        return result
    except IntegrityError:
        session.rollback()
    total = BatchResult()
    for item in items:
        try:
            one = save_batch(session=session, source_id=source_id, run_id=run_id, items=[item])
            session.commit()
        except IntegrityError:
            session.rollback()
            one = BatchResult(duplicate=1)
        total.new += one.new
        total.duplicate += one.duplicate
    return total


def start_run(*, session: Session, source: Source, trigger: str, node: str = "local") -> CrawlRun:
    """Open a crawl run in state running."""
    run = CrawlRun(source_id=source.id, trigger=trigger, node=node, started_at=utcnow())
    session.add(run)
    session.flush()
    return run


def finish_run(*, session: Session, run: CrawlRun, status: str, **fields: Any) -> CrawlRun:
    """Close a crawl run with its status and figures."""
    run.status = status
    run.finished_at = utcnow()
    for key, value in fields.items():
        setattr(run, key, value)
    return run


def last_runs(*, session: Session) -> dict[int, CrawlRun]:
    """The latest run of every source, by source id."""
    latest: dict[int, CrawlRun] = {}
    for run in session.scalars(select(CrawlRun).order_by(CrawlRun.started_at, CrawlRun.id)):
        latest[run.source_id] = run
    return latest


def failing_streak(*, session: Session, source_id: int, limit: int = 20) -> int:
    """How many of the source's latest runs failed in a row."""
    statuses = session.scalars(
        select(CrawlRun.status)
        .where(CrawlRun.source_id == source_id, CrawlRun.status != "running")
        .order_by(CrawlRun.started_at.desc(), CrawlRun.id.desc())
        .limit(limit)
    )
    streak = 0
    for status in statuses:
        if status != "failed":
            break
        streak += 1
    return streak


def posts_since(*, session: Session, since: dt.datetime | None) -> Any:
    """Posts fetched or published since a time (all when None), oldest first, streamed."""
    stmt = select(Post, Source.name).join(Source, Source.id == Post.source_id).order_by(Post.id)
    if since is not None:
        stmt = stmt.where((Post.published_at >= since) | (Post.fetched_at >= since))
    return session.execute(stmt.execution_options(yield_per=500))
