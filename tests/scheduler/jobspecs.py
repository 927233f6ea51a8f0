"""The stand-in job specs both the test and its scheduler subprocesses use."""

from __future__ import annotations

import datetime as dt

from api.scheduler.service import JobSpec, _interval
from core.config import Settings
from tests.scheduler import standin  # noqa: F401  (registers the stand-in kinds)


def standin_specs(settings: Settings) -> list[JobSpec]:
    """An hourly stand-in job and an hourly failing one."""
    return [
        JobSpec("standin:hourly", _interval(60, settings), dt.timedelta(minutes=30)),
        JobSpec("explode:hourly", _interval(60, settings), dt.timedelta(minutes=30)),
    ]
