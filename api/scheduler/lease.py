"""Database leases: a job runs only where its lease was won, so two processes never double it."""

from __future__ import annotations

import datetime as dt
import os
import socket
import uuid

from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.scheduler.models import JobLease


def new_holder() -> str:
    """A name for this scheduler instance: host, process and a random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def claim(
    *,
    session: Session,
    job_id: str,
    holder: str,
    now: dt.datetime,
    ttl: dt.timedelta,
    min_gap: dt.timedelta,
) -> bool:
    """Take the job's lease if nobody holds it and its last start is at least `min_gap` ago."""
    if session.get(JobLease, job_id) is None:
        try:
            with session.begin_nested():
                session.add(JobLease(job_id=job_id, holder="", last_status="", last_error=""))
        except IntegrityError:
            pass  # another process created it first
    # One conditional UPDATE: the database decides which process wins.
    result = session.execute(
        update(JobLease)
        .where(
            JobLease.job_id == job_id,
            or_(JobLease.expires_at.is_(None), JobLease.expires_at < now),
            or_(JobLease.last_started_at.is_(None), JobLease.last_started_at <= now - min_gap),
        )
        .values(holder=holder, expires_at=now + ttl, last_started_at=now, last_status="running")
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return result.rowcount == 1


def release(
    *,
    session: Session,
    job_id: str,
    holder: str,
    now: dt.datetime,
    status: str,
    error: str = "",
) -> None:
    """Give the lease back and record how the run ended."""
    session.execute(
        update(JobLease)
        .where(JobLease.job_id == job_id, JobLease.holder == holder)
        .values(expires_at=None, last_finished_at=now, last_status=status, last_error=error[:2000])
        .execution_options(synchronize_session=False)
    )
    session.commit()
