from pathlib import Path

import pytest

from core.config import ConfigError, Settings, load_settings

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_setting_is_in_the_readme_table():
    readme = README.read_text(encoding="utf-8")
    missing = [
        f"YUQING_{name.upper()}"
        for name in Settings.model_fields
        if f"`YUQING_{name.upper()}`" not in readme
    ]
    assert not missing, f"settings missing from the README table: {missing}"


def test_defaults(settings):
    assert settings.timezone == "Asia/Shanghai"
    assert settings.smtp_port == 25


def test_default_database_is_sqlite_in_data_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("YUQING_DATABASE_URL", raising=False)
    s = load_settings(data_dir=tmp_path)
    assert s.db_url == f"sqlite:///{tmp_path.resolve()}/yuqing.db"


def test_placeholder_secret_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="placeholder"):
        load_settings(data_dir=tmp_path, secret_key="changeme")


def test_secret_is_generated_once_and_kept(tmp_path):
    s = load_settings(data_dir=tmp_path)
    first = s.secret()
    assert len(first) >= 32
    assert (tmp_path / "secret_key").read_text().strip() == first
    assert load_settings(data_dir=tmp_path).secret() == first


def test_recipients_are_comma_separated(monkeypatch, tmp_path):
    monkeypatch.setenv("YUQING_REPORT_RECIPIENTS", "a@example.org, b@example.org")
    assert load_settings(data_dir=tmp_path).report_recipients == ["a@example.org", "b@example.org"]


def test_bad_recipient_names_the_variable(monkeypatch, tmp_path):
    monkeypatch.setenv("YUQING_REPORT_RECIPIENTS", "not-an-address")
    with pytest.raises(ConfigError, match="YUQING_REPORT_RECIPIENTS"):
        load_settings(data_dir=tmp_path)


def test_toml_file_is_read_and_env_wins(monkeypatch, tmp_path):
    cfg = tmp_path / "yuqing.toml"
    cfg.write_text('timezone = "Asia/Hong_Kong"\nsmtp_port = 2525\n')
    monkeypatch.setenv("YUQING_CONFIG", str(cfg))
    monkeypatch.setenv("YUQING_SMTP_PORT", "587")
    s = load_settings(data_dir=tmp_path)
    assert s.timezone == "Asia/Hong_Kong"
    assert s.smtp_port == 587


def test_broken_toml_is_a_clear_error(monkeypatch, tmp_path):
    cfg = tmp_path / "yuqing.toml"
    cfg.write_text("timezone = \n")
    monkeypatch.setenv("YUQING_CONFIG", str(cfg))
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings()


def test_unknown_timezone_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="YUQING_TIMEZONE"):
        load_settings(data_dir=tmp_path, timezone="Mars/Olympus")
