"""The pages staff and admins use: what they show, filters, exports, corrections, admin forms."""

from __future__ import annotations

import csv
import io

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select

from alerts.models import Report
from analysis.models import Analysis, LabelCorrection, MonitoringPlan
from core.models import AuditLog, User
from crawlers.models import Source
from tests import factories
from tests.api.conftest import csrf_of


def test_alerts_page_counts_filters_and_overdue(staff_client: TestClient) -> None:
    page = staff_client.get("/")
    assert page.status_code == 200
    html = page.text
    assert "生育登记窗口推诿，群众反映强烈" in html and "一般关注：宣传活动评论" in html
    assert "row-overdue" in html and "已逾期" in html
    assert "共 2 条符合条件的告警" in html
    red = staff_client.get("/?severity=red").text
    assert "生育登记窗口推诿" in red and "宣传活动评论" not in red
    text = staff_client.get("/?q=宣传").text
    assert "宣传活动评论" in text and "生育登记窗口推诿" not in text
    assert "共 0 条" in staff_client.get("/?state=resolved").text
    # junk parameters fall back to defaults instead of failing
    junk = staff_client.get("/?page=-3&sort=%00&from=99999-01-01&source=abc&state=<x>")
    assert junk.status_code == 200
    assert "共 2 条" in junk.text


def test_alert_detail_highlights_terms_in_escaped_text(staff_client: TestClient, sample) -> None:  # type: ignore[no-untyped-def]
    html = staff_client.get(f"/alerts/{sample.alert_id}").text
    assert "<mark>推诿</mark>" in html
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;投诉" in html
    assert "<img src=x" not in html
    assert 'rel="noopener noreferrer"' in html
    assert "负面 80%" in html and "工作作风与服务" in html  # badges
    assert "态度很差" in html  # explanation words
    assert staff_client.get("/alerts/999999").status_code == 404
    assert staff_client.get("/alerts/99999999999999999999999").status_code in (400, 404)


def test_javascript_links_to_originals_are_not_rendered(staff_client: TestClient, session) -> None:  # type: ignore[no-untyped-def]
    post = factories.make_post(session, title="坏链接", url="javascript:alert(1)", text="生育登记")
    session.commit()
    html = staff_client.get(f"/posts/{post.id}").text
    assert "javascript:alert" not in html
    assert "查看原文" not in html


def test_label_correction_in_place(staff_client: TestClient, session, sample) -> None:  # type: ignore[no-untyped-def]
    post_id = sample.post_ids[0]
    token = csrf_of(staff_client, f"/alerts/{sample.alert_id}")
    response = staff_client.post(
        f"/posts/{post_id}/labels",
        data={
            "csrf_token": token,
            "sentiment": "neutral",
            "relevant": "1",
            "set_topics": "1",
            "topics": ["registration"],
            "note": "只是咨询",
            "back": f"/alerts/{sample.alert_id}",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/alerts/{sample.alert_id}#post-{post_id}"
    session.expire_all()
    correction = session.scalar(select(LabelCorrection).where(LabelCorrection.post_id == post_id))
    assert correction.sentiment == "neutral" and correction.topics == ["registration"]
    assert correction.relevant is True and correction.note == "只是咨询"
    analysis = session.scalar(select(Analysis).where(Analysis.post_id == post_id))
    assert analysis.sentiment == "neutral" and analysis.topics == ["registration"]
    html = staff_client.get(f"/alerts/{sample.alert_id}").text
    assert "已人工更正" in html and "已更正信息" in html
    bad = staff_client.post(
        f"/posts/{post_id}/labels", data={"csrf_token": token, "sentiment": "angry"}
    )
    assert "情感标签无效" in bad.text


def test_posts_search_and_exports(staff_client: TestClient, sample) -> None:  # type: ignore[no-untyped-def]
    html = staff_client.get("/posts?q=推诿&sentiment=negative&relevant=1").text
    assert html.count('class="post card"') == 2
    assert "<mark>推诿</mark>" in html
    assert staff_client.get("/posts?topic=publicity").text.count('class="post card"') == 0
    exported = staff_client.get("/posts/export.csv?q=推诿")
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["编号", "来源", "发布时间", "标题"]
    assert len(rows) == 3
    assert {r[1] for r in rows[1:]} == {"街道留言板"}
    xlsx = staff_client.get("/posts/export.xlsx")
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet.max_row == 4
    assert staff_client.get("/posts/export.pdf").status_code == 404


def test_dashboard_shows_charts_events_and_sources(staff_client: TestClient) -> None:
    html = staff_client.get("/dashboard").text
    assert html.count("<svg") >= 2
    assert "生育登记与办证" in html  # topic bar label
    assert "生育登记窗口推诿" in html  # top event
    assert "街道留言板" in html and "正常" in html  # source health
    assert staff_client.get("/dashboard?days=abc").status_code == 200


def test_reports_page_works_with_no_reports(staff_client: TestClient, session) -> None:  # type: ignore[no-untyped-def]
    assert "还没有报表" in staff_client.get("/reports").text
    report = Report(period="2026-10", html="<h1>十月报告</h1><script>alert(1)</script>")
    session.add(report)
    session.commit()
    assert "2026-10" in staff_client.get("/reports").text
    assert "sandbox" in staff_client.get(f"/reports/{report.id}").text
    framed = staff_client.get(f"/reports/{report.id}/html")
    assert "sandbox" in framed.headers["content-security-policy"]
    assert "script-src" not in framed.headers["content-security-policy"]


def test_admin_manages_users(admin_client: TestClient, session) -> None:  # type: ignore[no-untyped-def]
    token = csrf_of(admin_client, "/admin/users")
    admin_client.post(
        "/admin/users",
        data={
            "csrf_token": token,
            "name": "wang",
            "role": "staff",
            "password": "secret-pass-1",
            "display_name": "王芳",
        },
    )
    session.expire_all()
    wang = session.scalar(select(User).where(User.name == "wang"))
    assert wang is not None and wang.role == "staff"
    page = admin_client.post(
        "/admin/users",
        data={"csrf_token": token, "name": "li", "role": "staff", "password": "short"},
    )
    assert "password too short" in page.text
    admin_client.post(
        f"/admin/users/{wang.id}", data={"csrf_token": token, "action": "role", "role": "admin"}
    )
    admin_client.post(f"/admin/users/{wang.id}", data={"csrf_token": token, "action": "deactivate"})
    admin_client.post(
        f"/admin/users/{wang.id}",
        data={"csrf_token": token, "action": "password", "password": "brand-new-pass"},
    )
    session.expire_all()
    wang = session.get(User, wang.id)
    assert wang.role == "admin" and wang.active is False
    actions = set(
        session.scalars(
            select(AuditLog.action).where(
                AuditLog.entity_id == wang.id, AuditLog.entity_type == "user"
            )
        )
    )
    assert {"user.create", "user.update", "user.password"} <= actions


def test_admin_sources_plans_rules(admin_client: TestClient, session, sample, tmp_path) -> None:  # type: ignore[no-untyped-def]
    html = admin_client.get("/admin/sources").text
    assert "街道留言板" in html and "立即抓取" in html
    token = csrf_of(admin_client, "/admin/sources")
    admin_client.post(f"/admin/sources/{sample.source_id}/toggle", data={"csrf_token": token})
    session.expire_all()
    assert session.get(Source, sample.source_id).enabled is False

    state = admin_client.app.state
    state.settings = state.settings.model_copy(update={"sources_file": tmp_path / "none.toml"})
    run = admin_client.post(f"/admin/sources/{sample.source_id}/run", data={"csrf_token": token})
    assert "找不到数据源文件" in run.text

    bad = admin_client.post("/admin/plans", data={"csrf_token": token, "name": "空方案"})
    assert "至少需要填写一组关键词" in bad.text
    bad_expr = admin_client.post(
        "/admin/plans",
        data={
            "csrf_token": token,
            "name": "括号",
            "subject_words": "计生",
            "expression": "(计生 AND",
        },
    )
    assert "括号" in bad_expr.text and "flash-error" in bad_expr.text
    admin_client.post(
        "/admin/plans",
        data={
            "csrf_token": token,
            "name": "本街道计生",
            "enabled": "1",
            "place_words": "福田，沙头",
            "subject_words": "计生\n生育登记",
            "expression": "(a)",
        },
    )
    plan = session.scalar(select(MonitoringPlan).where(MonitoringPlan.name == "本街道计生"))
    assert plan.place_words == ["福田", "沙头"] and plan.subject_words == ["计生", "生育登记"]

    from alerts.models import AlertRule

    rule = AlertRule(code="negative_local", kind="content", name="本地负面", severity="yellow")
    session.add(rule)
    session.commit()
    bad_json = admin_client.post(
        f"/admin/rules/{rule.id}", data={"csrf_token": token, "severity": "red", "params": "{oops"}
    )
    assert "不是有效的 JSON" in bad_json.text
    admin_client.post(
        f"/admin/rules/{rule.id}",
        data={
            "csrf_token": token,
            "severity": "orange",
            "enabled": "1",
            "params": '{"min_posts": 3}',
            "reason": "本地负面信息",
        },
    )
    session.expire_all()
    rule = session.get(AlertRule, rule.id)
    assert rule.severity == "orange" and rule.params == {"min_posts": 3}


def test_admin_builds_a_monthly_report_and_previews_it(admin_client: TestClient, session) -> None:  # type: ignore[no-untyped-def]
    token = csrf_of(admin_client, "/reports")
    page = admin_client.post("/reports/build", data={"csrf_token": token, "month": "2026-11"})
    assert "2026-11 月度报表已生成" in page.text
    report = session.scalar(select(Report).where(Report.period == "2026-11"))
    assert report is not None and report.html
    framed = admin_client.get(f"/reports/{report.id}/html")
    assert framed.status_code == 200 and "<html" in framed.text.lower()
    bad = admin_client.post("/reports/build", data={"csrf_token": token, "month": "2026-13"})
    assert "YYYY-MM" in bad.text
    # no recipients configured: a clear message, nothing sent
    sent = admin_client.post(f"/reports/{report.id}/send", data={"csrf_token": token})
    assert "flash-error" in sent.text
