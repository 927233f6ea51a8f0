"""Run a real scheduler for a few seconds with the stand-in jobs (what one `serve` would do)."""

from __future__ import annotations

import sys
import time

from api.scheduler.service import start_scheduler, stop_scheduler
from core.config import get_settings
from tests.scheduler.jobspecs import standin_specs


def main() -> None:
    seconds = float(sys.argv[1])
    settings = get_settings()
    scheduler = start_scheduler(settings, specs=standin_specs(settings))
    time.sleep(seconds)
    stop_scheduler(scheduler)


if __name__ == "__main__":
    main()
