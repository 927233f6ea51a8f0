"""Commands: `yuqing crawl`, `yuqing sources list`, `yuqing export posts`."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import sys
from pathlib import Path
from typing import Any

import click

from core.errors import UserError
from core.spreadsheet import cell

EXPORT_FIELDS = (
    "id",
    "source",
    "url",
    "title",
    "text",
    "author",
    "published_at",
    "fetched_at",
    "likes",
    "replies",
    "reposts",
    "views",
)


def _table(headers: list[str], rows: list[list[str]]) -> str:
    """A plain text table; widths count CJK characters as two columns."""
    import unicodedata

    def width(s: str) -> int:
        return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)

    widths = [max([width(h)] + [width(r[i]) for r in rows]) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        return "  ".join(
            c + " " * (w - width(c)) for c, w in zip(cells, widths, strict=True)
        ).rstrip()

    out = [line(headers), line(["-" * w for w in widths])]
    out += [line(r) for r in rows]
    return "\n".join(out)


@click.command(name="crawl")
@click.option(
    "--source", "names", multiple=True, metavar="NAME", help="Crawl only this source (repeatable)."
)
@click.option(
    "--sources",
    "sources_file",
    type=click.Path(path_type=Path),
    default=None,
    help="Sources file (default: YUQING_SOURCES_FILE, sources.toml).",
)
def crawl(names: tuple[str, ...], sources_file: Path | None) -> None:
    """Crawl the sources now, store new posts and print a summary."""
    from crawlers.runner import crawl as run_crawl

    results = run_crawl(names=list(names) or None, sources_file=sources_file, echo=True)
    rows = []
    for r in results:
        errors = ", ".join(f"{k}×{v}" for k, v in sorted(r.http_errors.items()))
        rows.append(
            [
                r.source,
                r.status,
                str(r.items_new),
                str(r.items_duplicate),
                str(r.pages_fetched),
                errors or "-",
                (r.error or "")[:80],
            ]
        )
    click.echo("")
    click.echo(_table(["source", "status", "new", "known", "pages", "http errors", "note"], rows))
    total_new = sum(r.items_new for r in results)
    failed = [r for r in results if r.status == "failed"]
    click.echo(
        f"\n{total_new} new post(s); "
        f"{len(results) - len(failed)}/{len(results)} source(s) ok or partial"
    )
    if results and len(failed) == len(results):
        raise click.ClickException("every selected source failed")


@click.group(name="sources")
def sources() -> None:
    """Show the crawl sources and their health."""


@sources.command(name="list")
@click.option(
    "--sources",
    "sources_file",
    type=click.Path(path_type=Path),
    default=None,
    help="Sources file (default: YUQING_SOURCES_FILE).",
)
def sources_list(sources_file: Path | None) -> None:
    """List sources with their last run and health."""
    from sqlalchemy import select

    from core.config import get_settings
    from core.db import session_scope
    from crawlers.models import Source
    from crawlers.sources import load_sources
    from crawlers.store import failing_streak, last_runs

    settings = get_settings()
    path = Path(sources_file or settings.sources_file)
    configured = {c.name: c for c in load_sources(path)} if path.is_file() else {}
    with session_scope() as session:
        db_sources = {s.name: s for s in session.scalars(select(Source))}
        latest = last_runs(session=session)
        names = list(configured) + [n for n in sorted(db_sources) if n not in configured]
        if not names:
            click.echo(f"(no sources; copy sources.example.toml to {path} and edit it)")
            return
        rows = []
        for name in names:
            cfg = configured.get(name)
            row = db_sources.get(name)
            run = latest.get(row.id) if row is not None else None
            kind = cfg.kind if cfg else row.kind  # type: ignore[union-attr]
            enabled = cfg.enabled if cfg else False
            if run is None:
                last, health, note = "never", "-", ""
            else:
                when = run.started_at.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M")
                last = f"{when} {run.status}"
                streak = failing_streak(session=session, source_id=row.id) if row else 0
                health = {
                    "ok": "健康",
                    "partial": "部分失败",
                    "failed": "失败",
                    "running": "运行中",
                }.get(run.status, run.status)
                if streak > 1:
                    health += f" (连续{streak}次)"
                note = f"{run.items_new} new" + (
                    f"; {run.last_error[:60]}" if run.last_error else ""
                )
            state = "on" if enabled else ("off" if cfg else "not in file")
            interval = f"{cfg.interval} min" if cfg else "-"
            rows.append([name, kind, state, interval, last, health, note])
    click.echo(_table(["source", "kind", "enabled", "every", "last run", "health", "note"], rows))


def _parse_since(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    from core.config import get_settings
    from crawlers.dates import parse_date

    parsed = parse_date(value, tz=get_settings().tz)
    if parsed is None:
        raise UserError(f"--since: not a date: {value!r} (use YYYY-MM-DD)")
    return parsed


def _record(post: Any, source_name: str) -> dict[str, Any]:
    return {
        "id": post.id,
        "source": source_name,
        "url": post.url,
        "title": post.title,
        "text": post.raw_text,
        "author": post.author,
        "published_at": post.published_at.isoformat() if post.published_at else None,
        "fetched_at": post.fetched_at.isoformat() if post.fetched_at else None,
        "likes": post.likes,
        "replies": post.replies,
        "reposts": post.reposts,
        "views": post.views,
    }


@click.command(name="posts")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "csv", "xlsx"]),
    default="jsonl",
    show_default=True,
)
@click.option("--since", default=None, help="Only posts published or fetched since this date.")
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write to this file instead of standard output.",
)
def export_posts(fmt: str, since: str | None, out: Path | None) -> None:
    """Export posts as JSON Lines, CSV or XLSX."""
    from core.db import session_scope
    from crawlers.store import posts_since

    since_dt = _parse_since(since)
    if fmt == "xlsx" and out is None and sys.stdout.isatty():
        raise UserError("--format xlsx writes binary data: give --out FILE or redirect the output")
    count = 0
    with session_scope() as session:
        records = (
            _record(post, name) for post, name in posts_since(session=session, since=since_dt)
        )
        if fmt == "xlsx":
            count = _write_xlsx(records, out)
        else:
            stream = out.open("w", encoding="utf-8", newline="") if out else None
            target = stream or sys.stdout
            try:
                if fmt == "jsonl":
                    for rec in records:
                        target.write(json.dumps(rec, ensure_ascii=False) + "\n")
                        count += 1
                else:
                    writer = csv.DictWriter(target, fieldnames=EXPORT_FIELDS)
                    writer.writeheader()
                    for rec in records:
                        writer.writerow({k: cell(v) for k, v in rec.items()})
                        count += 1
            finally:
                if stream:
                    stream.close()
    if out:
        click.echo(f"wrote {count} post(s) to {out}", err=True)


def _write_xlsx(records: Any, out: Path | None) -> int:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("posts")
    ws.append(list(EXPORT_FIELDS))
    count = 0
    for rec in records:
        ws.append([cell(rec[k]) for k in EXPORT_FIELDS])
        count += 1
    if out:
        wb.save(out)
    else:
        buf = io.BytesIO()
        wb.save(buf)
        sys.stdout.buffer.write(buf.getvalue())
        sys.stdout.flush()
    return count
