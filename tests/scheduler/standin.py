"""Stand-in jobs registered through the scheduler's own registry: they record each run."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from api.scheduler.jobs import register
from core.config import Settings


def _log_path(settings: Settings) -> Path:
    return Path(os.environ.get("STANDIN_LOG", settings.data_dir / "standin.log"))


def record(arg: str, settings: Settings, now: dt.datetime) -> None:
    """Append one line per run, so tests can count runs across processes."""
    with _log_path(settings).open("a") as fh:
        fh.write(f"{arg} {os.getpid()} {now.isoformat()}\n")


def explode(arg: str, settings: Settings, now: dt.datetime) -> None:
    """A job that always fails."""
    raise RuntimeError(f"stand-in failure {arg}")


def runs(settings: Settings) -> list[str]:
    """The lines written so far."""
    path = _log_path(settings)
    return path.read_text().splitlines() if path.exists() else []


register("standin", record, ttl=dt.timedelta(minutes=5), label="测试任务")
register("explode", explode, ttl=dt.timedelta(minutes=5), label="失败的测试任务")
