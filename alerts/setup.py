"""`yuqing init` step: load the default alert rules (idempotent; admin edits are kept)."""

from __future__ import annotations

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.models import AlertRule
from alerts.rules import DEFAULT_RULES_FILE, load_rules_file
from core.db import session_scope


def insert_default_rules(*, session: Session) -> int:
    """Add the default rules whose code is not in the table yet; returns how many were added."""
    existing = set(session.scalars(select(AlertRule.code)))
    added = 0
    for spec in load_rules_file(DEFAULT_RULES_FILE):
        if spec.code in existing:
            continue
        session.add(
            AlertRule(
                code=spec.code,
                kind=spec.kind,
                name=spec.name,
                severity=spec.severity,
                enabled=True,
                params=dict(spec.params),
                reason=spec.reason,
            )
        )
        added += 1
    session.flush()
    return added


def load_defaults(*, echo: bool = True) -> None:
    """Load the default alert rules into the alert_rules table."""
    with session_scope() as session:
        added = insert_default_rules(session=session)
        total = len(session.scalars(select(AlertRule.id)).all())
    if echo:
        click.echo(f"告警规则：新增 {added} 条，共 {total} 条 (alert rules)")
