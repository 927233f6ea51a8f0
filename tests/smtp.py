"""A real SMTP server on 127.0.0.1 (aiosmtpd, in-process) for tests that send mail.

Use the `smtp_server` fixture (import it into your conftest): it starts the server, points
YUQING_SMTP_HOST/PORT at it and gives back an `SmtpServer` whose `messages` are the parsed mails
received; `stop()` and `start()` simulate an outage on the same port.
"""

from __future__ import annotations

import email
import email.policy
import socket
import time
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from core import config


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Collector:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.server.messages.append(message)  # type: ignore[arg-type]
        self.server.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"


class SmtpServer:
    """An aiosmtpd server on 127.0.0.1 that keeps every message it receives."""

    def __init__(self, port: int | None = None) -> None:
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self._controller: Controller | None = None

    def start(self) -> None:
        """Listen (again) on the same port."""
        if self._controller is None:
            self._controller = Controller(_Collector(self), hostname=self.host, port=self.port)
            self._controller.start()

    def stop(self) -> None:
        """Stop listening: connections are refused until start()."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def wait_for(self, count: int, timeout: float = 5.0) -> list[EmailMessage]:
        """The messages once at least `count` arrived (fails after timeout)."""
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(self.messages) >= count, f"expected {count} mail(s), got {len(self.messages)}"
        return self.messages


def text_of(message: EmailMessage, subtype: str = "plain") -> str:
    """The plain-text (or html) part of a received message."""
    part = message.get_body(preferencelist=(subtype,))
    assert part is not None, f"no text/{subtype} part"
    return part.get_content()


@pytest.fixture
def smtp_server(settings: config.Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpServer]:
    """A running SMTP server, with the settings pointed at it (get_settings() sees it)."""
    server = SmtpServer()
    server.start()
    monkeypatch.setenv("YUQING_SMTP_HOST", server.host)
    monkeypatch.setenv("YUQING_SMTP_PORT", str(server.port))
    monkeypatch.setenv("YUQING_SMTP_TIMEOUT", "5")
    config.get_settings.cache_clear()
    try:
        yield server
    finally:
        server.stop()
        config.get_settings.cache_clear()
