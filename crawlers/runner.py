"""Run a crawl: sync sources, start the Scrapy subprocess, follow its progress, close the runs."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from core.config import get_settings
from core.db import session_scope
from core.errors import UserError
from crawlers.models import CrawlRun
from crawlers.sources import SourceConfig, load_sources
from crawlers.store import finish_run, start_run, sync_sources


@dataclass
class RunResult:
    """How one source's crawl ended."""

    source: str
    status: str
    items_new: int = 0
    items_duplicate: int = 0
    error: str = ""
    pages_fetched: int = 0
    http_errors: dict[str, int] = field(default_factory=dict)
    run_id: int = 0
    seconds: float = 0.0


def select_sources(
    configs: list[SourceConfig], names: list[str] | None, path: Path
) -> list[SourceConfig]:
    """The sources to crawl: the named ones (even if disabled), else every enabled one."""
    if names:
        by_name = {c.name: c for c in configs}
        unknown = [n for n in names if n not in by_name]
        if unknown:
            raise UserError(
                f"{path}: no source named {', '.join(map(repr, unknown))} "
                f"(known: {', '.join(by_name) or 'none'})"
            )
        return [by_name[n] for n in dict.fromkeys(names)]
    selected = [c for c in configs if c.enabled]
    if not selected:
        raise UserError(f"{path}: no enabled sources to crawl")
    return selected


def crawl(
    *,
    names: list[str] | None = None,
    sources_file: Path | None = None,
    trigger: str = "manual",
    echo: bool = False,
) -> list[RunResult]:
    """Crawl the selected sources in a Scrapy subprocess; one result per source."""
    settings = get_settings()
    path = Path(sources_file or settings.sources_file)
    configs = load_sources(path)
    selected = select_sources(configs, names, path)

    jobs: list[dict[str, Any]] = []
    with session_scope() as session:
        rows = sync_sources(session=session, configs=configs)
        for cfg in selected:
            run = start_run(session=session, source=rows[cfg.name], trigger=trigger)
            jobs.append({"run_id": run.id, "source_id": rows[cfg.name].id, "source": cfg.to_dict()})

    data_dir = settings.data_dir.resolve()
    log_dir = data_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    log_path = log_dir / f"crawl-{stamp}.log"
    spec = {
        "runs": jobs,
        "timezone": settings.timezone,
        "settings": {
            "HTTPCACHE_DIR": str(data_dir / "httpcache"),
            "LOG_LEVEL": settings.log_level,
        },
    }
    with tempfile.NamedTemporaryFile(
        "w", suffix=".json", prefix="crawl-", dir=data_dir, delete=False, encoding="utf-8"
    ) as fh:
        json.dump(spec, fh, ensure_ascii=False)
        spec_path = Path(fh.name)

    if settings.scrapyd_urls:
        from crawlers.scrapyd import dispatch

        if echo:
            click.echo(f"crawling {len(jobs)} source(s) on Scrapyd")
        exit_note = dispatch(
            jobs=jobs, configs={c.name: c for c in selected}, settings=settings, echo=echo
        )
        return _results([j["run_id"] for j in jobs], exit_note)
    if echo:
        click.echo(f"crawling {len(jobs)} source(s); log: {log_path}")
    try:
        exit_note = _run_subprocess(spec_path, log_path, settings.crawl_timeout, echo)
    finally:
        spec_path.unlink(missing_ok=True)
    return _results([j["run_id"] for j in jobs], exit_note)


def _run_subprocess(spec_path: Path, log_path: Path, timeout: int, echo: bool) -> str:
    """Run the crawl process; returns why it ended badly, or "" when it exited cleanly."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with log_path.open("w", encoding="utf-8") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "crawlers.process", str(spec_path)],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            encoding="utf-8",
            env=env,
        )
        reader = threading.Thread(target=_follow, args=(proc, echo), daemon=True)
        reader.start()
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            reader.join(timeout=5)
            return f"crawl stopped after the {timeout} s limit (YUQING_CRAWL_TIMEOUT)"
        reader.join(timeout=5)
    if code != 0:
        tail = _tail(log_path)
        return f"crawl process exited with code {code}" + (f": {tail}" if tail else "")
    return ""


def _tail(path: Path) -> str:
    try:
        lines = [ln for ln in path.read_text(encoding="utf-8", errors="replace").splitlines() if ln]
    except OSError:
        return ""
    return lines[-1][:300] if lines else ""


def _follow(proc: subprocess.Popen[str], echo: bool) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if echo:
            _echo_event(event)


def _echo_event(event: dict[str, Any]) -> None:
    name = event.get("source", "?")
    kind = event.get("event")
    if kind == "start":
        click.echo(f"  [{name}] started")
    elif kind == "progress":
        click.echo(
            f"  [{name}] {event.get('pages', 0)} pages, {event.get('items', 0)} posts found, "
            f"{event.get('new', 0)} new"
        )
    elif kind == "done":
        status = event.get("status", "?")
        mark = {"ok": "✓", "partial": "!", "failed": "✗"}.get(status, "?")
        line = (
            f"{mark} [{name}] {status}: {event.get('items_new', 0)} new, "
            f"{event.get('items_duplicate', 0)} known, {event.get('pages_fetched', 0)} pages"
        )
        if event.get("last_error"):
            line += f" – {event['last_error']}"
        click.echo(line)


def _results(run_ids: list[int], exit_note: str) -> list[RunResult]:
    results = []
    with session_scope() as session:
        for run_id in run_ids:
            run = session.get(CrawlRun, run_id)
            assert run is not None
            if run.status == "running":
                # the subprocess died or was stopped before this source finished
                note = exit_note or "crawl process ended before this source finished"
                finish_run(
                    session=session,
                    run=run,
                    status="partial" if run.items_new else "failed",
                    last_error=note,
                )
            seconds = (run.finished_at - run.started_at).total_seconds() if run.finished_at else 0.0
            results.append(
                RunResult(
                    source=run.source.name,
                    status=run.status,
                    items_new=run.items_new,
                    items_duplicate=run.items_duplicate,
                    error=run.last_error,
                    pages_fetched=run.pages_fetched,
                    http_errors=dict(run.http_errors or {}),
                    run_id=run.id,
                    seconds=seconds,
                )
            )
    return results
