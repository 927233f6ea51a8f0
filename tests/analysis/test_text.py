"""Normalization and segmentation as a reader of the normalized text would notice them."""

from __future__ import annotations

import re

from analysis.text import feature_tokens, normalize, segment
from tests.conftest import ROOT


def test_work_plan_reads_as_its_simplified_original() -> None:
    raw = (ROOT.parent / "shared" / "seed" / "work-plan.txt").read_text(encoding="utf-8")
    text = normalize(raw)
    assert text.startswith("以十八大精神为指导,坚持计划生育基本国策不变")
    assert "全面提升街道人口与计划生育服务管理水平" in text
    assert "苔花计划" in text and "五关爱" in text
    # no pinyin annotations, no traditional characters, no site disclaimer, no raw masks
    assert not re.search(r"\([a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]+\)", text)
    assert not set("劃導貫實會議") & set(text)
    assert "免责声明" not in text and "来源" not in text and "删除" not in text
    assert "**" not in text and "成为□的主题" in text
    assert text.endswith("全方位推进以健康为主题的家庭文化建设。")


def test_html_fullwidth_and_entities() -> None:
    text = normalize(
        "<div><p>社会抚养费&amp;罚款</p><script>var x=1</script><p>ＡＢＣ１２３！</p></div>"
    )
    assert text == "社会抚养费&罚款\nABC123!"


def test_pinyin_removal_keeps_real_brackets() -> None:
    assert normalize("計(jì)劃(huà)生育(A区)") == "计划生育(A区)"


def test_boilerplate_removed_but_content_kept() -> None:
    text = normalize("准生证办理指南。转载请注明出处。版权归原作者所有，如有侵权请联系删除。")
    assert text == "准生证办理指南。"


def test_segment_uses_domain_dictionary_and_keeps_features() -> None:
    words = segment("失独家庭的苔花计划和社会抚养费@南山卫健 https://example.org/a?b=1 [怒]😡")
    for word in ("苔花计划", "社会抚养费", "@南山卫健", "https://example.org/a?b=1", "[怒]", "😡"):
        assert word in words
    tokens = feature_tokens(segment("我们不满意，工作人员的态度"))
    assert "不_满意" in tokens and "的" not in tokens and "<URL>" not in tokens
