"""Precision and recall of "alert or not" on the real-post evaluation set.

    python -m bench.alerts_eval [--classifier]

Each labelled message (analysis/data/eval/messages_labels.jsonl, texts from
../shared/data/posts/messages.jsonl) is run through the default content rules as one post. Board
letters (`src` starting with `tdb`) are addressed to the local government, so they count as
naming one of our places; Weibo posts do not. Without `--classifier` the analysis comes from the
gold labels (measures the rules alone); with it, from `yuqing classify` (the whole chain).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

from alerts.rules import PostFacts, escalation, load_rules_file, local_negative

ROOT = Path(__file__).resolve().parent.parent
LABELS = ROOT / "analysis" / "data" / "eval" / "messages_labels.jsonl"
MESSAGES = ROOT.parent / "shared" / "data" / "posts" / "messages.jsonl"


def _load() -> list[tuple[dict, dict]]:
    labels = {(r["src"], str(r["src_id"])): r for r in map(json.loads, LABELS.open())}
    rows = []
    with MESSAGES.open(encoding="utf-8") as fh:
        for line in fh:
            msg = json.loads(line)
            key = (msg["src"], str(msg["src_id"]))
            if key in labels:
                rows.append((msg, labels[key]))
    return rows


def _classify(rows: list[tuple[dict, dict]]) -> list[dict]:
    exe = Path(sys.executable).parent / "yuqing"
    payload = "".join(
        json.dumps(
            {"id": i, "title": m.get("title", ""), "text": m.get("text", "")}, ensure_ascii=False
        )
        + "\n"
        for i, (m, _) in enumerate(rows)
    )
    out = subprocess.run(
        [str(exe), "classify"], input=payload, capture_output=True, text=True, check=True
    ).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def main() -> None:
    """Print precision, recall and the confusion counts."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--classifier", action="store_true", help="use `yuqing classify`")
    args = parser.parse_args()
    rows = _load()
    predicted = _classify(rows) if args.classifier else [label for _, label in rows]
    rules = [r for r in load_rules_file() if r.kind in ("local_negative", "escalation")]
    now = dt.datetime.now(dt.UTC)
    tp = fp = fn = tn = 0
    for i, ((msg, label), pred) in enumerate(zip(rows, predicted, strict=True)):
        post = PostFacts(
            post_id=i,
            event_id=None,
            source_id=0,
            title=msg.get("title", ""),
            text=msg.get("text", ""),
            relevant=bool(pred["relevant"]),
            sentiment=pred["sentiment"],
            topics=list(pred.get("topics", [])),
            places=["board"] if msg["src"].startswith("tdb") else [],
            weight=1.0,
            likes=int(msg.get("likes") or 0),
            replies=0,
            reposts=0,
            views=0,
            time=now,
            fetched_at=now,
        )
        fired = []
        for rule in rules:
            check = local_negative if rule.kind == "local_negative" else escalation
            if check(rule, f"post:{i}", [post]) is not None:
                fired.append(rule.code)
        alert = bool(fired)
        if alert and label["alert"]:
            tp += 1
        elif alert:
            fp += 1
            print(f"FP {msg['src']}/{msg['src_id']} {fired}", file=sys.stderr)
        elif label["alert"]:
            fn += 1
            print(f"FN {msg['src']}/{msg['src_id']}", file=sys.stderr)
        else:
            tn += 1
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    source = "yuqing classify" if args.classifier else "gold labels"
    print(
        f"alert-or-not on {len(rows)} real posts (analysis from {source}): "
        f"precision {precision:.2f}, recall {recall:.2f} (tp {tp}, fp {fp}, fn {fn}, tn {tn})"
    )


if __name__ == "__main__":
    main()
