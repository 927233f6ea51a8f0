"""`yuqing serve` as a real process: scheduled crawl of the test site, alert, daily digest by mail.

The office's setup, end to end: `yuqing init`, a sources file with the local test site, then
`yuqing serve` left running. Its scheduler crawls the site (a source never crawled runs at once),
analyses the posts and raises an alert on the brewing local complaint; SIGTERM stops it cleanly.
Then the digest hour is set to the current hour and serve restarted: the day's digest was not
sent yet, so it goes out at once to the real SMTP server and lists the alert. Ctrl-C stops it.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from alerts.models import Alert
from analysis.models import Analysis
from core import db
from core.config import Settings
from crawlers.models import CrawlRun, Post
from tests.conftest import ROOT, run_yuqing
from tests.smtp import SmtpServer, free_port, text_of
from tests.testsite import TestSite

pytestmark = pytest.mark.slow

SOURCE = "街道留言板"
RECIPIENT = "duty@example.org"
# One matter brewing in our own area: a complaint about the registration window, and residents
# joining in. Written for this test (not copied from shared data).
COMPLAINT = {
    "title": "莲花街道计生办办理生育登记一拖再拖，工作人员推诿",
    "text": "前天去福田区莲花街道计生办办理生育登记，排队两个多小时，工作人员态度冷淡，"
    "材料来回让补，跑了三趟还是没有办好。打电话投诉也没人理，太让人寒心了。",
    "author": "莲花居民",
    "likes": 36,
    "replies": 9,
}
FOLLOW_UP = {
    "title": "莲花街道计生办生育登记推诿，我也遇到了",
    "text": "我上周也在福田区莲花街道计生办办理生育登记，同样排了两个小时队，工作人员推诿，"
    "让我补了三次材料还是没有办好，投诉无门，希望有关部门管一管。",
    "author": "福田宝妈",
    "likes": 12,
    "replies": 3,
}
UNRELATED = {
    "title": "周末华富街道亲子阅读活动报名",
    "text": "福田区华富街道图书馆周六上午举办亲子阅读活动，欢迎家长带孩子报名参加。",
    "author": "华富街道",
    "likes": 2,
}


class Serve:
    """`yuqing serve` in a subprocess, with its output kept in a file for failure messages."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.log = log
        exe = Path(sys.executable).parent / "yuqing"
        with log.open("w") as out:
            self.proc = subprocess.Popen(
                [str(exe), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_until(self, what: str, check: Callable[[], Any], timeout: float) -> Any:
        """Poll `check` until it gives something truthy; fail early if serve died."""
        deadline = time.monotonic() + timeout
        while True:
            value = check()
            if value:
                return value
            if self.proc.poll() is not None:
                code = self.proc.returncode
                pytest.fail(f"serve exited ({code}) before {what}:\n{self.output()}")
            if time.monotonic() > deadline:
                pytest.fail(f"no {what} within {timeout:.0f} s; serve said:\n{self.output()}")
            time.sleep(0.25)

    def web_answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/login", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    def stop(self, sig: signal.Signals) -> int:
        """Send `sig` and wait for the process to end; its exit code."""
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=60)  # a crawl under way is let finish
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            pytest.fail(f"serve did not stop within 60 s of {sig.name}:\n{self.output()}")

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def site() -> Iterator[TestSite]:
    with TestSite(posts=[UNRELATED, COMPLAINT, FOLLOW_UP], duplicates=False) as running:
        yield running


def _hour_other_than_now(settings: Settings) -> int:
    return (dt.datetime.now(settings.tz).hour + 12) % 24


def _local_now_not_near_the_hour_end(settings: Settings) -> dt.datetime:
    """The local time, at least 30 s before the hour ends (so serve starts within that hour)."""
    now = dt.datetime.now(settings.tz)
    if now.minute == 59 and now.second >= 30:
        time.sleep(61 - now.second)
        now = dt.datetime.now(settings.tz)
    return now


def _counts(settings: Settings) -> dict[str, Any]:
    with db.session_scope(settings) as session:
        runs = session.execute(
            select(CrawlRun.trigger, CrawlRun.status, CrawlRun.items_new, CrawlRun.last_error)
        ).all()
        return {
            "runs": [tuple(r) for r in runs],
            "posts": session.scalar(select(func.count()).select_from(Post)),
            "analysed": session.scalar(select(func.count()).select_from(Analysis)),
            "alerts": [(a.id, a.title, a.rule, a.reason) for a in session.scalars(select(Alert))],
        }


def _digests(smtp: SmtpServer) -> list[Any]:
    return [m for m in list(smtp.messages) if "舆情日报" in str(m["Subject"])]


@pytest.mark.timeout(900)  # `yuqing init` trains the model when this checkout has none yet
def test_serve_crawls_on_schedule_raises_an_alert_and_mails_the_digest(
    settings: Settings, smtp_server: SmtpServer, site: TestSite, tmp_path: Path
) -> None:
    sources = site.write_sources(tmp_path / "sources.toml", "board", name=SOURCE, interval=1)
    init = run_yuqing("init")
    assert init.returncode == 0, init.stdout + init.stderr
    settings_env = {
        "YUQING_SOURCES_FILE": str(sources),
        "YUQING_ALERT_RECIPIENTS": RECIPIENT,
        "YUQING_BASE_URL": "http://yuqing.example.org",
        "YUQING_LOG_LEVEL": "INFO",
    }
    env = {**os.environ, **settings_env}
    started = time.monotonic()

    # 1. serve, digest hour far away: the never-crawled source is crawled at once, on schedule
    later = _hour_other_than_now(settings)
    serve = Serve({**env, "YUQING_DIGEST_HOUR": str(later)}, tmp_path / "serve-1.log")
    try:
        serve.wait_until("web app", serve.web_answers, timeout=60)
        counts = serve.wait_until(
            "alert from the scheduled crawl",
            lambda: (c := _counts(settings))["alerts"] and c,
            timeout=120,  # about 15 s on a quiet machine, 45 s on a loaded 2-core one
        )
        crawl_seconds = time.monotonic() - started
        code = serve.stop(signal.SIGTERM)
    finally:
        serve.kill()
    assert code == 0, f"serve exited {code} on SIGTERM:\n{serve.output()}"
    assert "Traceback" not in serve.output(), serve.output()
    assert "舆情哨兵已停止" in serve.output()  # the scheduler was stopped, not killed
    assert any(
        trigger == "schedule" and status == "ok" and new == 3
        for trigger, status, new, _ in counts["runs"]
    ), counts["runs"]
    assert counts["posts"] == 3 and counts["analysed"] == 3, counts
    titles = [title for _id, title, _rule, _reason in counts["alerts"]]
    assert any("莲花" in t for t in titles), counts["alerts"]
    assert not _digests(smtp_server), "no digest before its hour"
    listed = run_yuqing(
        "schedule", "list", env={**settings_env, "YUQING_DIGEST_HOUR": str(later)}, timeout=60
    )
    [crawl_row] = [line for line in listed.stdout.splitlines() if line.startswith("crawl:")]
    assert crawl_row.startswith(f"crawl:{SOURCE}\t") and crawl_row.endswith("\tok"), crawl_row

    # 2. the digest hour is now: restarted, serve sends today's digest at once, listing the alert
    local = _local_now_not_near_the_hour_end(settings)
    restarted = time.monotonic()
    serve = Serve({**env, "YUQING_DIGEST_HOUR": str(local.hour)}, tmp_path / "serve-2.log")
    try:
        [digest] = serve.wait_until("digest mail", lambda: _digests(smtp_server), timeout=60)
        digest_seconds = time.monotonic() - restarted
        code = serve.stop(signal.SIGINT)
    finally:
        serve.kill()
    assert code == 0, f"serve exited {code} on SIGINT:\n{serve.output()}"
    assert "Traceback" not in serve.output(), serve.output()
    assert "舆情哨兵已停止" in serve.output()

    today = local.date().isoformat()
    subject = str(digest["Subject"])
    assert subject.startswith(f"[舆情哨兵] 舆情日报 {today}：新增告警"), subject
    assert RECIPIENT in str(digest["To"])
    body = text_of(digest)
    for alert_id, title, _rule, _reason in counts["alerts"]:
        assert f"#{alert_id} {title}" in body, body
        assert f"http://yuqing.example.org/alerts/{alert_id}" in body, body
    assert "莲花" in text_of(digest, "html")
    assert len(_digests(smtp_server)) == 1
    print(f"crawl to alert {crawl_seconds:.1f} s; restart to digest {digest_seconds:.1f} s")
