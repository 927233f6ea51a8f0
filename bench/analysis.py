"""Throughput of `yuqing classify` end to end and per stage, beside SnowNLP and bare jieba.

Usage: .venv/bin/python bench/analysis.py [--limit 5000] [--snownlp-limit N] [--repeat N]
                                          [--messages FILE]

Every figure is posts per second on the same real messages (the first N of the shared file).
The three whole-process figures each run in a fresh subprocess, so Python start-up, imports,
dictionary and model loading are included; the per-stage figures are measured in-process after
loading. SnowNLP (about 9 posts/s) may run on the first --snownlp-limit posts only, to keep a quick
run quick: its rate is per-post work, and its start-up (about a second) barely moves it.
With --repeat N the classify and jieba runs go round N times, interleaved, and each figure is the
median: on a shared virtual machine a single run's ratio has spread 0.30–0.71 in one afternoon.
Results are printed and written to bench/results/analysis.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
MESSAGES = ROOT.parent / "shared" / "data" / "posts" / "messages.jsonl"

BARE_JIEBA = """
import json, sys, jieba
jieba.setLogLevel(60)
n = 0
for line in open(sys.argv[1], encoding="utf-8"):
    row = json.loads(line)
    jieba.lcut(row["title"] + "\\n" + row["text"])
    n += 1
print(n)
"""

SNOWNLP = """
import json, sys
from snownlp import SnowNLP
n = 0
for line in open(sys.argv[1], encoding="utf-8"):
    row = json.loads(line)
    text = row["title"] + "\\n" + row["text"]
    SnowNLP(text).sentiments if text.strip() else 0.5
    n += 1
print(n)
"""


CPU: dict[str, float] = {}
STAGE_POSTS = 1000


def _run(cmd: list[str], stdin_path: Path | None = None, key: str = "") -> float:
    """Wall seconds of a subprocess; its CPU seconds (user+system) go to CPU[key]."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with open(stdin_path or os.devnull, "rb") as stdin:
        proc = subprocess.run(cmd, stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"benchmark command failed: {' '.join(cmd)}\n{proc.stderr.decode()[-2000:]}")
    if key:
        CPU[key] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")


def main() -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=5000)
    parser.add_argument("--messages", type=Path, default=MESSAGES)
    parser.add_argument("--skip-snownlp", action="store_true")
    parser.add_argument(
        "--repeat", type=int, default=1, help="rounds of the classify and jieba runs (median)"
    )
    parser.add_argument(
        "--snownlp-limit", type=int, default=0, help="run SnowNLP on the first N posts only"
    )
    args = parser.parse_args()
    if args.repeat < 1:
        sys.exit("--repeat must be 1 or more")
    if not args.messages.is_file():
        sys.exit(f"{args.messages}: no such file (the shared real posts)")

    from analysis.setup import ensure_model

    ensure_model(echo=True)
    rows = []
    with args.messages.open(encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            if i >= args.limit:
                break
            r = json.loads(line)
            rows.append(
                {
                    "id": f"{r['src']}:{r['src_id']}",
                    "title": r.get("title") or "",
                    "text": r.get("text") or "",
                }
            )
    n = len(rows)
    chars = sum(len(r["title"]) + len(r["text"]) for r in rows)
    tmp = Path(tempfile.mkdtemp(prefix="yuqing-bench-"))
    data = tmp / "posts.jsonl"
    _write_jsonl(data, rows)
    yuqing = str(Path(sys.executable).parent / "yuqing")
    py = sys.executable

    # warm caches (jieba's prefix-dict cache, the OS page cache) so every run is measured warm
    # (a hundred posts do it: the measured runs then start from the same warm state)
    warm = tmp / "warm.jsonl"
    _write_jsonl(warm, rows[:100])
    _run([py, "-c", BARE_JIEBA, str(warm)])
    _run([yuqing, "classify"], stdin_path=warm)

    # rounds interleave the three commands, so a slow spell of a shared machine hits all three;
    # each figure is the median over rounds, and the ratio is the median of per-round ratios
    commands = {
        "classify_end_to_end": ([yuqing, "classify"], data),
        "classify_no_explain": ([yuqing, "classify", "--no-explain"], data),
        "bare_jieba_process": ([py, "-c", BARE_JIEBA, str(data)], None),
    }
    walls: dict[str, list[float]] = {key: [] for key in commands}
    cpus: dict[str, list[float]] = {key: [] for key in commands}
    for round_no in range(args.repeat):
        for key, (cmd, stdin_path) in commands.items():
            walls[key].append(_run(cmd, stdin_path, key))
            cpus[key].append(CPU[key])
        if args.repeat > 1:
            print(f"round {round_no + 1}/{args.repeat} done", file=sys.stderr, flush=True)
    results: dict[str, float] = {key: n / statistics.median(v) for key, v in walls.items()}
    for key, v in cpus.items():
        CPU[key] = statistics.median(v)
    paired = [
        j / c
        for c, j in zip(walls["classify_end_to_end"], walls["bare_jieba_process"], strict=True)
    ]
    if not args.skip_snownlp:
        snow_data, snow_n = data, n
        if 0 < args.snownlp_limit < n:
            snow_n = args.snownlp_limit
            snow_data = tmp / "snownlp.jsonl"
            _write_jsonl(snow_data, rows[:snow_n])
            print(f"SnowNLP on the first {snow_n} of the {n} posts")
        results["snownlp_process"] = snow_n / _run(
            [py, "-c", SNOWNLP, str(snow_data)], None, "snownlp_process"
        )

    # per stage, in-process, on the first STAGE_POSTS posts (rates are per-post work)
    rows = rows[:STAGE_POSTS]
    n_stage = len(rows)
    t = time.perf_counter()
    from analysis.classifier import load_model, to_matrix
    from analysis.text import feature_tokens, normalize, segment, tokenizer

    tokenizer()
    model = load_model()
    stages: dict[str, float] = {"load (imports, dictionary, model)": time.perf_counter() - t}
    t = time.perf_counter()
    normalized = [(normalize(r["title"]), normalize(r["text"])) for r in rows]
    stages["normalize"] = time.perf_counter() - t
    t = time.perf_counter()
    words = [segment(f"{a}\n{b}" if a else b) for a, b in normalized]
    stages["segment (jieba + domain dictionary)"] = time.perf_counter() - t
    from analysis.classifier import Prepared

    t = time.perf_counter()
    prepared = [
        Prepared(a, b, w, feature_tokens(w)) for (a, b), w in zip(normalized, words, strict=True)
    ]
    rows = to_matrix(prepared)
    X = model.features.transform(rows)
    Xs = model.features_of("sentiment").transform(rows)
    stages["features (tokens, n-grams, lexicons, scope)"] = time.perf_counter() - t
    t = time.perf_counter()
    for name in model.pipelines:
        model.head(name).predict_proba(Xs if name == "sentiment" else X)
    stages["classifiers (4 heads)"] = time.perf_counter() - t
    t = time.perf_counter()
    model.predict(prepared, explain=True)
    stages["predict incl. plans + explanations (features again)"] = time.perf_counter() - t

    snow = results.get("snownlp_process")
    print(f"{n} real posts, {chars / n:.0f} characters on average\n")
    counts = {k: n for k in CPU} | ({"snownlp_process": snow_n} if snow else {})
    cpu_rate = {k: counts[k] / v for k, v in CPU.items()}
    print(f"{'whole process (fresh subprocess)':<52}{'posts/s wall':>14}{'posts/s CPU':>14}")
    for key, value in results.items():
        print(f"  {key:<50}{value:>14.1f}{cpu_rate[key]:>14.1f}")
    for label, rates in (("wall clock", results), ("CPU time", cpu_rate)):
        e2e, jb = rates["classify_end_to_end"], rates["bare_jieba_process"]
        print(f"\n  {label}: classify / bare jieba = {e2e / jb:.2f} (target >= 0.33)", end="")
        if snow:
            print(
                f", classify / SnowNLP = {e2e / rates['snownlp_process']:.1f}x (target >= 10x)",
                end="",
            )
    print()
    if len(paired) > 1:
        listed = ", ".join(f"{r:.2f}" for r in paired)
        print(
            f"  classify / bare jieba per round (wall): {listed}; "
            f"median {statistics.median(paired):.2f}"
        )
    print(f"\n{f'stage (in-process, first {n_stage} posts)':<52}{'posts/s':>10}{'seconds':>10}")
    for key, secs in stages.items():
        rate = "" if key.startswith("load") else f"{n_stage / secs:10.1f}"
        print(f"  {key:<50}{rate:>10}{secs:>10.2f}")
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "analysis.json").write_text(
        json.dumps(
            {
                "posts": n,
                "posts_per_second_wall": results,
                "posts_per_second_cpu": cpu_rate,
                "stage_seconds": stages,
                "classify_to_jieba_per_round": paired,
            },
            indent=2,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
