"""Publication dates as Chinese sites write them, resolved in the office timezone.

A small parser rather than dateparser: the forms are few and fixed (年月日, 3小时前, 昨天 08:15,
11-03 10:20), each needs an injectable "now" and the rule that a year-less date is never in the
future, and dateparser is slow per call and guesses day/month order for "11-03".
"""

from __future__ import annotations

import datetime as dt
import re
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")

_CN_DIGITS = {
    "一": 1,
    "两": 2,
    "二": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
    "十": 10,
    "半": 0.5,
}
_UNITS = {
    "秒": dt.timedelta(seconds=1),
    "分钟": dt.timedelta(minutes=1),
    "分": dt.timedelta(minutes=1),
    "小时": dt.timedelta(hours=1),
    "个小时": dt.timedelta(hours=1),
    "天": dt.timedelta(days=1),
    "日": dt.timedelta(days=1),
    "周": dt.timedelta(weeks=1),
    "星期": dt.timedelta(weeks=1),
    "个月": dt.timedelta(days=30),
    "月": dt.timedelta(days=30),
    "年": dt.timedelta(days=365),
}
_DAY_WORDS = {"今天": 0, "今日": 0, "昨天": 1, "昨日": 1, "前天": 2}

_TIME = r"(?:\s*T?\s*(?P<h>\d{1,2})[:：时](?P<mi>\d{1,2})(?:[:：分](?P<s>\d{1,2})(?:\.\d+)?)?秒?)?"
_AMPM = r"(?:\s*(?P<ampm>上午|下午|晚上|凌晨|中午))?"
_ABS = re.compile(
    r"(?P<y>\d{4})\s*[年\-/.]\s*(?P<m>\d{1,2})\s*[月\-/.]\s*(?P<d>\d{1,2})\s*日?" + _AMPM + _TIME
)
_MD = re.compile(r"(?<!\d)(?P<m>\d{1,2})\s*[月\-/]\s*(?P<d>\d{1,2})\s*日?" + _AMPM + _TIME)
_REL = re.compile(
    r"(?P<n>\d+|[一两二三四五六七八九十半])\s*(?P<unit>秒|分钟|分|个小时|小时|天|日|周|星期|个月|月|年)\s*[以之]?前"
)
_DAYWORD = re.compile(r"(?P<w>今天|今日|昨天|昨日|前天)" + _AMPM + _TIME)
_TZ_SUFFIX = re.compile(r"(Z|[+-]\d{2}:?\d{2})$")


def _hour(h: int, ampm: str | None) -> int:
    if ampm in ("下午", "晚上") and h < 12:
        return h + 12
    if ampm == "中午" and h < 11:
        return h + 12
    return h


def _at(date: dt.date, m: re.Match[str], tz: ZoneInfo) -> dt.datetime:
    h = int(m.group("h") or 0)
    h = _hour(h, m.group("ampm"))
    mi = int(m.group("mi") or 0)
    s = int(m.group("s") or 0)
    return dt.datetime(date.year, date.month, date.day, h, mi, s, tzinfo=tz)


def parse_date(
    value: str | float | dt.datetime | None,
    *,
    now: dt.datetime | None = None,
    tz: ZoneInfo | str = SHANGHAI,
) -> dt.datetime | None:
    """Parse a date as Chinese sites write it; aware UTC datetime, or None if unrecognised."""
    if isinstance(tz, str):
        tz = ZoneInfo(tz)
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float) or (isinstance(value, str) and value.isdigit()):
        # epoch seconds, or milliseconds as many JSON APIs send
        stamp = float(value)
        if stamp > 1e11:
            stamp /= 1000
        return dt.datetime.fromtimestamp(stamp, dt.UTC) if stamp > 1e8 else None
    if isinstance(value, dt.datetime):
        result = value if value.tzinfo else value.replace(tzinfo=tz)
        return result.astimezone(dt.UTC)
    text = " ".join(str(value).split())
    if not text:
        return None
    now = (now or dt.datetime.now(dt.UTC)).astimezone(tz)

    iso = _iso(text, tz)
    if iso:
        return iso
    if text in ("刚刚", "刚才", "just now"):
        return now.astimezone(dt.UTC)
    m = _REL.search(text)
    if m:
        n_text = m.group("n")
        n = float(n_text) if n_text.isdigit() else _CN_DIGITS[n_text]
        return (now - _UNITS[m.group("unit")] * n).astimezone(dt.UTC)
    m = _DAYWORD.search(text)
    if m:
        day = now.date() - dt.timedelta(days=_DAY_WORDS[m.group("w")])
        return _at(day, m, tz).astimezone(dt.UTC)
    m = _ABS.search(text)
    if m:
        try:
            day = dt.date(int(m.group("y")), int(m.group("m")), int(m.group("d")))
            return _at(day, m, tz).astimezone(dt.UTC)
        except ValueError:
            return None
    m = _MD.search(text)
    if m:
        try:
            day = dt.date(now.year, int(m.group("m")), int(m.group("d")))
            result = _at(day, m, tz)
        except ValueError:
            return None
        # "11-03" seen in January means last year's November
        if result > now + dt.timedelta(days=1):
            result = result.replace(year=now.year - 1)
        return result.astimezone(dt.UTC)
    try:
        rfc = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        rfc = None
    if rfc:
        return (rfc if rfc.tzinfo else rfc.replace(tzinfo=tz)).astimezone(dt.UTC)
    return None


def _iso(text: str, tz: ZoneInfo) -> dt.datetime | None:
    if not re.match(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}", text) or not _TZ_SUFFIX.search(text):
        return None
    try:
        parsed = dt.datetime.fromisoformat(text.replace(" ", "T", 1))
    except ValueError:
        return None
    return parsed.astimezone(dt.UTC)
