"""Run every benchmark, print each figure with its ratio to a named baseline, save JSON.

    python -m bench                 # small sizes: the whole run in a few minutes on 2 cores
    python -m bench --large         # the sizes the issues name (10,000 pages, 1M posts, ...)
    python -m bench --only analysis,report

A ratio of 1.0 or more means the figure meets its baseline (for "lower is better" figures the
ratio is baseline / figure). Results go to bench/results/<timestamp>.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import FIGURE_PREFIX

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"

# What a whole city asks of one installation, the yardstick of the capacity statements: Shenzhen
# has 74 sub-districts; say 2,000 sources crawled hourly, 5 pages each, and 200,000 new posts a
# day (an order of magnitude above what the city's public boards and local forums publish).
CITY_PAGES_PER_S = 2_000 * 5 / 3600
CITY_POSTS_PER_DAY = 200_000


@dataclass
class Figure:
    """One number a benchmark reports and what it is held against."""

    key: str
    pattern: str  # regex with one group: the number (commas allowed)
    unit: str
    baseline: float
    baseline_name: str
    higher_is_better: bool = True


@dataclass
class Bench:
    """One benchmark script and how to read it."""

    name: str
    small: list[str]
    large: list[str]
    figures: list[Figure]
    timeout: int = 600
    note: str = ""
    env: dict[str, str] = field(default_factory=dict)


BENCHES: list[Bench] = [
    Bench(
        "crawl",
        small=["--pages", "1000"],
        large=["--pages", "10000"],
        figures=[
            Figure("pages_per_s", r"([\d,.]+)\s*pages/s", "pages/s", CITY_PAGES_PER_S,
                   "a city's need: 2,000 sources × 5 pages every hour"),
            Figure("peak_rss_mb", r"peak (?:memory|RSS)[^\d]*([\d,.]+)\s*MB", "MB", 1024,
                   "1 GB for a crawl process", higher_is_better=False),
        ],
    ),
    Bench(
        "analysis",
        small=["--posts", "1000"],
        large=["--posts", "5000"],
        figures=[
            Figure("classify_posts_per_s", r"classify[^\n]*?([\d,.]+)\s*posts/s", "posts/s",
                   CITY_POSTS_PER_DAY / 86400, "a city's volume: 200,000 posts a day"),
            Figure("vs_snownlp", r"([\d,.]+)\s*[×x]\s*SnowNLP", "×", 10,
                   "issue 4 target: 10× SnowNLP's sentiment throughput"),
            Figure("vs_jieba", r"([\d,.]+)\s*[×x]\s*(?:bare )?jieba", "×", 1 / 3,
                   "issue 4 target: within 3× of bare jieba segmentation"),
        ],
    ),
    Bench(
        "web",
        small=["--posts", "20000", "--requests", "30"],
        large=["--posts", "1000000"],
        figures=[
            Figure("alerts_p95_ms", r"alerts[^\n]*?p95[^\d]*([\d,.]+)\s*ms", "ms", 150,
                   "issue 6 target: p95 under 150 ms", higher_is_better=False),
            Figure("alert_detail_p95_ms", r"detail[^\n]*?p95[^\d]*([\d,.]+)\s*ms", "ms", 150,
                   "issue 6 target: p95 under 150 ms", higher_is_better=False),
            Figure("dashboard_p95_ms", r"dashboard[^\n]*?p95[^\d]*([\d,.]+)\s*ms", "ms", 150,
                   "issue 6 target: p95 under 150 ms", higher_is_better=False),
        ],
    ),
    Bench(
        "report",
        small=["--posts", "20000"],
        large=["--large"],
        figures=[
            Figure("monthly_report_s", r"monthly report[^\n]*?:\s*([\d,.]+)s;", "s", 60,
                   "one minute for a report built on demand", higher_is_better=False),
        ],
    ),
]


def run_one(bench: Bench, *, large: bool) -> dict[str, Any]:
    """Run one benchmark script in a subprocess; its output streams through and is parsed."""
    module = f"bench.{bench.name}"
    args = bench.large if large else bench.small
    if not (ROOT / "bench" / f"{bench.name}.py").is_file():
        print(f"  (bench/{bench.name}.py is not in this build; skipped)")
        return {"name": bench.name, "status": "missing", "figures": {}}
    cmd = [sys.executable, "-m", module, *args]
    print(f"$ {' '.join(cmd[1:])}", flush=True)
    started = time.monotonic()
    lines: list[str] = []
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **bench.env}
    proc = subprocess.Popen(
        cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            lines.append(line)
            if not line.startswith(FIGURE_PREFIX):
                print("  " + line, end="", flush=True)
        code = proc.wait(timeout=bench.timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        code = -9
    except KeyboardInterrupt:
        proc.kill()
        raise
    seconds = time.monotonic() - started
    output = "".join(lines)
    status = "ok" if code == 0 else f"failed (exit {code})"
    return {
        "name": bench.name,
        "args": args,
        "status": status,
        "seconds": round(seconds, 1),
        "figures": parse_figures(bench, output),
    }


def parse_figures(bench: Bench, output: str) -> dict[str, Any]:
    """The bench's figures, from BENCH lines when it prints them, else from its text."""
    emitted: dict[str, dict[str, Any]] = {}
    for line in output.splitlines():
        if line.startswith(FIGURE_PREFIX):
            try:
                row = json.loads(line.removeprefix(FIGURE_PREFIX))
                emitted[row["figure"]] = row
            except (ValueError, KeyError, TypeError):
                continue
    figures: dict[str, Any] = {}
    for fig in bench.figures:
        value: float | None = None
        if fig.key in emitted:
            value = float(emitted[fig.key]["value"])
        else:
            match = re.search(fig.pattern, output, flags=re.IGNORECASE)
            if match:
                try:
                    value = float(match.group(1).replace(",", ""))
                except ValueError:
                    value = None
        ratio = None
        if value is not None and value > 0:
            ratio = value / fig.baseline if fig.higher_is_better else fig.baseline / value
        figures[fig.key] = {
            "value": value,
            "unit": fig.unit,
            "baseline": round(fig.baseline, 3),
            "baseline_name": fig.baseline_name,
            "higher_is_better": fig.higher_is_better,
            "ratio": None if ratio is None else round(ratio, 2),
        }
    for key, row in emitted.items():
        if key not in figures:
            figures[key] = {"value": row.get("value"), "unit": row.get("unit", ""),
                            "baseline": None, "baseline_name": "", "ratio": None}
    return figures


def print_summary(results: list[dict[str, Any]]) -> None:
    """Every figure with its ratio to its baseline, one line each."""
    print("\n== summary (ratio ≥ 1.0 meets the baseline)")
    for res in results:
        took = f", {res['seconds']}s" if "seconds" in res else ""
        print(f"{res['name']}: {res['status']}{took}")
        for key, fig in res["figures"].items():
            if fig["value"] is None:
                print(f"  {key:<24} (not reported)")
                continue
            ratio = "" if fig["ratio"] is None else f"{fig['ratio']:>8.2f}×"
            word = "" if fig["baseline"] is None else (
                f"  vs {fig['baseline']:g} {fig['unit']} ({fig['baseline_name']})"
            )
            print(f"  {key:<24} {fig['value']:>12,.2f} {fig['unit']:<8}{ratio}{word}")


def main(argv: list[str] | None = None) -> int:
    """Run the selected benchmarks and write the JSON result."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--large", action="store_true", help="the large sizes the issues name")
    parser.add_argument("--only", default="", help="comma-separated: crawl,analysis,web,report")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder of the JSON result")
    args = parser.parse_args(argv)
    wanted = [n.strip() for n in args.only.split(",") if n.strip()]
    known = {b.name for b in BENCHES}
    unknown = set(wanted) - known
    if unknown:
        parser.error(f"unknown benchmark(s) {sorted(unknown)}; choose from {sorted(known)}")
    selected = [b for b in BENCHES if not wanted or b.name in wanted]

    started = time.monotonic()
    results = []
    for bench in selected:
        print(f"\n== {bench.name} ({'large' if args.large else 'small'})", flush=True)
        results.append(run_one(bench, large=args.large))
    total = time.monotonic() - started
    print_summary(results)

    args.out.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = args.out / f"{stamp}-{'large' if args.large else 'small'}.json"
    payload = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "size": "large" if args.large else "small",
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "cpus": os.cpu_count()},
        "database": os.environ.get("YUQING_DATABASE_URL", "").split("@")[-1] or "sqlite",
        "seconds": round(total, 1),
        "city_volume": {"pages_per_s": round(CITY_PAGES_PER_S, 2),
                        "posts_per_day": CITY_POSTS_PER_DAY},
        "benchmarks": results,
    }
    path.write_text(json.dumps(payload, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"\nwhole run {total:.0f}s; result written to {path.relative_to(ROOT)}")
    failed = [r["name"] for r in results if r["status"] not in ("ok", "missing")]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
