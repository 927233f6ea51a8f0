from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

import migrations.all_models  # noqa: F401
from core.db import Base, get_engine
from core.migrate import current_revision, head_revision


def test_database_is_at_head(settings):
    assert current_revision(get_engine(settings)) == head_revision()


def test_models_and_migrations_agree(settings):
    with get_engine(settings).connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == [], f"models differ from the migrations; add a migration: {diff}"
