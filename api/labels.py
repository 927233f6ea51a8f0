"""Staff label corrections: recorded for retraining and applied to the post's analysis."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from analysis.models import SENTIMENTS, Analysis, LabelCorrection
from core import audit
from core.errors import UserError
from core.models import User
from crawlers.models import Post


def correct_labels(
    *,
    session: Session,
    post: Post,
    user: User,
    sentiment: str | None,
    topics: list[str] | None,
    relevant: bool | None,
    known_topics: set[str],
    note: str = "",
    origin: str = "web",
) -> LabelCorrection:
    """Record a correction (joins the training data) and show it on the post at once."""
    if sentiment is not None and sentiment not in SENTIMENTS:
        raise UserError(f"情感标签无效 (sentiment must be one of {', '.join(SENTIMENTS)})")
    if topics is not None:
        unknown = [t for t in topics if t not in known_topics]
        if unknown:
            raise UserError(f"未知的业务分类 (unknown topics): {', '.join(unknown[:5])}")
        topics = list(dict.fromkeys(topics))
    if sentiment is None and topics is None and relevant is None:
        raise UserError("没有要更正的标签 (nothing to correct)")
    correction = LabelCorrection(
        post_id=post.id,
        user_id=user.id,
        origin=origin,
        title=post.title,
        text=post.raw_text,
        relevant=relevant,
        topics=topics,
        sentiment=sentiment,
        note=note,
    )
    session.add(correction)
    analysis = session.scalar(select(Analysis).where(Analysis.post_id == post.id))
    before = None
    if analysis is not None:
        before = {
            "sentiment": analysis.sentiment,
            "topics": analysis.topics,
            "relevant": analysis.relevant,
        }
        if sentiment is not None:
            analysis.sentiment = sentiment
        if topics is not None:
            analysis.topics = topics
        if relevant is not None:
            analysis.relevant = relevant
    session.flush()
    audit.record(
        session=session,
        user=user,
        action="post.labels",
        entity_type="post",
        entity_id=post.id,
        before=before,
        after={"sentiment": sentiment, "topics": topics, "relevant": relevant},
        message=note,
    )
    return correction


def corrected_post_ids(session: Session, post_ids: list[int]) -> set[int]:
    """Which of these posts staff have corrected."""
    if not post_ids:
        return set()
    return set(
        session.scalars(
            select(LabelCorrection.post_id).where(LabelCorrection.post_id.in_(post_ids))
        )
    )
