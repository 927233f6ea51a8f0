"""Monitoring plans: boolean expressions and word lists."""

from __future__ import annotations

import pytest

from analysis.plans import (
    ExpressionError,
    Plan,
    evaluate,
    load_plans,
    match_plans,
    parse_expression,
)
from core.errors import UserError


@pytest.mark.parametrize(
    ("expression", "text", "expected"),
    [
        ("深圳+准生证", "深圳办准生证", True),
        ("深圳+准生证", "广州办准生证", False),
        ("深圳|广州", "广州", True),
        ("(深圳|南山)+(准生证|生育登记)-人流量", "南山生育登记", True),
        ("(深圳|南山)+(准生证|生育登记)-人流量", "南山生育登记处人流量大", False),
        ("-人流量", "计生", True),
        ("计生 + 投诉 | 上访", "上访", True),
    ],
)
def test_expression(expression: str, text: str, expected: bool) -> None:
    assert evaluate(parse_expression(expression), text) is expected


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("(深圳+准生证", "missing ')'"),
        ("深圳+", "expression ended"),
        ("深圳 准生证", "unexpected '准生证'"),
        ("+深圳", "found '+'"),
        ("深圳)", "unexpected ')'"),
    ],
)
def test_expression_errors_are_clear(expression: str, message: str) -> None:
    with pytest.raises(ExpressionError) as err:
        parse_expression(expression)
    assert message in err.value.message and "position" in err.value.message


def test_default_plans_load_and_match() -> None:
    plans = load_plans()
    assert len(plans) >= 3
    matched = match_plans(plans, "深圳南山区计生办乱收费，我要投诉")
    assert "深圳本地计生舆情" in matched["plans"] and "投诉与升级信号" in matched["plans"]
    assert (
        "深圳" in matched["place"] and "计生" in matched["subject"] and "投诉" in matched["event"]
    )
    none = match_plans(plans, "地铁站人流量太大")
    assert none == {"plans": [], "place": [], "subject": [], "event": []}


def test_plan_with_bad_expression_names_the_plan() -> None:
    with pytest.raises(UserError, match="plan '坏方案'"):
        Plan(name="坏方案", subject_words=["计生"], expression="(计生")
