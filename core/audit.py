"""The generic audit log: every change staff or the system make, with before and after."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from core.db import utcnow
from core.models import AuditLog, User


def record(
    *,
    session: Session,
    action: str,
    entity_type: str,
    entity_id: int | None,
    user: User | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    message: str = "",
) -> AuditLog:
    """Append one audit entry (flushed with the caller's transaction)."""
    entry = AuditLog(
        at=utcnow(),
        user_id=user.id if user else None,
        actor=user.name if user else "system",
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        before=before,
        after=after,
        message=message,
    )
    session.add(entry)
    return entry
