"""Shared fixtures: a fresh database per test (SQLite, or PostgreSQL when asked), factories."""

from __future__ import annotations

import os

# as the yuqing command does (core/cli.py): OpenBLAS threads slow model training on busy cores
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from core import config, db

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"
PG_URL = os.environ.get("YUQING_TEST_DATABASE_URL", "")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On a PostgreSQL run, skip the tests that never open the product database.

    Every test that touches a database gets one through the `settings` fixture; the others
    (parsers, text, plans, corpus checks, the demo on its own SQLite file) would only repeat
    the SQLite run, and CI runs both suites on one machine.
    """
    if not PG_URL:
        return
    skip = pytest.mark.skip(reason="no database in this test: the SQLite run covers it")
    for item in items:
        if "settings" not in getattr(item, "fixturenames", ()):
            item.add_marker(skip)


def shared_data(*parts: str) -> Path:
    """A path under ../shared/data; fails clearly when the shared data is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.fail(f"shared test data missing: {path} (CI always has ../shared/data)")
    return path


def _pg_admin_url() -> str:
    url = make_url(PG_URL)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return url.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def _template_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A database migrated to head once per session; each test gets a copy."""
    from core.migrate import upgrade

    if PG_URL:
        admin = create_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT")
        name = f"yq_tmpl_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(_pg_admin_url()).set(database=name).render_as_string(hide_password=False)
        engine = create_engine(url)
        upgrade(engine)
        engine.dispose()
        yield name
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    else:
        path = tmp_path_factory.mktemp("template") / "yuqing.db"
        engine = db.make_engine(config.Settings(database_url=f"sqlite:///{path}"))
        upgrade(engine)
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        engine.dispose()
        yield str(path)


@pytest.fixture
def settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, _template_db: str
) -> Iterator[config.Settings]:
    """Settings for a fresh data dir and a fresh database at head, also exported to env."""
    data_dir = tmp_path / "var"
    data_dir.mkdir()
    for key in list(os.environ):
        if key.startswith("YUQING_") and key != "YUQING_TEST_DATABASE_URL":
            monkeypatch.delenv(key)
    monkeypatch.setenv("YUQING_CONFIG", str(tmp_path / "no-such-yuqing.toml"))
    monkeypatch.setenv("YUQING_DATA_DIR", str(data_dir))
    monkeypatch.setenv("YUQING_MODEL_DIR", str(_model_dir()))
    pg_name = None
    if PG_URL:
        pg_name = f"yq_t_{uuid.uuid4().hex[:10]}"
        admin = create_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{pg_name}" TEMPLATE "{_template_db}"'))
        admin.dispose()
        url = make_url(_pg_admin_url()).set(database=pg_name)
        monkeypatch.setenv("YUQING_DATABASE_URL", url.render_as_string(hide_password=False))
    else:
        shutil.copy(_template_db, data_dir / "yuqing.db")
    config.get_settings.cache_clear()
    db.dispose_engines()
    yield config.get_settings()
    db.dispose_engines()
    config.get_settings.cache_clear()
    if pg_name:
        admin = create_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)'))
        admin.dispose()


def _model_dir() -> Path:
    """Models trained once per checkout for the test run, shared by every test."""
    return ROOT / ".pytest_cache" / "yuqing-models"


@pytest.fixture
def session(settings: config.Settings) -> Iterator[Session]:
    """A session on the test database; commits are real."""
    factory = db.session_factory(settings)
    with factory() as sess:
        yield sess


def run_yuqing(
    *args: str, input: str | None = None, env: dict[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """Run the real `yuqing` command in a subprocess with the test's environment."""
    exe = Path(sys.executable).parent / "yuqing"
    return subprocess.run(
        [str(exe), *args],
        input=input,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=timeout,
    )


@pytest.fixture
def yuqing(settings: config.Settings):  # type: ignore[no-untyped-def]
    """The `yuqing` command bound to the test's settings."""
    return run_yuqing
