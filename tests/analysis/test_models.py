"""The trained models through the real `yuqing classify` command and the Python API."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.slow


def test_classify_cli_labels_posts_and_reports_bad_lines(model, yuqing) -> None:  # type: ignore[no-untyped-def]
    lines = [
        json.dumps(
            {
                "id": "a",
                "title": "投诉",
                "text": "街道计生办工作人员态度恶劣，办准生证跑了五趟还推诿不办，我要投诉！",
            }
        ),
        "this is not json",
        json.dumps({"id": "b", "title": "", "text": "今天地铁站人流量太大了，挤得要命"}),
        json.dumps({"id": "c", "title": "", "text": ""}),
        json.dumps(
            {
                "id": "d",
                "title": "",
                "text": "感谢社区计生专干上门帮我们办好了生育登记，服务太贴心了，点赞！",
            }
        ),
    ]
    result = yuqing("classify", input="\n".join(lines) + "\n")
    assert result.returncode == 0, result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [row.get("id") for row in out] == ["a", None, "b", None, "d"]
    a, bad, b, empty, d = out
    assert a["relevant"] and a["sentiment"] == "negative"
    assert {"registration", "staff_conduct"} & set(a["topics"])
    assert set(a["sentiment_proba"]) == {"negative", "neutral", "positive"}
    assert abs(sum(a["sentiment_proba"].values()) - 1) < 0.01
    assert "计生" in a["matched_terms"]["subject"] and a["matched_terms"]["plans"]
    assert a["explanation"]["relevance"] and all(len(p) == 2 for p in a["explanation"]["relevance"])
    assert bad["line"] == 2 and "JSON" in bad["error"]
    assert not b["relevant"] and b["topics"] == []
    assert empty["line"] == 4 and "empty" in empty["error"]
    assert d["relevant"] and d["sentiment"] == "positive"


def test_classify_without_model_says_what_to_do(yuqing, tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = yuqing("classify", input="{}\n", env={"YUQING_MODEL_DIR": str(tmp_path / "none")})
    assert result.returncode == 2
    assert "yuqing train" in result.stderr and "Traceback" not in result.stderr


def test_model_metadata_and_hard_negatives(model) -> None:  # type: ignore[no-untyped-def]
    meta = model.metadata
    assert meta["corpus_fingerprint"] and meta["libraries"]["scikit-learn"]
    results = model.classify(
        [
            ("", "早高峰地铁人流量大，建议加开班次"),
            ("", "我家失独多年，特别扶助金今年一直没发，打电话没人管"),
        ]
    )
    assert not results[0]["relevant"]
    assert results[1]["relevant"] and "special_families" in results[1]["topics"]
    assert results[1]["sentiment"] == "negative"


def test_normalize_cli(yuqing) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import ROOT

    raw = (ROOT.parent / "shared" / "seed" / "work-plan.txt").read_text(encoding="utf-8")
    result = yuqing("normalize", input=raw)
    assert result.returncode == 0
    assert result.stdout.startswith("以十八大精神为指导") and "(dǎo)" not in result.stdout
