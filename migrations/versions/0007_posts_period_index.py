"""posts: one (published_at, fetched_at) index covers the report's period filter

The monthly report counts a post on its publication time, else its fetch time. Over 1,000,000
posts the old single-column index on published_at made SQLite read every matching post row just
to get fetched_at; with both columns in one index the period scan never touches the table.

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_posts_published_fetched", "posts", ["published_at", "fetched_at"])
    op.drop_index("ix_posts_published_at", table_name="posts")


def downgrade() -> None:
    op.create_index("ix_posts_published_at", "posts", ["published_at"])
    op.drop_index("ix_posts_published_fetched", table_name="posts")
