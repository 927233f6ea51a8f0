"""The real-post evaluation labels: labels only, consistent, scored beside SnowNLP and humans."""

from __future__ import annotations

import json

from analysis.classifier import SENTIMENTS
from analysis.taxonomy import load_taxonomy
from analysis.training import (
    AGREEMENT,
    EVAL_LABELS,
    annotator_agreement,
    eval_examples,
    evaluate_real,
)
from tests.conftest import shared_data

LABEL_KEYS = {"src", "src_id", "relevant", "topics", "sentiment", "alert"}


def _rows(path):  # type: ignore[no-untyped-def]
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def test_eval_file_holds_labels_only_and_they_are_valid() -> None:
    rows = _rows(EVAL_LABELS)
    codes = set(load_taxonomy())
    assert len(rows) >= 400
    assert len({(r["src"], r["src_id"]) for r in rows}) == len(rows)
    for r in rows:
        assert set(r) == LABEL_KEYS, r  # never the texts
        assert r["sentiment"] in SENTIMENTS
        assert set(r["topics"]) <= codes
        assert r["relevant"] or (r["topics"] == [] and not r["alert"])
        assert not r["alert"] or r["sentiment"] == "negative"


def test_agreement_file_matches_the_adjudicated_eval_labels() -> None:
    rows = _rows(AGREEMENT)
    labels = _rows(EVAL_LABELS)
    relevant = {(r["src"], r["src_id"]): r["sentiment"] for r in labels if r["relevant"]}
    assert {(r["src"], r["src_id"]) for r in rows} == set(relevant)
    for r in rows:
        assert set(r) == {"src", "src_id", "first", "second", "final"}
        assert {r["first"], r["second"], r["final"]} <= set(SENTIMENTS)
        # the final label is one of the two readings, and it is what the evaluation scores against
        assert r["final"] in (r["first"], r["second"]), r
        assert relevant[(r["src"], r["src_id"])] == r["final"], r

    agreement = annotator_agreement()
    assert agreement is not None
    assert agreement["n"] == len(rows)
    assert agreement["adjudicated"] == sum(r["first"] != r["final"] for r in rows)
    disagreements = sum(r["first"] != r["second"] for r in rows)
    assert agreement["accuracy"] == 1 - disagreements / len(rows)
    assert 0 < agreement["kappa"] < agreement["accuracy"] < 1


def test_every_eval_label_points_at_a_shared_post() -> None:
    found = eval_examples(shared_data("posts", "messages.jsonl"))
    assert found is not None
    assert len(found) == len(_rows(EVAL_LABELS))


def test_real_post_evaluation_reports_model_snownlp_and_annotators(model) -> None:  # type: ignore[no-untyped-def]
    examples = eval_examples(shared_data("posts", "messages.jsonl"))
    assert examples is not None
    # a slice with both relevant and irrelevant posts keeps SnowNLP's slow pass short
    subset = [e for e in examples if e.relevant][:12] + [e for e in examples if not e.relevant][:12]
    result = evaluate_real(model, subset)
    assert result["n"] == 24
    assert 0 <= result["relevance"]["f1"] <= 1
    snow = result["snownlp_sentiment"]
    assert snow["n"] == 12
    assert sum(map(sum, snow["confusion"])) == 12
    assert result["annotator_agreement"] == annotator_agreement()
