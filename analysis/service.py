"""Analysing stored posts: labels, near-duplicates (MinHash-LSH) and event grouping."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

import click
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from analysis.models import Analysis, Event
from core.config import Settings, get_settings
from core.db import session_scope
from crawlers.models import Post

NUM_PERM = 64
LSH_THRESHOLD = 0.5  # candidates: estimated Jaccard of character 4-gram shingles above this
DUPLICATE_JACCARD = 0.8  # a near-duplicate of an earlier post
SIMILAR_JACCARD = 0.5  # similar enough to share an event
_NOISE_RE = re.compile(r"[\s\W_]+")


def shingles(text: str, k: int = 4) -> set[bytes]:
    """Character k-grams of a text with spaces and punctuation removed."""
    clean = _NOISE_RE.sub("", text)
    if len(clean) <= k:
        return {clean.encode()} if clean else set()
    return {clean[i : i + k].encode() for i in range(len(clean) - k + 1)}


def minhash(text: str) -> Any:
    """The MinHash of a text's shingles."""
    from datasketch import MinHash

    m = MinHash(num_perm=NUM_PERM, seed=1)
    sh = shingles(text)
    if sh:
        m.update_batch(list(sh))
    return m


@dataclass
class _Seen:
    post_id: int
    when: dt.datetime
    event_id: int | None
    minhash: Any


@dataclass
class _Matter:
    """What a complaint event is about: where, which topics, which plan terms; and when."""

    places: set[str]
    topics: set[str]
    terms: set[str]
    last_seen: dt.datetime


# too broad to tell one matter from another: the city, and words every relevant post uses
BROAD_PLACES = frozenset({"深圳"})
BROAD_TERMS = frozenset({"生育", "计生", "计划生育"})


def matter_of(analysis: Analysis) -> tuple[set[str], set[str], set[str]]:
    """Specific places, topics and subject/event plan terms of an analysed post."""
    matched = analysis.matched_terms or {}
    terms = {*matched.get("subject", []), *matched.get("event", [])} - BROAD_TERMS
    places = set(matched.get("place", [])) - BROAD_PLACES
    return places, set(analysis.topics or []), terms


class EventGrouper:
    """Assigns posts to events within the event time window.

    Two ways into an event: near-identical wording (MinHash-LSH over character shingles), or, for
    complaints, the same matter told in other words: the same place, a shared topic and a shared
    plan term (parents writing separately about one stuck subsidy at one sub-district office).
    """

    def __init__(self, settings: Settings) -> None:
        from datasketch import MinHashLSH

        self.window = dt.timedelta(hours=settings.event_window_hours)
        self.lsh = MinHashLSH(threshold=LSH_THRESHOLD, num_perm=NUM_PERM)
        self.seen: dict[int, _Seen] = {}
        self.matters: dict[int, _Matter] = {}

    def note_matter(self, event: Event, analysis: Analysis, when: dt.datetime) -> None:
        """Remember what a complaint event is about, for later posts on the same matter."""
        places, topics, terms = matter_of(analysis)
        if not places or not terms:
            return
        matter = self.matters.get(event.id)
        if matter is None:
            self.matters[event.id] = _Matter(places, topics, terms, when)
        else:
            matter.places |= places
            matter.topics |= topics
            matter.terms |= terms
            matter.last_seen = max(matter.last_seen, when)

    def same_matter(self, analysis: Analysis, when: dt.datetime) -> int | None:
        """The open complaint event this negative relevant post is about, if any."""
        if not (analysis.relevant and analysis.sentiment == "negative"):
            return None
        places, topics, terms = matter_of(analysis)
        if not places or not terms:
            return None
        best: tuple[int, int] | None = None
        for event_id, m in self.matters.items():
            if abs(when - m.last_seen) > self.window:
                continue
            if places & m.places and topics & m.topics and terms & m.terms:
                score = len(terms & m.terms) + len(topics & m.topics)
                if best is None or score > best[1]:
                    best = (event_id, score)
        return best[0] if best else None

    def add(self, post_id: int, when: dt.datetime, event_id: int | None, mh: Any) -> None:
        """Index a post for later lookups."""
        key = str(post_id)
        if post_id in self.seen:
            self.seen[post_id].event_id = event_id
            return
        self.seen[post_id] = _Seen(post_id, when, event_id, mh)
        self.lsh.insert(key, mh)

    def best_match(self, post_id: int, when: dt.datetime, mh: Any) -> tuple[_Seen, float] | None:
        """The most similar earlier-indexed post within the window, with its estimated Jaccard."""
        best: tuple[_Seen, float] | None = None
        for key in self.lsh.query(mh):
            other = self.seen[int(key)]
            if other.post_id == post_id or abs(other.when - when) > self.window:
                continue
            score = mh.jaccard(other.minhash)
            if (
                best is None
                or score > best[1]
                or (score == best[1] and other.post_id < best[0].post_id)
            ):
                best = (other, score)
        return best

    def seed(self, *, session: Session, since: dt.datetime) -> None:
        """Index already analysed posts from the window before the pending ones."""
        rows = session.execute(
            select(
                Post.id,
                Post.title,
                Post.normalized_text,
                Post.published_at,
                Post.fetched_at,
                Analysis.event_id,
            )
            .join(Analysis, Analysis.post_id == Post.id)
            .where(or_(Post.published_at >= since, Post.fetched_at >= since))
        ).all()
        for pid, title, text, published, fetched, event_id in rows:
            self.add(pid, published or fetched, event_id, minhash(f"{title}\n{text}"))
        complaints = session.execute(
            select(Event, Analysis)
            .join(Analysis, Analysis.event_id == Event.id)
            .where(Event.last_seen >= since, Analysis.relevant, Analysis.sentiment == "negative")
        ).all()
        for event, analysis in complaints:
            self.note_matter(event, analysis, event.last_seen)


def _post_time(post: Post) -> dt.datetime:
    return post.published_at or post.fetched_at


def _event_title(post: Post) -> str:
    title = (post.title or "").strip()
    if title:
        return title[:200]
    text = (post.normalized_text or post.raw_text or "").strip().replace("\n", " ")
    return text[:40] + ("…" if len(text) > 40 else "")


def _count(event: Event, analysis: Analysis, sign: int) -> None:
    event.post_count += sign
    event.negative_count += sign * int(analysis.sentiment == "negative")
    event.relevant_count += sign * int(analysis.relevant)


def _group(
    *,
    session: Session,
    grouper: EventGrouper,
    post: Post,
    analysis: Analysis,
    previous_event: int | None,
) -> None:
    when = _post_time(post)
    mh = minhash(f"{post.title}\n{post.normalized_text}")
    match = grouper.best_match(post.id, when, mh)
    analysis.duplicate_of = None
    if match is not None and match[1] >= DUPLICATE_JACCARD and match[0].post_id < post.id:
        analysis.duplicate_of = match[0].post_id
    event: Event | None = None
    if previous_event is not None:
        event = session.get(Event, previous_event)  # re-analysis keeps the post's event
    elif match is not None and match[1] >= SIMILAR_JACCARD and match[0].event_id is not None:
        event = session.get(Event, match[0].event_id)
    else:
        same = grouper.same_matter(analysis, when)
        if same is not None:
            event = session.get(Event, same)
    if event is None and analysis.relevant:
        event = Event(
            title=_event_title(post),
            first_seen=when,
            last_seen=when,
            post_count=0,
            negative_count=0,
            relevant_count=0,
            topics=[],
            signature={"first_post": post.id, "num_perm": NUM_PERM},
        )
        session.add(event)
        session.flush()
    if event is not None:
        _count(event, analysis, +1)
        event.first_seen = min(event.first_seen, when)
        event.last_seen = max(event.last_seen, when)
        if analysis.relevant:
            event.topics = list(dict.fromkeys([*(event.topics or []), *analysis.topics]))
            if analysis.sentiment == "negative":
                grouper.note_matter(event, analysis, when)
                if not (event.signature or {}).get("titled_by_complaint"):
                    # staff read the event by its title: name it after its first complaint
                    event.title = _event_title(post)
                    event.signature = {**(event.signature or {}), "titled_by_complaint": True}
    analysis.event_id = event.id if event is not None else None
    grouper.add(post.id, when, analysis.event_id, mh)


def _pending_query(version: str, after_id: int, limit: int) -> Any:
    return (
        select(Post, Analysis)
        .outerjoin(Analysis, Analysis.post_id == Post.id)
        .where(or_(Analysis.id.is_(None), Analysis.model_version != version), Post.id > after_id)
        .order_by(Post.id)
        .limit(limit)
    )


def analyze_pending(
    *, settings: Settings | None = None, batch_size: int = 500, echo: bool = False
) -> int:
    """Analyse posts not yet analysed under the current model, in batches; returns the count."""
    from sqlalchemy import func

    from analysis.classifier import load_model, prepare
    from analysis.plans import load_plans
    from analysis.setup import plans_from_db

    settings = settings or get_settings()
    model = load_model(settings.models_dir)
    version = model.version
    with session_scope(settings) as session:
        plans = plans_from_db(session=session) or load_plans()
        pending_total = (
            session.scalar(
                select(func.count(Post.id))
                .outerjoin(Analysis, Analysis.post_id == Post.id)
                .where(or_(Analysis.id.is_(None), Analysis.model_version != version))
            )
            or 0
        )
        earliest = session.scalar(
            select(func.min(func.coalesce(Post.published_at, Post.fetched_at)))
            .outerjoin(Analysis, Analysis.post_id == Post.id)
            .where(or_(Analysis.id.is_(None), Analysis.model_version != version))
        )
        grouper = EventGrouper(settings)
        if earliest is not None:
            if earliest.tzinfo is None:
                earliest = earliest.replace(tzinfo=dt.UTC)
            grouper.seed(session=session, since=earliest - grouper.window)
    if not pending_total:
        return 0
    model.plans = plans
    done = 0
    last_id = 0
    bar = (
        click.progressbar(length=pending_total, label="analysing posts", file=None)
        if echo
        else None
    )
    try:
        while True:
            with session_scope(settings) as session:
                rows = session.execute(_pending_query(version, last_id, batch_size)).all()
                if not rows:
                    break
                prepared = [prepare(p.title, p.raw_text or p.normalized_text) for p, _ in rows]
                results = model.predict(prepared)
                for (post, analysis), r in zip(rows, results, strict=True):
                    previous_event = None
                    if analysis is None:
                        analysis = Analysis(post_id=post.id)
                        session.add(analysis)
                    elif analysis.event_id is not None:
                        previous_event = analysis.event_id
                        event = session.get(Event, previous_event)
                        if event is not None:
                            _count(event, analysis, -1)
                    post.normalized_text = r["normalized_text"]
                    analysis.model_version = version
                    analysis.analysed_at = dt.datetime.now(dt.UTC)
                    analysis.relevant = r["relevant"]
                    analysis.relevance_proba = r["relevance_proba"]
                    analysis.topics = r["topics"]
                    analysis.topic_proba = r["topic_proba"]
                    analysis.sentiment = r["sentiment"]
                    analysis.sentiment_proba = r["sentiment_proba"]
                    analysis.matched_terms = r["matched_terms"]
                    analysis.explanation = {
                        **r["explanation"],
                        "alert": {"worthy": r["alert"], "proba": r["alert_proba"]},
                    }
                    session.flush()
                    _group(
                        session=session,
                        grouper=grouper,
                        post=post,
                        analysis=analysis,
                        previous_event=previous_event,
                    )
                done += len(rows)
                last_id = rows[-1][0].id
            if bar is not None:
                bar.update(len(rows))
    finally:
        if bar is not None:
            bar.render_finish()
    return done
