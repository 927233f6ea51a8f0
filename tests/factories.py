"""Factories for the main rows; each returns a flushed object with sensible defaults."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
from typing import Any

from sqlalchemy.orm import Session

from alerts.models import Alert
from analysis.models import Analysis, Event
from core.db import utcnow
from core.models import User
from core.security import hash_password
from crawlers.models import CrawlRun, Post, Source

_seq = itertools.count(1)


def make_user(
    session: Session,
    *,
    name: str | None = None,
    role: str = "staff",
    password: str = "password123",
    **kw: Any,
) -> User:
    """A user with an argon2-hashed password."""
    user = User(
        name=name or f"user{next(_seq)}", role=role, password_hash=hash_password(password), **kw
    )
    session.add(user)
    session.flush()
    return user


def make_source(
    session: Session, *, name: str | None = None, kind: str = "html", **kw: Any
) -> Source:
    """A source row."""
    source = Source(
        name=name or f"source{next(_seq)}", kind=kind, url=kw.pop("url", "http://127.0.0.1/"), **kw
    )
    session.add(source)
    session.flush()
    return source


def make_run(session: Session, *, source: Source, status: str = "ok", **kw: Any) -> CrawlRun:
    """A finished crawl run of a source."""
    run = CrawlRun(
        source_id=source.id, status=status, finished_at=kw.pop("finished_at", utcnow()), **kw
    )
    session.add(run)
    session.flush()
    return run


def make_post(
    session: Session,
    *,
    source: Source | None = None,
    title: str = "",
    text: str = "示例帖子",
    published_at: dt.datetime | None = None,
    **kw: Any,
) -> Post:
    """A post with a unique URL and a content hash of its text."""
    source = source or make_source(session)
    n = next(_seq)
    url = kw.pop("url", f"http://127.0.0.1/post/{n}")
    post = Post(
        source_id=source.id,
        url=url,
        canonical_url=kw.pop("canonical_url", url),
        title=title,
        raw_text=text,
        normalized_text=kw.pop("normalized_text", text),
        published_at=published_at or utcnow(),
        content_hash=kw.pop(
            "content_hash", hashlib.sha256(f"{title}\n{text}".encode()).hexdigest()
        ),
        **kw,
    )
    session.add(post)
    session.flush()
    return post


def make_event(session: Session, **kw: Any) -> Event:
    """An event row."""
    event = Event(title=kw.pop("title", "示例事件"), **kw)
    session.add(event)
    session.flush()
    return event


def make_analysis(
    session: Session,
    *,
    post: Post,
    relevant: bool = True,
    sentiment: str = "negative",
    topics: list[str] | None = None,
    **kw: Any,
) -> Analysis:
    """An analysis of a post."""
    analysis = Analysis(
        post_id=post.id,
        model_version=kw.pop("model_version", "test"),
        relevant=relevant,
        relevance_proba=kw.pop("relevance_proba", 0.9 if relevant else 0.1),
        topics=topics if topics is not None else (["registration"] if relevant else []),
        sentiment=sentiment,
        sentiment_proba=kw.pop("sentiment_proba", {sentiment: 0.8}),
        **kw,
    )
    session.add(analysis)
    session.flush()
    return analysis


def make_alert(
    session: Session, *, severity: str = "yellow", state: str = "new", **kw: Any
) -> Alert:
    """An alert row."""
    alert = Alert(
        dedup_key=kw.pop("dedup_key", f"test:{next(_seq)}"),
        rule=kw.pop("rule", "local_negative"),
        severity=severity,
        state=state,
        title=kw.pop("title", "示例告警"),
        **kw,
    )
    session.add(alert)
    session.flush()
    return alert
