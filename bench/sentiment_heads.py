"""Which sentiment head to ship: variants scored with each writer's corpus file held out in turn.

    .venv/bin/python -m bench.sentiment_heads [--variants base,nb_lr,...]

How `training.PARAMS` chose the sentiment head without looking at the real-post evaluation.
Random folds put posts of the same writer (same voice, same pet phrases) on both sides of the
split; holding out a whole file (a–n, each written by one team member on its own brief) is the
closest the corpus comes to posts its writers never saw. Each variant is fitted on the other
files and scored by sentiment macro-F1 on the held-out file's relevant posts; files with fewer
than 40 relevant posts or without all three sentiments are not scored. The baseline is the head
shipped before 2026-11-29 (plain logistic regression, probabilities re-weighted to equal class
shares); the ratio is each variant's mean against it. The evaluation set is not read.
Nothing is saved. Takes about 2 minutes a variant on 2 cores.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

VARIANTS: dict[str, dict[str, object]] = {
    "base": {"sentiment_nb_scaled": False, "sentiment_prior_reweight": True},
    "no_reweight": {"sentiment_nb_scaled": False, "sentiment_prior_reweight": False},
    "nb_lr": {"sentiment_nb_scaled": True, "sentiment_prior_reweight": True},
    "nb_lr_no_reweight": {"sentiment_nb_scaled": True, "sentiment_prior_reweight": False},
}
MIN_RELEVANT = 40


def main() -> None:
    """Score each variant file by file and print the means beside the baseline."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated names")
    args = parser.parse_args()
    names = [n for n in args.variants.split(",") if n]
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        sys.exit(f"unknown variant(s): {', '.join(unknown)}; known: {', '.join(VARIANTS)}")
    if "base" not in names:
        names.insert(0, "base")

    from sklearn.metrics import f1_score

    from analysis.classifier import SENTIMENTS, balanced_proba, to_matrix
    from analysis.training import corpus_files, fit_sentiment, prepare_all, read_jsonl_examples

    files = {path.stem: read_jsonl_examples([path]) for path in corpus_files()}
    prepare_all([e for part in files.values() for e in part])
    held_out = [
        name
        for name, part in files.items()
        if sum(e.relevant for e in part) >= MIN_RELEVANT
        and {e.sentiment for e in part if e.relevant} == set(SENTIMENTS)
    ]
    print(
        f"{sum(map(len, files.values()))} corpus posts in {len(files)} files; "
        f"scored on {len(held_out)} held-out files: {' '.join(held_out)}",
        flush=True,
    )

    means: dict[str, float] = {}
    for name in names:
        started = time.perf_counter()
        per_file = []
        for test_name in held_out:
            train = [e for other, part in files.items() if other != test_name for e in part]
            test = [e for e in files[test_name] if e.relevant]
            pipe = fit_sentiment(train, VARIANTS[name])
            proba = balanced_proba(
                pipe[-1], pipe.predict_proba(to_matrix([e.prepared for e in test]))
            )
            predicted = np.asarray(pipe[-1].classes_)[proba.argmax(axis=1)]
            gold = [e.sentiment for e in test]
            per_file.append(f1_score(gold, predicted, labels=list(SENTIMENTS), average="macro"))
        means[name] = float(np.mean(per_file))
        print(
            f"{name:<20} macro-F1 {means[name]:.3f}  (files {min(per_file):.3f}–"
            f"{max(per_file):.3f}, {time.perf_counter() - started:.0f} s)",
            flush=True,
        )
    print("\nvariant              mean macro-F1   ratio to base")
    for name in names:
        print(f"{name:<20} {means[name]:>15.3f}   {means[name] / means['base']:>12.3f}")


if __name__ == "__main__":
    main()
