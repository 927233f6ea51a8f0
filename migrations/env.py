"""Alembic environment: runs migrations on the engine of the yuqing settings."""

from __future__ import annotations

from alembic import context

import migrations.all_models  # noqa: F401  (registers every table on Base.metadata)
from core.db import Base, get_engine

target_metadata = Base.metadata


def run_migrations_online() -> None:
    """Run migrations on a live connection (the one passed in, or the settings' engine)."""
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    with get_engine().connect() as conn:
        _run(conn)
        conn.commit()


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `yuqing init`")
run_migrations_online()
