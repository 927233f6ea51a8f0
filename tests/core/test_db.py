import datetime as dt

import pytest
from sqlalchemy import select, text

from core.db import get_engine, session_scope
from core.models import User
from tests.factories import make_user


def test_sqlite_runs_in_wal_mode_with_foreign_keys(settings):
    engine = get_engine(settings)
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite-specific")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_session_scope_commits(settings):
    with session_scope() as session:
        make_user(session, name="kept")
    with session_scope() as session:
        assert session.scalar(select(User.name)) == "kept"


def test_session_scope_rolls_back_on_error(settings):
    with pytest.raises(RuntimeError), session_scope() as session:
        make_user(session, name="lost")
        raise RuntimeError("boom")
    with session_scope() as session:
        assert session.scalar(select(User).where(User.name == "lost")) is None


def test_datetimes_come_back_aware_utc(session):
    when = dt.datetime(2026, 11, 3, 10, 20, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    user = make_user(session, last_login_at=when)
    session.commit()
    session.expire_all()
    loaded = session.get(User, user.id)
    assert loaded.last_login_at == when
    assert loaded.last_login_at.utcoffset() == dt.timedelta(0)
