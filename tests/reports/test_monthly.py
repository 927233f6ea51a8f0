"""The monthly report over a month of posts: figures match the database; HTML, XLSX, mail."""

from __future__ import annotations

import datetime as dt
import io
import smtplib
from collections import Counter

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from alerts.models import Report
from alerts.reports.figures import parse_month
from alerts.reports.monthly import build_monthly_report, store_report
from analysis.models import Analysis
from analysis.taxonomy import load_taxonomy
from core.errors import UserError
from crawlers.models import Post
from tests.reports.data import TZ, local, make_month

NOW = local(2025, 4, 1, 8)


def expected(session, month: str) -> dict:
    """The month's numbers recounted row by row, independently of the report code."""
    first, last = parse_month(month)
    counts = Counter()
    topics: Counter = Counter()
    days: Counter = Counter()
    relevant_rows = []
    for post, analysis in session.execute(
        select(Post, Analysis).outerjoin(Analysis, Analysis.post_id == Post.id)
    ):
        day = (post.published_at or post.fetched_at).astimezone(TZ).date()
        if not first <= day <= last:
            continue
        counts["posts"] += 1
        if analysis is None or not analysis.relevant:
            continue
        counts["relevant"] += 1
        counts[analysis.sentiment] += 1
        days[(day, "relevant")] += 1
        days[(day, analysis.sentiment)] += 1
        relevant_rows.append(post)
        for code in analysis.topics:
            topics[(code, analysis.sentiment)] += 1
    return {"counts": counts, "topics": topics, "days": days, "relevant": relevant_rows}


@pytest.fixture
def month_data(session):
    return make_month(session)


def test_figures_match_the_database(session, settings, month_data):
    report = build_monthly_report(session=session, month="2025-03", settings=settings, now=NOW)
    f = report.figures
    exp = expected(session, "2025-03")
    prev = expected(session, "2025-02")
    c = exp["counts"]
    assert f["totals"]["posts"] == c["posts"]
    assert f["totals"]["relevant"] == c["relevant"]
    assert f["totals"]["prev_posts"] == prev["counts"]["posts"] == 19
    assert f["totals"]["posts_change"] == round((c["posts"] - 19) / 19 * 100, 1)
    for key in ("negative", "neutral", "positive"):
        assert f["sentiment"][key]["count"] == c[key]
        assert f["sentiment"][key]["share"] == round(c[key] / c["relevant"], 4)
    assert len(f["daily"]) == 31
    for row in f["daily"]:
        day = dt.date.fromisoformat(row["day"])
        assert row["relevant"] == exp["days"][(day, "relevant")]
        assert row["negative"] == exp["days"][(day, "negative")]
    # every one of the ten topics is listed with its Chinese label, in taxonomy order
    assert [t["label"] for t in f["topics"]] == list(load_taxonomy().values())
    for t in f["topics"]:
        for key in ("negative", "neutral", "positive"):
            assert t[key] == exp["topics"][(t["code"], key)]
    # alerts of the month only: 2 red (one resolved late, one still open past due), 1 yellow, 1 blue
    by = {row["severity"]: row for row in f["alerts"]["by_severity"]}
    assert (by["red"]["raised"], by["red"]["handled"], by["red"]["overdue"]) == (2, 1, 2)
    assert by["red"]["median_ack_hours"] == 1.5
    assert by["red"]["median_resolve_hours"] == 3.0
    assert (by["yellow"]["raised"], by["yellow"]["overdue"]) == (1, 0)
    assert (by["blue"]["raised"], by["blue"]["handled"]) == (1, 1)
    assert f["alerts"]["total"]["raised"] == 4
    health = {s["name"]: s for s in f["sources"]}
    assert (health["街道留言板"]["runs"], health["街道留言板"]["ok"]) == (3, 3)
    assert health["街道留言板"]["items_new"] == 30
    assert (health["本地新闻"]["failed"], health["本地新闻"]["last_error"]) == (1, "HTTP 500")
    # events and most-engaged negative posts
    assert f["events"] and f["events"][0]["posts"] >= f["events"][-1]["posts"]
    engagement = [p["engagement"] for p in f["negative_posts"]]
    assert engagement == sorted(engagement, reverse=True) and len(engagement) == 10
    assert all(p["url"].startswith("http://") for p in f["negative_posts"])
    assert f["hot_words"] and all(len(w) >= 2 for w, _ in f["hot_words"])
    # the summary states the figures in plain Chinese
    assert f"共监测到网络信息{c['posts']}条" in f["summary"]
    assert f"相关{c['relevant']}条" in f["summary"]
    assert "本月共产生告警4条" in f["summary"]
    assert "本地新闻" not in f["summary"] or "失败" in f["summary"]


def test_html_text_charts_and_xlsx(session, settings, month_data, tmp_path):
    report = build_monthly_report(session=session, month="2025-03", settings=settings, now=NOW)
    assert set(report.images) == {"trend", "sentiment", "topics", "alerts"}
    for png in report.images.values():
        assert png.startswith(b"\x89PNG")
    assert "2025年3月网络舆情分析报告" in report.html
    assert "生育登记与办证" in report.html and "<script" not in report.html
    assert report.figures["summary"] in report.text
    paths = report.write(tmp_path / "out")
    names = sorted(p.name for p in paths)
    assert "report-2025-03.html" in names and "舆情月报-2025-03-相关信息.xlsx" in names
    assert sum(name.endswith(".png") for name in names) == 4
    wb = load_workbook(io.BytesIO(report.xlsx), read_only=True)
    rows = list(wb["相关信息"].iter_rows(values_only=True))
    assert rows[0][:3] == ("发布时间", "信息源", "标题")
    exp = expected(session, "2025-03")
    assert len(rows) - 1 == len(exp["relevant"])
    assert {r[-1] for r in rows[1:]} == {p.url for p in exp["relevant"]}
    assert {r[4] for r in rows[1:]} <= {"负面", "中性", "正面"}
    daily = list(wb["每日统计"].iter_rows(values_only=True))
    assert len(daily) == 32


def test_xlsx_lists_the_most_engaged_posts_and_says_how_many_were_left_out(
    session, settings, month_data, monkeypatch
):
    monkeypatch.setattr("alerts.reports.monthly.XLSX_MAX_ROWS", 5)
    report = build_monthly_report(session=session, month="2025-03", settings=settings, now=NOW)
    rows = list(
        load_workbook(io.BytesIO(report.xlsx), read_only=True)["相关信息"].iter_rows(
            values_only=True
        )
    )
    relevant = expected(session, "2025-03")["relevant"]
    assert len(relevant) > 5
    listed, note = rows[1:-1], rows[-1][0]
    top = sorted(relevant, key=lambda p: (-(p.likes + p.replies + p.reposts), -p.views, p.id))[:5]
    assert {r[-1] for r in listed} == {p.url for p in top}
    assert [r[0] for r in listed] == sorted(r[0] for r in listed)  # in time order
    assert note.startswith(f"另有{len(relevant) - 5}条相关信息未列出")
    assert "列出互动量最高的5条" in report.text and "列出互动量最高的5条" in report.html
    # the figures still count every relevant post
    assert report.figures["totals"]["relevant"] == len(relevant)


def test_email_is_multipart_related_with_cid_images(session, settings, month_data, leaders):
    report = build_monthly_report(session=session, month="2025-03", settings=settings, now=NOW)
    mime = report.mime(to=["leader@example.org"], sender="yuqing@localhost")
    with smtplib.SMTP(leaders.host, leaders.port) as smtp:
        smtp.sendmail("yuqing@localhost", ["leader@example.org"], mime)
    msg = leaders.messages[0]
    assert msg["Subject"] == "舆情月报：2025年3月网络舆情分析报告"
    related = [part for part in msg.walk() if part.get_content_type() == "multipart/related"]
    assert len(related) == 1
    html = msg.get_body(("html",)).get_content()
    text = msg.get_body(("plain",)).get_content()
    assert "相关信息" in text
    images = [p for p in related[0].iter_parts() if p.get_content_type() == "image/png"]
    assert len(images) == 4
    for image in images:
        cid = image["Content-ID"].strip("<>")
        assert f'src="cid:{cid}"' in html
        assert image.get_content().startswith(b"\x89PNG")
    attachment = next(msg.iter_attachments())
    assert attachment.get_filename() == "舆情月报-2025-03-相关信息.xlsx"
    load_workbook(io.BytesIO(attachment.get_content()), read_only=True)


def test_empty_month_is_a_valid_report(session, settings, tmp_path):
    report = build_monthly_report(session=session, month="2024-07", settings=settings, now=NOW)
    f = report.figures
    assert f["empty"] and f["totals"]["posts"] == 0
    assert "未监测到任何信息" in f["summary"] and "本月未产生告警" in f["summary"]
    assert report.images == {}
    assert "本月无信息数据" in report.html
    wb = load_workbook(io.BytesIO(report.xlsx), read_only=True)
    assert len(list(wb["相关信息"].iter_rows(values_only=True))) == 1
    report.write(tmp_path)
    row = store_report(session=session, report=report)
    assert row.period == "2024-07" and row.figures["empty"]


def test_stored_report_embeds_charts_and_is_updated_until_sent(session, settings, month_data):
    report = build_monthly_report(session=session, month="2025-03", settings=settings, now=NOW)
    first = store_report(session=session, report=report)
    again = store_report(session=session, report=report)
    assert first.id == again.id
    assert "data:image/png;base64," in first.html
    assert session.scalars(select(Report)).all() == [first]


def test_bad_month_is_one_line_error(session, settings):
    with pytest.raises(UserError, match="--month must look like 2025-03"):
        build_monthly_report(session=session, month="2025-13", settings=settings)
