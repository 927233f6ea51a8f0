"""Scheduler test fixtures: a real SMTP server for the digest."""

from tests.smtp import smtp_server  # noqa: F401  (fixture)
