"""`yuqing init` steps: default taxonomy and plans into the database, the model if missing."""

from __future__ import annotations

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from analysis.models import MonitoringPlan, Topic
from analysis.plans import Plan, load_plans, plan_from_dict
from analysis.taxonomy import read_taxonomy
from core.db import session_scope


def sync_topics(*, session: Session) -> tuple[int, int]:
    """Insert or update the taxonomy's topics; returns (added, updated)."""
    added = updated = 0
    existing = {t.code: t for t in session.scalars(select(Topic))}
    for position, entry in enumerate(read_taxonomy()):
        topic = existing.get(entry["code"])
        if topic is None:
            session.add(
                Topic(
                    code=entry["code"],
                    label=entry["label"],
                    description=entry["description"],
                    position=position,
                )
            )
            added += 1
        elif (topic.label, topic.description, topic.position) != (
            entry["label"],
            entry["description"],
            position,
        ):
            topic.label, topic.description, topic.position = (
                entry["label"],
                entry["description"],
                position,
            )
            updated += 1
    return added, updated


def add_default_plans(*, session: Session) -> int:
    """Insert the default plans not yet in the database (an edited plan is left alone)."""
    names = set(session.scalars(select(MonitoringPlan.name)))
    added = 0
    for plan in load_plans():
        if plan.name in names:
            continue
        session.add(
            MonitoringPlan(
                name=plan.name,
                enabled=plan.enabled,
                place_words=plan.place_words,
                subject_words=plan.subject_words,
                event_words=plan.event_words,
                exclude_words=plan.exclude_words,
                expression=plan.expression,
            )
        )
        added += 1
    return added


def plans_from_db(*, session: Session) -> list[Plan]:
    """The enabled monitoring plans stored in the database, parsed."""
    rows = session.scalars(select(MonitoringPlan).order_by(MonitoringPlan.id)).all()
    return [
        plan_from_dict(
            {
                "name": r.name,
                "enabled": r.enabled,
                "place_words": list(r.place_words or []),
                "subject_words": list(r.subject_words or []),
                "event_words": list(r.event_words or []),
                "exclude_words": list(r.exclude_words or []),
                "expression": r.expression or "",
            },
            where="monitoring plan",
        )
        for r in rows
    ]


def load_defaults(*, echo: bool = True) -> None:
    """Load the default taxonomy and monitoring plans into the database (idempotent)."""
    with session_scope() as session:
        added, updated = sync_topics(session=session)
        plans = add_default_plans(session=session)
    if echo:
        click.echo(f"话题分类: {added} added, {updated} updated; 监测方案: {plans} added")


def ensure_model(*, echo: bool = True) -> None:
    """Train the model from the project's corpus if none is saved yet."""
    from analysis.classifier import current_model_path
    from core.config import get_settings

    settings = get_settings()
    path = current_model_path(settings.models_dir)
    if path is not None:
        if echo:
            click.echo(f"模型已存在 (model {path.name})")
        return
    from analysis import training as T

    examples = T.read_jsonl_examples(T.corpus_files()) + T.corrections_examples(settings)
    if echo:
        click.echo(f"training the model on {len(examples)} posts (first run only)…")
    model = T.train_and_save(examples, settings.models_dir, extra_meta={})
    if echo:
        click.echo(f"模型已训练 (model {model.version})")
