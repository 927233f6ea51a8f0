"""Crawls dispatched to Scrapyd nodes (YUQING_SCRAPYD_URLS) instead of a local subprocess.

Each source becomes one Scrapyd job (`schedule.json`) on the node with the fewest pending and
running jobs; the job runs the same spider, pipelines and RunRecorder as a local crawl, so the
crawl run is recorded in the shared database the same way, with the node and job id. The nodes
must have yuqing installed, the project declared (`[settings] yuqing = crawlers.settings`) and the
same YUQING_DATABASE_URL.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from typing import Any

import click
import httpx

from core.config import Settings
from core.db import session_scope
from core.errors import UserError
from crawlers.models import CrawlRun
from crawlers.sources import SourceConfig

PROJECT = "yuqing"
POLL_SECONDS = 1.0


class ScrapydError(UserError):
    """A Scrapyd node refused or could not be reached; the message names the node."""


def _call(client: httpx.Client, node: str, endpoint: str, data: Any = None) -> dict[str, Any]:
    url = node.rstrip("/") + "/" + endpoint
    try:
        resp = client.post(url, data=data) if data is not None else client.get(url)
    except httpx.HTTPError as exc:
        raise ScrapydError(f"Scrapyd node {node}: {type(exc).__name__}: {exc}") from exc
    try:
        body = resp.json()
    except ValueError as exc:
        raise ScrapydError(
            f"Scrapyd node {node}: {endpoint} answered HTTP {resp.status_code}, not JSON"
        ) from exc
    if body.get("status") != "ok":
        raise ScrapydError(f"Scrapyd node {node}: {endpoint}: {body.get('message', body)}")
    return body


def node_loads(client: httpx.Client, nodes: list[str]) -> dict[str, int]:
    """Pending plus running jobs per reachable node (unreachable nodes are left out)."""
    loads: dict[str, int] = {}
    for node in nodes:
        try:
            status = _call(client, node, "daemonstatus.json")
        except ScrapydError:
            continue
        loads[node] = int(status.get("pending", 0)) + int(status.get("running", 0))
    return loads


def job_args(
    source: SourceConfig, *, run_id: int, source_id: int, tz: str
) -> dict[str, str | list[str]]:
    """The schedule.json form: project, spider, per-source settings and spider arguments."""
    from crawlers.process import spider_settings

    return {
        "project": PROJECT,
        "spider": source.kind,
        "jobid": f"run{run_id}-{uuid.uuid4().hex[:8]}",
        "source": json.dumps(source.to_dict(), ensure_ascii=False),
        "source_id": str(source_id),
        "run_id": str(run_id),
        "tz": tz,
        "setting": [f"{key}={value}" for key, value in spider_settings(source).items()],
    }


def dispatch(
    *,
    jobs: list[dict[str, Any]],
    configs: dict[str, SourceConfig],
    settings: Settings,
    echo: bool = False,
    wait: bool = True,
) -> str:
    """Schedule one Scrapyd job per crawl run and wait for them; "" or why it ended badly."""
    nodes = list(settings.scrapyd_urls)
    with httpx.Client(timeout=30) as client:
        loads = node_loads(client, nodes)
        if not loads:
            raise ScrapydError(f"no Scrapyd node answers (YUQING_SCRAPYD_URLS={','.join(nodes)})")
        placed: dict[str, tuple[str, int]] = {}  # job id -> (node, run id)
        for job in jobs:
            node = min(loads, key=lambda n: (loads[n], nodes.index(n)))
            cfg = configs[job["source"]["name"]]
            form = job_args(
                cfg, run_id=job["run_id"], source_id=job["source_id"], tz=settings.timezone
            )
            try:
                body = _call(client, node, "schedule.json", data=form)
            except ScrapydError as exc:
                _fail_run(job["run_id"], str(exc))
                if echo:
                    click.echo(f"✗ [{cfg.name}] {exc}")
                continue
            loads[node] += 1
            job_id = body.get("jobid", "")
            placed[job_id] = (node, job["run_id"])
            with session_scope() as session:
                run = session.get(CrawlRun, job["run_id"])
                if run is not None:
                    run.node, run.job_id = node, job_id
            if echo:
                click.echo(f"  [{cfg.name}] scheduled on {node} as job {job_id}")
        if not wait:
            return ""
        return _wait(client, placed, settings.crawl_timeout, echo)


def _wait(
    client: httpx.Client, placed: dict[str, tuple[str, int]], timeout: int, echo: bool
) -> str:
    deadline = time.monotonic() + timeout
    pending = dict(placed)
    while pending:
        if time.monotonic() > deadline:
            for job_id, (node, _run) in pending.items():
                with contextlib.suppress(ScrapydError):
                    _call(client, node, "cancel.json", data={"project": PROJECT, "job": job_id})
            return f"Scrapyd jobs stopped after the {timeout} s limit (YUQING_CRAWL_TIMEOUT)"
        for node in {n for n, _ in pending.values()}:
            try:
                listing = _call(client, node, f"listjobs.json?project={PROJECT}")
            except ScrapydError:
                continue
            for row in listing.get("finished", []):
                if row.get("id") in pending:
                    pending.pop(row["id"])
                    if echo:
                        click.echo(f"  Scrapyd job {row['id']} finished on {node}")
        if pending:
            time.sleep(POLL_SECONDS)
    return ""


def _fail_run(run_id: int, message: str) -> None:
    from crawlers.store import finish_run

    with session_scope() as session:
        run = session.get(CrawlRun, run_id)
        if run is not None and run.status == "running":
            finish_run(session=session, run=run, status="failed", last_error=message[:2000])
