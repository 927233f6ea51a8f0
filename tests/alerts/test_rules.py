"""Rules as data: the defaults file, loading into the table, the spike test."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from alerts.models import AlertRule
from alerts.rules import load_rules_file, spike_test
from alerts.setup import insert_default_rules
from core.errors import UserError


def test_default_rules_cover_every_kind_of_the_issue():
    kinds = {r.kind for r in load_rules_file()}
    assert kinds == {
        "local_negative",
        "escalation",
        "spike",
        "event_growing",
        "source_failing",
        "source_silent",
    }
    terms = {t for r in load_rules_file() if r.kind == "escalation" for t in r.params["terms"]}
    assert {"上访", "信访", "曝光", "记者", "打人", "强制", "死亡", "维权", "集体", "罚款"} <= terms


def test_loading_defaults_is_idempotent_and_keeps_admin_edits(session):
    assert insert_default_rules(session=session) == len(load_rules_file())
    rule = session.scalar(select(AlertRule).where(AlertRule.code == "local_negative"))
    rule.severity = "yellow"
    session.delete(session.scalar(select(AlertRule).where(AlertRule.code == "topic_spike")))
    session.flush()
    assert insert_default_rules(session=session) == 1
    assert insert_default_rules(session=session) == 0
    assert (
        session.scalar(select(AlertRule.severity).where(AlertRule.code == "local_negative"))
        == "yellow"
    )


def test_yuqing_init_loads_the_rules(yuqing, session):
    result = yuqing("init", "--skip-model")
    assert result.returncode == 0, result.stderr
    assert "告警规则" in result.stdout
    assert len(session.scalars(select(AlertRule)).all()) == len(load_rules_file())


def test_a_bad_rules_file_names_the_rule_and_field(tmp_path):
    path = tmp_path / "rules.toml"
    path.write_text('[[rule]]\ncode = "x"\nkind = "escalation"\nseverity = "purple"\n')
    with pytest.raises(UserError, match=r"rule 'x'.*severity"):
        load_rules_file(path)
    path.write_text('[[rule]]\ncode = "x"\nkind = "escalation"\n[rule.params]\nterms = []\n')
    with pytest.raises(UserError, match=r"params.terms"):
        load_rules_file(path)


def test_spike_test_is_cautious_with_little_history_and_sharp_with_plenty():
    # the same 6 posts today: no history at all vs. two weeks at one a day
    assert spike_test(6, 0, 0).p_value > 0.001
    assert spike_test(6, 14, 14).p_value < 0.01
    # a topic that always has ~6 a day is not spiking at 6
    assert spike_test(6, 84, 14).p_value > 0.3
    # a burst far above plenty of history is significant
    assert spike_test(12, 14, 14).p_value < 1e-6


def test_negative_binomial_tail_matches_scipy():
    from scipy.stats import nbinom

    from alerts.rules import nbinom_sf

    for k, r, p in [(6, 1, 0.5), (6, 15, 15 / 16), (12, 15, 15 / 16), (3, 2, 0.3), (50, 3, 0.9)]:
        assert nbinom_sf(k, r, p) == pytest.approx(nbinom.sf(k - 1, r, p), rel=1e-9)
