"""How much staff corrections move the scores: a split of the real-post evaluation.

    .venv/bin/python -m bench.corrections [--seeds 3]

The shipped model never trains on the evaluation posts. This benchmark plays the part of staff:
it splits the 584 labelled real posts in two halves (stratified by relevance and sentiment),
treats one half as staff corrections (as the label corrections table would hold them) and scores
on the other half, beside the corpus-only model on the same half. Then the halves swap, for each
seed. The baseline is the corpus-only model; the ratio is the change each figure makes.
Nothing is saved; no model in the data dir is touched.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FIGURES = (
    ("relevance F1", ("relevance", "f1")),
    ("sentiment macro-F1", ("sentiment", "macro_f1")),
    ("topic micro-F1", ("topics", "micro_f1")),
)


def _figure(scores: dict, path: tuple[str, str]) -> float:
    return float(scores[path[0]][path[1]])


def main() -> None:
    """Run the split and print corpus-only versus corpus + corrections."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=1, help="repeat the split with more seeds")
    args = parser.parse_args()

    from sklearn.model_selection import StratifiedKFold

    from analysis.classifier import Model
    from analysis.plans import load_plans
    from analysis.training import (
        corpus_files,
        eval_examples,
        fit,
        predict_for_scoring,
        prepare_all,
        read_jsonl_examples,
        scores,
    )

    real = eval_examples()
    if real is None:
        sys.exit("../shared/data/posts/messages.jsonl is absent: nothing to measure")
    corpus = read_jsonl_examples(corpus_files())
    started = time.perf_counter()
    print(f"preparing {len(corpus)} corpus posts and {len(real)} real posts", flush=True)
    prepare_all(corpus)
    prepare_all(real)
    plans = load_plans()

    def score(train: list, test: list) -> dict:
        pipelines, codes = fit(train)
        model = Model(pipelines=pipelines, metadata={}, topic_codes=codes, plans=plans)
        return scores(test, predict_for_scoring(model, test), codes)

    strat = [f"{e.relevant}-{e.sentiment}" for e in real]
    base_runs, corr_runs = [], []
    for seed in range(args.seeds):
        halves = StratifiedKFold(n_splits=2, shuffle=True, random_state=seed)
        for n, (corr_idx, test_idx) in enumerate(halves.split(np.zeros(len(real)), strat), 1):
            corrections = [dataclasses.replace(real[i], origin="correction") for i in corr_idx]
            test = [real[i] for i in test_idx]
            print(
                f"seed {seed} half {n}: {len(corrections)} corrections, scoring {len(test)}",
                flush=True,
            )
            base_runs.append(score(corpus, test))
            corr_runs.append(score(corpus + corrections, test))

    rows = []
    print(f"\n{'figure (held-out half)':<24}{'corpus only':>14}{'+ corrections':>16}{'ratio':>8}")
    for label, path in FIGURES:
        base = float(np.mean([_figure(s, path) for s in base_runs]))
        corr = float(np.mean([_figure(s, path) for s in corr_runs]))
        rows.append({"figure": label, "corpus_only": base, "with_corrections": corr})
        print(f"  {label:<22}{base:>14.3f}{corr:>16.3f}{corr / base:>8.2f}")
    print(f"\n{len(base_runs)} splits, {time.perf_counter() - started:.0f} s")
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "corrections.json").write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
