"""Crawling through a real Scrapyd on 127.0.0.1: runs dispatched, posts stored, runs recorded."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from core import config
from crawlers.models import CrawlRun, Post
from tests.conftest import ROOT
from tests.testsite import TestSite, free_port

pytestmark = pytest.mark.slow


@pytest.fixture
def scrapyd(tmp_path: Path, settings: config.Settings) -> Iterator[str]:
    """A real scrapyd with the yuqing project declared, sharing the test's database."""
    exe = Path(sys.executable).parent / "scrapyd"
    if not exe.exists() and not shutil.which("scrapyd"):
        pytest.fail("scrapyd is not installed (it is in the dev extras)")
    home = tmp_path / "scrapyd"
    home.mkdir()
    port = free_port()
    (home / "scrapyd.conf").write_text(
        "[scrapyd]\n"
        f"bind_address = 127.0.0.1\nhttp_port = {port}\npoll_interval = 0.2\n"
        "max_proc = 4\nlogs_dir = logs\neggs_dir = eggs\ndbs_dir = dbs\n",
        encoding="utf-8",
    )
    # the project's own scrapy.cfg declares the project for Scrapyd and for `scrapy list`
    shutil.copy(ROOT / "scrapy.cfg", home / "scrapy.cfg")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    log = (home / "scrapyd.log").open("w")
    proc = subprocess.Popen([str(exe)], cwd=home, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(url + "/daemonstatus.json", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("scrapyd did not start: " + (home / "scrapyd.log").read_text())
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


def test_crawl_dispatched_to_scrapyd(
    tmp_path: Path, settings: config.Settings, session, scrapyd: str, monkeypatch
) -> None:
    from crawlers.runner import crawl

    monkeypatch.setenv("YUQING_SCRAPYD_URLS", scrapyd)
    config.get_settings.cache_clear()
    with TestSite() as site:
        sources = site.write_sources(tmp_path / "sources.toml", "board", "api")
        results = crawl(sources_file=sources)
        assert len(results) == 2
        assert all(r.status == "ok" for r in results), results
        # both channels carry the same posts: each stored once, the other copy known by content
        assert sum(r.items_new for r in results) == len(site.posts), results
        assert all(r.pages_fetched > 0 for r in results), results

        runs = session.scalars(select(CrawlRun)).all()
        assert {run.node for run in runs} == {scrapyd}
        assert all(run.job_id for run in runs)
        stored = session.scalar(select(func.count()).select_from(Post))
        assert stored == sum(r.items_new for r in results)

        # a second dispatched crawl finds nothing new, as a local one would
        again = crawl(sources_file=sources)
        assert sum(r.items_new for r in again) == 0
        assert all(r.status == "ok" for r in again), again


def test_unreachable_scrapyd_is_one_clear_error(
    tmp_path: Path, settings: config.Settings, monkeypatch
) -> None:
    from core.errors import UserError
    from crawlers.runner import crawl

    monkeypatch.setenv("YUQING_SCRAPYD_URLS", f"http://127.0.0.1:{free_port()}")
    config.get_settings.cache_clear()
    with TestSite() as site:
        sources = site.write_sources(tmp_path / "sources.toml", "board")
        with pytest.raises(UserError, match="no Scrapyd node answers"):
            crawl(sources_file=sources)
