"""A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps what it receives.

Stand-in until the shared tests/smtp.py fixture lands in main.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

import pytest
from aiosmtpd.controller import Controller


@dataclass
class Received:
    """One delivered message."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        """The message parsed with the modern email API."""
        return BytesParser(policy=policy.default).parsebytes(self.data)  # type: ignore[return-value]


@dataclass
class Inbox:
    """What the server received, and where it listens."""

    host: str
    port: int
    messages: list[Received] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        self.messages.append(
            Received(envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.original_content))
        )
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_server(settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Inbox]:  # type: ignore[no-untyped-def]
    """Start an SMTP server and point YUQING_SMTP_* (and get_settings()) at it."""
    from core import config

    inbox = Inbox("127.0.0.1", _free_port())
    controller = Controller(inbox, hostname=inbox.host, port=inbox.port)
    controller.start()
    monkeypatch.setenv("YUQING_SMTP_HOST", inbox.host)
    monkeypatch.setenv("YUQING_SMTP_PORT", str(inbox.port))
    monkeypatch.setenv("YUQING_REPORT_RECIPIENTS", "leader@example.org,office@example.org")
    config.get_settings.cache_clear()
    try:
        yield inbox
    finally:
        controller.stop()
