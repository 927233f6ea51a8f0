from sqlalchemy import select

from core.db import get_engine
from core.migrate import current_revision, head_revision
from core.models import ApiToken, User
from core.security import hash_token


def test_init_twice_succeeds_and_stays_at_head(yuqing, settings):
    first = yuqing("init", "--skip-model")
    assert first.returncode == 0, first.stderr
    second = yuqing("init", "--skip-model")
    assert second.returncode == 0, second.stderr
    assert "已是最新" in second.stdout
    assert current_revision(get_engine(settings)) == head_revision()


def test_init_on_empty_data_dir_creates_schema(yuqing, settings, tmp_path, monkeypatch):
    if settings.db_url.startswith("postgresql"):
        return
    fresh = tmp_path / "fresh"
    result = yuqing("init", "--skip-model", env={"YUQING_DATA_DIR": str(fresh)})
    assert result.returncode == 0, result.stderr
    assert (fresh / "yuqing.db").is_file()


def test_user_add_stores_an_argon2_hash(yuqing, session):
    result = yuqing("user", "add", "wang", "--role", "staff", input="s3cret-pass\n")
    assert result.returncode == 0, result.stderr
    user = session.scalar(select(User).where(User.name == "wang"))
    assert user.role == "staff"
    assert user.password_hash.startswith("$argon2id$")
    assert "s3cret-pass" not in user.password_hash


def test_duplicate_user_is_a_one_line_error(yuqing, settings):
    assert yuqing("user", "add", "li", "--role", "admin", input="password-1\n").returncode == 0
    result = yuqing("user", "add", "li", "--role", "admin", input="password-1\n")
    assert result.returncode != 0
    assert "already exists" in result.stderr
    assert "Traceback" not in result.stderr


def test_short_password_and_bad_role_are_refused(yuqing, settings):
    short = yuqing("user", "add", "zhao", input="abc\n")
    assert short.returncode != 0 and "too short" in short.stderr
    role = yuqing("user", "add", "zhao", "--role", "boss", input="password-1\n")
    assert role.returncode != 0 and "Traceback" not in role.stderr


def test_user_list_shows_users(yuqing, settings):
    yuqing("user", "add", "chen", "--role", "admin", input="password-1\n")
    result = yuqing("user", "list")
    assert result.returncode == 0
    assert "chen" in result.stdout and "admin" in result.stdout


def test_token_create_prints_token_last_and_stores_only_hash(yuqing, session):
    yuqing("user", "add", "sun", input="password-1\n")
    result = yuqing("token", "create", "sun")
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip().splitlines()[-1]
    assert token.startswith("yq_") and len(token) > 30
    row = session.scalar(select(ApiToken))
    assert row.token_hash == hash_token(token)
    assert token not in row.token_hash


def test_token_for_unknown_user_fails(yuqing, settings):
    result = yuqing("token", "create", "nobody")
    assert result.returncode != 0 and "no user" in result.stderr


def test_version(yuqing, settings):
    result = yuqing("--version")
    assert result.returncode == 0 and "yuqing" in result.stdout


def test_bad_database_url_is_a_one_line_error(yuqing, settings):
    result = yuqing("init", env={"YUQING_DATABASE_URL": "mysql://nobody@localhost/x"})
    assert result.returncode != 0
    assert "YUQING_DATABASE_URL" in result.stderr and "Traceback" not in result.stderr


def test_unreachable_database_is_a_one_line_error(yuqing, settings):
    result = yuqing("init", env={"YUQING_DATABASE_URL": "postgresql://u:pw@127.0.0.1:9/none"})
    assert result.returncode != 0
    assert "cannot reach the database" in result.stderr
    assert "pw@" not in result.stderr and "Traceback" not in result.stderr


def test_placeholder_secret_key_is_refused(yuqing, settings):
    result = yuqing("user", "list", env={"YUQING_SECRET_KEY": "changeme"})
    assert result.returncode != 0 and "placeholder" in result.stderr
