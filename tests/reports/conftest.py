import pytest

from core import config
from tests.smtp import SmtpServer, smtp_server  # noqa: F401


@pytest.fixture
def leaders(smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch) -> SmtpServer:  # noqa: F811
    """The shared SMTP server, with two leaders as the report recipients."""
    monkeypatch.setenv("YUQING_REPORT_RECIPIENTS", "leader@example.org,office@example.org")
    config.get_settings.cache_clear()
    return smtp_server
