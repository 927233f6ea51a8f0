"""`yuqing report monthly` and `yuqing schedule list` as a user runs them."""

from __future__ import annotations

import pytest

from tests.reports.data import make_month


def test_report_monthly_writes_the_folder(session, yuqing, tmp_path):
    make_month(session)
    out = tmp_path / "out"
    result = yuqing("report", "monthly", "--month", "2025-03", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "2025年3月" in result.stdout
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(
        [
            "report-2025-03.html",
            "trend-2025-03.png",
            "sentiment-2025-03.png",
            "topics-2025-03.png",
            "alerts-2025-03.png",
            "舆情月报-2025-03-相关信息.xlsx",
        ]
    )
    listed = yuqing("report", "list")
    assert "2025-03" in listed.stdout and "未发送" in listed.stdout


@pytest.mark.parametrize("month", ["2025-3", "March", "2025-00"])
def test_bad_month_is_one_line(yuqing, month):
    result = yuqing("report", "monthly", "--month", month)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "2025-03" in result.stderr


def test_send_without_recipients_is_one_line(yuqing):
    result = yuqing("report", "monthly", "--month", "2025-03", "--send")
    assert result.returncode == 2
    assert "YUQING_REPORT_RECIPIENTS" in result.stderr


def test_schedule_list_shows_next_runs(yuqing, tmp_path):
    result = yuqing("schedule", "list", env={"YUQING_SOURCES_FILE": str(tmp_path / "none.toml")})
    assert result.returncode == 0, result.stderr
    for job in ("outbox", "digest", "monthly_report", "retention"):
        assert job in result.stdout
    monthly = next(line for line in result.stdout.splitlines() if line.startswith("monthly"))
    assert "-01 08:00" in monthly
