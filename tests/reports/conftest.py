from tests.reports.smtp import smtp_server  # noqa: F401
