"""A real APScheduler on the test database: missed runs coalesce, two processes run a job once."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

from api.scheduler.service import create_scheduler, sync_jobs
from core.db import dispose_engines, utcnow
from tests.conftest import ROOT
from tests.scheduler import standin
from tests.scheduler.jobspecs import standin_specs


def _store_missed_jobs(settings) -> None:
    scheduler = create_scheduler(settings)
    scheduler.start(paused=True)
    sync_jobs(scheduler, settings, specs=standin_specs(settings))
    for job_id in ("standin:hourly", "explode:hourly"):
        # the machine was off for three runs
        scheduler.modify_job(job_id, next_run_time=utcnow() - dt.timedelta(hours=3, minutes=10))
    scheduler.shutdown(wait=False)
    dispose_engines()


def test_two_serve_processes_run_a_missed_job_once(settings):
    _store_missed_jobs(settings)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.scheduler.run_scheduler", "4"],
            cwd=ROOT,
            env={**os.environ, "YUQING_LOG_LEVEL": "INFO"},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [proc.communicate(timeout=60) for proc in procs]
    for proc, (_out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
    runs = standin.runs(settings)
    assert len(runs) == 1, runs  # three missed runs coalesced, and one process won the lease
    # the failing job was logged and did not stop either scheduler
    assert any("stand-in failure hourly" in err for _out, err in outputs)
    scheduler = create_scheduler(settings)
    scheduler.start(paused=True)
    try:
        assert scheduler.get_job("standin:hourly").next_run_time > utcnow()
    finally:
        scheduler.shutdown(wait=False)
