import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from crawlers.dates import parse_date

SH = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 11, 3, 12, 0, tzinfo=SH)


def local(value):
    result = parse_date(value, now=NOW)
    return result.astimezone(SH).replace(tzinfo=None) if result else None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026年11月3日 10:20", dt.datetime(2026, 11, 3, 10, 20)),
        ("发表于 2026年11月3日 10:20", dt.datetime(2026, 11, 3, 10, 20)),
        ("2026年11月3日", dt.datetime(2026, 11, 3)),
        ("2026-11-03", dt.datetime(2026, 11, 3)),
        ("2026-11-03 10:20:30", dt.datetime(2026, 11, 3, 10, 20, 30)),
        ("2026/11/3 9:05", dt.datetime(2026, 11, 3, 9, 5)),
        ("11-03 10:20", dt.datetime(2026, 11, 3, 10, 20)),
        ("11月2日 下午3:15", dt.datetime(2026, 11, 2, 15, 15)),
        ("3小时前", dt.datetime(2026, 11, 3, 9, 0)),
        ("5分钟前", dt.datetime(2026, 11, 3, 11, 55)),
        ("2天前", dt.datetime(2026, 11, 1, 12, 0)),
        ("半小时前", dt.datetime(2026, 11, 3, 11, 30)),
        ("刚刚", dt.datetime(2026, 11, 3, 12, 0)),
        ("昨天 08:15", dt.datetime(2026, 11, 2, 8, 15)),
        ("前天 23:59", dt.datetime(2026, 11, 1, 23, 59)),
        ("今天 07:00", dt.datetime(2026, 11, 3, 7, 0)),
    ],
)
def test_chinese_forms_resolve_in_shanghai(text, expected):
    assert local(text) == expected


def test_result_is_aware_utc():
    result = parse_date("2026年11月3日 10:20", now=NOW)
    assert result == dt.datetime(2026, 11, 3, 2, 20, tzinfo=dt.UTC)


def test_yearless_date_in_the_future_means_last_year():
    assert local("12-30 10:00") == dt.datetime(2025, 12, 30, 10, 0)


def test_iso_with_offset_and_rfc822_and_epoch():
    assert parse_date("2026-11-03T10:20:00+08:00") == dt.datetime(2026, 11, 3, 2, 20, tzinfo=dt.UTC)
    assert parse_date("Tue, 03 Nov 2026 02:20:00 GMT") == dt.datetime(
        2026, 11, 3, 2, 20, tzinfo=dt.UTC
    )
    assert parse_date(1793672400) == dt.datetime.fromtimestamp(1793672400, dt.UTC)
    assert parse_date(1793672400000) == dt.datetime.fromtimestamp(1793672400, dt.UTC)


@pytest.mark.parametrize("text", ["", "   ", "不详", "2026年13月40日", None])
def test_garbage_gives_none(text):
    assert parse_date(text, now=NOW) is None
