"""One validated settings object, read from YUQING_* environment variables and yuqing.toml."""

from __future__ import annotations

import os
import secrets
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

PLACEHOLDER_SECRETS = {"changeme", "change-me", "secret", "changethis", "please-change", "xxx"}
SEVERITIES = ("red", "orange", "yellow", "blue")


class ConfigError(Exception):
    """Settings are invalid; the message says which one and why."""


def _config_file() -> Path:
    return Path(os.environ.get("YUQING_CONFIG", "yuqing.toml"))


def _split_csv(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


CsvList = Annotated[list[str], NoDecode]


class Settings(BaseSettings):
    """Every setting of the product; documented one by one in the README."""

    model_config = SettingsConfigDict(env_prefix="YUQING_", extra="ignore", validate_default=True)

    data_dir: Path = Field(Path("var"), description="where the database, models and caches live")
    database_url: str = Field("", description="SQLAlchemy URL; empty means SQLite in data_dir")
    db_pool_size: int = Field(5, ge=1, description="PostgreSQL connection pool size")
    db_max_overflow: int = Field(10, ge=0, description="PostgreSQL connections beyond the pool")
    secret_key: SecretStr = Field(SecretStr(""), description="signs session cookies")
    timezone: str = Field("Asia/Shanghai", description="office timezone for dates and schedules")
    base_url: str = Field("http://127.0.0.1:8000", description="public address used in email links")
    log_level: str = Field("INFO", description="logging level")

    smtp_host: str = Field("", description="SMTP server; empty disables sending")
    smtp_port: int = Field(25, ge=1, le=65535)
    smtp_user: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_starttls: bool = False
    smtp_from: str = "yuqing@localhost"
    smtp_timeout: float = Field(20.0, gt=0)
    report_recipients: CsvList = Field(default_factory=list)
    alert_recipients: CsvList = Field(default_factory=list)

    model_dir: Path | None = Field(None, description="trained models; default data_dir/models")
    sources_file: Path = Field(Path("sources.toml"), description="crawler sources file")
    crawl_timeout: int = Field(1800, ge=10, description="seconds one crawl subprocess may run")
    scrapyd_urls: CsvList = Field(default_factory=list)

    retention_days: int = Field(730, ge=1)
    digest_hour: int = Field(8, ge=0, le=23)
    due_hours_red: float = Field(2, gt=0)
    due_hours_orange: float = Field(8, gt=0)
    due_hours_yellow: float = Field(24, gt=0)
    due_hours_blue: float = Field(72, gt=0)
    notify_repeat_hours: float = Field(6, gt=0)
    event_window_hours: float = Field(72, gt=0)
    event_growth_count: int = Field(5, ge=2)
    spike_window_hours: float = Field(24, gt=0)
    spike_baseline_days: int = Field(14, ge=1)
    spike_min_count: int = Field(5, ge=1)
    spike_p_value: float = Field(0.001, gt=0, lt=1)
    silence_factor: float = Field(4.0, gt=1)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = _config_file()
        if path.is_file():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)

    @field_validator("report_recipients", "alert_recipients", "scrapyd_urls", mode="before")
    @classmethod
    def _csv(cls, value: Any) -> Any:
        return _split_csv(value)

    @field_validator("report_recipients", "alert_recipients")
    @classmethod
    def _emails(cls, value: list[str]) -> list[str]:
        for address in value:
            if "@" not in address or " " in address:
                raise ValueError(f"not an email address: {address!r}")
        return value

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {value!r}") from exc
        return value

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
        return level

    @field_validator("database_url")
    @classmethod
    def _db_url(cls, value: str) -> str:
        if value and not value.startswith(("sqlite", "postgresql")):
            raise ValueError("must start with sqlite:// or postgresql://")
        return value

    @model_validator(mode="after")
    def _secret(self) -> Settings:
        secret = self.secret_key.get_secret_value()
        if secret and (secret.lower() in PLACEHOLDER_SECRETS or len(secret) < 16):
            raise ValueError(
                "secret_key: a placeholder or a key shorter than 16 characters is refused; "
                "unset it to have one generated"
            )
        return self

    @property
    def tz(self) -> ZoneInfo:
        """The office timezone."""
        return ZoneInfo(self.timezone)

    @property
    def db_url(self) -> str:
        """The database URL, defaulting to SQLite inside the data dir."""
        if self.database_url:
            url = self.database_url
            if url.startswith("postgresql://"):
                url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
            return url
        return f"sqlite:///{(self.data_dir / 'yuqing.db').resolve()}"

    @property
    def models_dir(self) -> Path:
        """Where trained models are saved."""
        return self.model_dir or self.data_dir / "models"

    def due_hours(self, severity: str) -> float:
        """Hours staff have to handle an alert of this severity."""
        return float(getattr(self, f"due_hours_{severity}"))

    def secret(self) -> str:
        """The secret key; generated and stored in the data dir on first use if unset."""
        value = self.secret_key.get_secret_value()
        if value:
            return value
        path = self.data_dir / "secret_key"
        if path.is_file():
            stored = path.read_text().strip()
            if stored:
                return stored
        self.data_dir.mkdir(parents=True, exist_ok=True)
        value = secrets.token_urlsafe(48)
        path.write_text(value + "\n")
        path.chmod(0o600)
        return value


def describe_validation_error(exc: ValidationError) -> str:
    """One readable line per invalid setting."""
    lines = []
    for err in exc.errors():
        name = ".".join(str(p) for p in err["loc"]) or "settings"
        env = f"YUQING_{name.upper()}" if err["loc"] else "settings"
        lines.append(f"{env}: {err['msg']}")
    return "; ".join(lines)


def load_settings(**overrides: Any) -> Settings:
    """Build settings from the environment and yuqing.toml, raising ConfigError if invalid."""
    path = _config_file()
    if path.is_file():
        try:
            tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc)) from exc


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (cached; tests clear the cache)."""
    return load_settings()
