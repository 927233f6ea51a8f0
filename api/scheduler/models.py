"""Job leases: one row per scheduled job so several `serve` processes run each job once."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base


class JobLease(Base):
    """Who runs a job now (until `expires_at`) and how its last run went."""

    __tablename__ = "job_leases"

    job_id: Mapped[str] = mapped_column(String(191), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200), default="")
    expires_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    last_started_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    last_finished_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    last_status: Mapped[str] = mapped_column(String(16), default="")
    last_error: Mapped[str] = mapped_column(Text, default="")
