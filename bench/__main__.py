"""Run every benchmark, print each figure with its ratio to a named baseline, save JSON.

    python -m bench                 # small sizes: the whole run in a few minutes on 2 cores
    python -m bench --large         # the sizes the issues name (10,000 pages, 1M posts, ...)
    python -m bench --only analysis,report

Each figure is printed with its ratio to a named baseline (bare Scrapy, SnowNLP, bare jieba, a
city's volume, the issue's target), lower-is-better figures as baseline / figure, beside the ratio
the issue asks for. Results go to bench/results/<timestamp>-<size>.json.
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
    """One number a benchmark reports and the baseline it is held against."""

    key: str
    pattern: str  # regex whose first group is the number (commas allowed)
    unit: str
    baseline_name: str
    baseline: float | None = None  # a fixed yardstick, or...
    baseline_pattern: str = ""  # ...a number the same run measured (bare Scrapy, SnowNLP, ...)
    higher_is_better: bool = True
    target: float | None = 1.0  # the ratio the issue asks for (None: no target named)


@dataclass
class Bench:
    """One benchmark script and how to read it."""

    name: str
    small: list[str]
    large: list[str]
    figures: list[Figure]
    timeout: int = 900
    env: dict[str, str] = field(default_factory=dict)


_YUQING_ROW = r"yuqing \(full pipeline\)\s+\d+\s+\d+\s+[\d.]+\s+"
_BARE_ROW = r"bare Scrapy baseline\s+\d+\s+\d+\s+[\d.]+\s+"
_CLASSIFY = r"classify_end_to_end\s+([\d.]+)"

BENCHES: list[Bench] = [
    Bench(
        "crawl",
        small=["--posts", "1000"],
        large=["--posts", "10000"],
        figures=[
            Figure(
                "pages_per_s",
                _YUQING_ROW + r"([\d.]+)",
                "pages/s",
                "bare Scrapy on the same pages",
                baseline_pattern=_BARE_ROW + r"([\d.]+)",
                target=None,
            ),
            Figure(
                "peak_rss_mb",
                _YUQING_ROW + r"[\d.]+\s+([\d.]+)",
                "MB",
                "bare Scrapy's peak memory",
                baseline_pattern=_BARE_ROW + r"[\d.]+\s+([\d.]+)",
                higher_is_better=False,
                target=None,
            ),
            Figure(
                "pages_per_s_vs_city",
                _YUQING_ROW + r"([\d.]+)",
                "pages/s",
                "a city's need: 2,000 sources × 5 pages an hour",
                baseline=CITY_PAGES_PER_S,
            ),
        ],
    ),
    Bench(
        "analysis",
        # the 5,000 posts; SnowNLP, the baseline, runs at about 9 posts/s, so the quick run
        # times it on the first 300 (a rate of per-post work: its start-up barely moves it)
        small=["--limit", "5000", "--snownlp-limit", "300"],
        large=["--limit", "5000"],
        figures=[
            Figure(
                "classify_vs_snownlp",
                _CLASSIFY,
                "posts/s",
                "SnowNLP sentiment, same posts",
                baseline_pattern=r"snownlp_process\s+([\d.]+)",
                target=10,
            ),
            Figure(
                "classify_vs_jieba",
                _CLASSIFY,
                "posts/s",
                "bare jieba segmentation",
                baseline_pattern=r"bare_jieba_process\s+([\d.]+)",
                target=1 / 3,
            ),
            Figure(
                "classify_vs_city",
                _CLASSIFY,
                "posts/s",
                "a city's volume: 200,000 posts a day",
                baseline=CITY_POSTS_PER_DAY / 86400,
            ),
        ],
    ),
    Bench(
        "web",
        small=["--posts", "20000", "--runs", "20"],
        large=["--posts", "1000000"],
        figures=[
            Figure(
                key,
                rf"^{re.escape(page)}\s+[\d.]+\s+([\d.]+)",
                "ms p95",
                "issue 6 target: p95 under 150 ms",
                baseline=150,
                higher_is_better=False,
            )
            for key, page in (
                ("alerts_list_p95", "alerts list"),
                ("alert_detail_p95", "alert detail"),
                ("dashboard_p95", "dashboard (30 days)"),
            )
        ],
    ),
    Bench(
        "report",
        small=["--posts", "20000"],
        large=["--large"],
        figures=[
            Figure(
                "monthly_report_s",
                r"monthly report[^\n]*?:\s*([\d,.]+)s;",
                "s",
                "one minute for a report built on demand",
                baseline=60,
                higher_is_better=False,
            ),
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


def _number(pattern: str, output: str) -> float | None:
    match = re.search(pattern, output, flags=re.IGNORECASE | re.MULTILINE)
    if not match:
        return None
    try:
        return float(match.group(1).replace(",", ""))
    except ValueError:
        return None


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
        if fig.key in emitted:
            value: float | None = float(emitted[fig.key]["value"])
        else:
            value = _number(fig.pattern, output)
        baseline = (
            fig.baseline if fig.baseline is not None else _number(fig.baseline_pattern, output)
        )
        ratio = None
        if value and baseline:
            ratio = value / baseline if fig.higher_is_better else baseline / value
        figures[fig.key] = {
            "value": value,
            "unit": fig.unit,
            "baseline": None if baseline is None else round(baseline, 3),
            "baseline_name": fig.baseline_name,
            "higher_is_better": fig.higher_is_better,
            "ratio": None if ratio is None else round(ratio, 2),
            "target_ratio": None if fig.target is None else round(fig.target, 2),
            "meets_target": None if ratio is None or fig.target is None else ratio >= fig.target,
        }
    for key, row in emitted.items():
        if key not in figures:
            figures[key] = {
                "value": row.get("value"),
                "unit": row.get("unit", ""),
                "baseline": None,
                "baseline_name": "",
                "ratio": None,
            }
    return figures


def print_summary(results: list[dict[str, Any]]) -> None:
    """Every figure with its ratio to its baseline, one line each."""
    print(
        "\n== summary: figure, ratio to the named baseline (lower-is-better figures: "
        "baseline / figure), the target ratio"
    )
    for res in results:
        took = f", {res['seconds']}s" if "seconds" in res else ""
        print(f"{res['name']}: {res['status']}{took}")
        for key, fig in res["figures"].items():
            if fig["value"] is None:
                print(f"  {key:<22} (not reported)")
                continue
            line = f"  {key:<22} {fig['value']:>10,.1f} {fig['unit']:<8}"
            if fig["ratio"] is not None:
                line += f" {fig['ratio']:>7.2f}× {fig['baseline_name']} ({fig['baseline']:g})"
                if fig.get("target_ratio") is not None:
                    mark = "meets" if fig["meets_target"] else "MISSES"
                    line += f"; target ≥ {fig['target_ratio']:g}×: {mark}"
            print(line)


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
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "database": os.environ.get("YUQING_DATABASE_URL", "").split("@")[-1] or "sqlite",
        "seconds": round(total, 1),
        "city_volume": {
            "pages_per_s": round(CITY_PAGES_PER_S, 2),
            "posts_per_day": CITY_POSTS_PER_DAY,
        },
        "benchmarks": results,
    }
    path.write_text(json.dumps(payload, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"\nwhole run {total:.0f}s; result written to {path.relative_to(ROOT)}")
    failed = [r["name"] for r in results if r["status"] not in ("ok", "missing")]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
