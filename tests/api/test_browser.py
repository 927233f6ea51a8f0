"""Real Chromium (the Debian package) driven by Playwright against uvicorn on 127.0.0.1."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from tests.api.conftest import PASSWORD, Sample, alert_row

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[1] / "screenshots"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]

pytestmark = [
    pytest.mark.browser,
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def live_server(app) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """uvicorn serving the app on a free loopback port, in a thread."""
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """One headless Chromium for the module (never downloaded: the system one)."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: install the Debian package `chromium`")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):  # type: ignore[no-untyped-def]
    """A fresh browser context (no cookies) and page, Chinese locale."""
    context = browser.new_context(locale="zh-CN", viewport={"width": 1360, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()


def _login(page, base: str, name: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/login")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


def test_anonymous_is_redirected_to_login(page, live_server: str, sample: Sample) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{live_server}/dashboard")
    assert page.url.startswith(f"{live_server}/login")
    assert page.locator("input[name=username]").is_visible()
    assert "登录" in page.content()


def test_alerts_page_and_detail_look_right(page, live_server: str, sample: Sample) -> None:  # type: ignore[no-untyped-def]
    _login(page, live_server, "staff")
    assert page.url == f"{live_server}/"
    link = page.locator("a.alert-link", has_text="生育登记窗口推诿")
    assert link.is_visible()
    assert page.locator(".row-overdue").count() >= 1  # the red alert is past due
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "alerts.png"), full_page=True)
    link.click()
    page.wait_for_url(f"{live_server}/alerts/{sample.alert_id}")
    assert page.locator("h1.alert-title").inner_text() == "生育登记窗口推诿，群众反映强烈"
    assert page.locator("article.post mark", has_text="推诿").count() >= 1
    page.screenshot(path=str(SCREENSHOTS / "alert_detail.png"), full_page=True)
    page.click("nav.mainnav a:has-text('概览')")
    assert page.locator("svg.chart").count() == 2
    page.screenshot(path=str(SCREENSHOTS / "dashboard.png"), full_page=True)
    page.click("nav.mainnav a:has-text('信息')")
    page.screenshot(path=str(SCREENSHOTS / "posts.png"), full_page=False)


def test_staff_works_an_alert_to_resolution(
    page, live_server: str, sample: Sample, session
) -> None:  # type: ignore[no-untyped-def]
    _login(page, live_server, "staff")
    page.click("a.alert-link:has-text('生育登记窗口推诿')")
    page.wait_for_url(f"{live_server}/alerts/{sample.alert_id}")
    page.click("button:has-text('确认')")
    page.wait_for_load_state("networkidle")
    assert page.locator(".alert-head .badge.state-acknowledged").count() == 1
    page.fill("textarea[name=note]", "已电话联系当事人，窗口已整改。")
    page.click("button:has-text('办结')")
    page.wait_for_load_state("networkidle")
    assert page.locator(".alert-head .badge.state-resolved").count() == 1
    assert "已电话联系当事人" in page.locator("#notes").inner_text()
    audit = page.locator("ol.audit").inner_text()
    assert "staff" in audit and "已办结" in audit
    assert alert_row(session, sample.alert_id).state == "resolved"
    page.screenshot(path=str(SCREENSHOTS / "alert_resolved.png"), full_page=True)


def test_hostile_post_shows_as_text_and_runs_nothing(
    page, live_server: str, sample: Sample
) -> None:  # type: ignore[no-untyped-def]
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    _login(page, live_server, "staff")
    page.goto(f"{live_server}/alerts/{sample.alert_id}")
    card = page.locator(f"#post-{sample.post_ids[2]}")
    assert "<script>alert('x')</script>投诉" in card.locator(".post-title").inner_text()
    assert 'onerror="document.title' in card.locator(".post-text").inner_text()
    assert page.locator("article.post script").count() == 0
    assert page.locator("article.post img").count() == 0
    page.wait_for_timeout(300)
    assert dialogs == []
    assert page.title() != "pwned"
    page.goto(f"{live_server}/posts?q=script")
    assert page.locator("article.post script").count() == 0
    assert dialogs == []


def test_staff_cannot_open_admin_pages(page, live_server: str, sample: Sample) -> None:  # type: ignore[no-untyped-def]
    _login(page, live_server, "staff")
    assert page.locator("nav.mainnav a", has_text="管理").count() == 0
    response = page.goto(f"{live_server}/admin/users")
    assert response is not None and response.status == 403
    assert "仅限管理员" in page.content()


def test_admin_pages_open_for_admins(page, live_server: str, sample: Sample) -> None:  # type: ignore[no-untyped-def]
    _login(page, live_server, "admin")
    page.click("nav.mainnav a:has-text('管理')")
    page.wait_for_url(f"{live_server}/admin/sources")
    assert page.locator("td", has_text="街道留言板").count() == 1
    page.screenshot(path=str(SCREENSHOTS / "admin_sources.png"), full_page=True)
    page.click("nav.subnav a:has-text('用户')")
    assert page.locator("td", has_text="staff").count() >= 1
    page.screenshot(path=str(SCREENSHOTS / "admin_users.png"), full_page=True)


HOSTILE = {
    "title": "莲花街道生育登记窗口乱收费<script>alert('t')</script>",
    "text": "办生育登记被要求交“加急费”200元，窗口推诿说不交就排队。"
    "<img src=x onerror=\"document.title='pwned'\">希望街道核查。",
    "author": "莲花居民",
    "likes": 12,
}


def test_alert_from_crawled_posts(page, live_server: str, session, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Posts crawled over HTTP from the local test site, shown in an alert, safely."""
    from sqlalchemy import select

    from alerts.models import alert_posts
    from crawlers.models import Post
    from crawlers.runner import crawl
    from tests import factories
    from tests.testsite import DEFAULT_POSTS, TestSite

    factories.make_user(session, name="staff", role="staff", display_name="李敏")
    session.commit()
    with TestSite(posts=[*DEFAULT_POSTS[:3], HOSTILE]) as site:
        sources = site.write_sources(tmp_path / "sources.toml", "board")
        results = crawl(sources_file=sources)
    assert results and results[0].status == "ok", results
    from analysis.models import Analysis
    from analysis.service import analyze_pending
    from analysis.setup import ensure_model

    ensure_model(echo=False)
    assert analyze_pending() >= 4
    session.expire_all()
    posts = list(session.scalars(select(Post).where(Post.title.like("%生育登记%"))))
    assert len(posts) == 2
    analyses = list(
        session.scalars(select(Analysis).where(Analysis.post_id.in_([p.id for p in posts])))
    )
    assert len(analyses) == 2
    from alerts.service import evaluate

    evaluate(session=session, notify=False)
    session.commit()
    hostile = next(p for p in posts if "<script>" in p.title)
    alert_id = session.scalar(
        select(alert_posts.c.alert_id).where(alert_posts.c.post_id == hostile.id)
    )
    assert alert_id is not None, "the rules raised no alert for the crawled complaint"

    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    _login(page, live_server, "staff")
    page.click(f"a.alert-link[href$='/alerts/{alert_id}']")
    page.wait_for_url(f"{live_server}/alerts/{alert_id}")
    assert page.locator("article.post").count() >= 1
    titles = page.locator("article.post .post-title").all_inner_texts()
    assert any("<script>alert('t')</script>" in t for t in titles)
    assert page.locator("article.post script, article.post img").count() == 0
    original = page.locator("a.post-link").first
    assert original.get_attribute("rel") == "noopener noreferrer"
    assert original.get_attribute("href").startswith(site.base_url)
    page.wait_for_timeout(300)
    assert dialogs == [] and page.title() != "pwned"
    page.screenshot(path=str(SCREENSHOTS / "alert_from_crawl.png"), full_page=True)


def test_correct_labels_in_place(page, live_server: str, sample: Sample) -> None:  # type: ignore[no-untyped-def]
    _login(page, live_server, "staff")
    page.goto(f"{live_server}/alerts/{sample.alert_id}")
    card = page.locator(f"#post-{sample.post_ids[1]}")
    card.locator("summary", has_text="更正标签").click()
    card.locator("select[name=sentiment]").select_option("neutral")
    card.locator("input[name=note]").fill("属于咨询")
    card.locator("button", has_text="保存更正").click()
    page.wait_for_load_state("networkidle")
    card = page.locator(f"#post-{sample.post_ids[1]}")
    assert card.locator(".badge.corrected").count() == 1
    assert card.locator(".badge.senti-neutral").count() == 1
    assert "将用于下次模型训练" in page.locator(".flash").inner_text()
