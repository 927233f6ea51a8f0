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


def test_nb_lr_learns_class_words_and_explains_in_input_space() -> None:
    from sklearn.feature_extraction.text import CountVectorizer

    from analysis.classifier import NBLogisticRegression, coefficients, linear_head

    docs = [
        "推诿 刁难 没人管",
        "推诿 拖延",
        "刁难 投诉",
        "感谢 耐心",
        "感谢 点赞",
        "耐心 点赞 热情",
    ]
    docs += ["请问 材料", "请问 地址", "材料 地址 时间"]
    y = ["negative"] * 3 + ["positive"] * 3 + ["neutral"] * 3
    vec = CountVectorizer(tokenizer=str.split, token_pattern=None)
    X = vec.fit_transform(docs * 4)
    y = y * 4
    clf = NBLogisticRegression(C=1.0).fit(X, y)
    test = vec.transform(["推诿 没人管", "感谢 热情", "请问 时间"])
    assert list(clf.predict(test)) == ["negative", "positive", "neutral"]
    proba = clf.predict_proba(test)
    assert proba.shape == (3, 3) and abs(proba.sum(axis=1) - 1).max() < 1e-9
    # coef_ is in the input space: the decision is coef_ . x + intercept, as explanations assume
    neg = list(clf.classes_).index("negative")
    assert clf.coef_[neg, vec.vocabulary_["推诿"]] > 0 > clf.coef_[neg, vec.vocabulary_["感谢"]]
    calibrated = linear_head(1.0, nb_scaled=True).fit(X, y)
    assert list(calibrated.predict(test)) == ["negative", "positive", "neutral"]
    assert coefficients(calibrated).shape == (3, X.shape[1])
