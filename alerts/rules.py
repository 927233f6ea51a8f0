"""Alert rules as data: load and check the defaults, and turn facts about posts into candidates."""

from __future__ import annotations

import datetime as dt
import itertools
import math
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alerts.models import SEVERITIES
from core.config import Settings
from core.errors import UserError

DEFAULT_RULES_FILE = Path(__file__).parent / "data" / "rules.toml"
RANK = {"blue": 0, "yellow": 1, "orange": 2, "red": 3}
CONTENT_KINDS = ("local_negative", "escalation", "event_growing")
KINDS = (*CONTENT_KINDS, "spike", "source_failing", "source_silent")


def higher(a: str, b: str) -> str:
    """The more severe of two severities."""
    return a if RANK[a] >= RANK[b] else b


@dataclass(frozen=True)
class RuleSpec:
    """A rule as the engine reads it (from the alert_rules table or the defaults file)."""

    code: str
    kind: str
    name: str
    severity: str
    reason: str
    params: Mapping[str, Any]


@dataclass
class PostFacts:
    """What the rules need to know about one analysed post."""

    post_id: int
    event_id: int | None
    source_id: int
    title: str
    text: str
    relevant: bool
    sentiment: str
    topics: list[str]
    places: list[str]
    weight: float
    likes: int
    replies: int
    reposts: int
    views: int
    time: dt.datetime
    fetched_at: dt.datetime

    @property
    def key(self) -> str:
        """The alert this post belongs to: its event's, or its own when it has no event."""
        return f"event:{self.event_id}" if self.event_id else f"post:{self.post_id}"


@dataclass
class Candidate:
    """What one rule found for one alert key."""

    key: str
    kind: str
    rule: RuleSpec
    severity: str
    reason: str
    title: str = ""
    post_ids: set[int] = field(default_factory=set)
    terms: list[str] = field(default_factory=list)
    event_id: int | None = None
    source_id: int | None = None
    topic: str = ""
    # for ops alerts: when the condition last showed; a closed alert re-raises only after it
    marker: dt.datetime | None = None


def _check(ok: bool, where: str, message: str) -> None:
    if not ok:
        raise UserError(f"{where}: {message}")


def validate_rule(raw: Mapping[str, Any], where: str) -> RuleSpec:
    """A checked RuleSpec from a TOML table or a DB row; UserError names the rule and field."""
    code = raw.get("code")
    _check(isinstance(code, str) and bool(code), where, "field 'code' is missing")
    where = f"{where}, rule {code!r}"
    kind = raw.get("kind")
    _check(kind in KINDS, where, f"field 'kind' must be one of {', '.join(KINDS)}")
    severity = raw.get("severity", "blue")
    _check(severity in SEVERITIES, where, f"field 'severity' must be one of {SEVERITIES}")
    params = raw.get("params") or {}
    _check(isinstance(params, dict), where, "field 'params' must be a table")
    if kind == "local_negative":
        steps = params.get("steps", [])
        ok = isinstance(steps, list) and all(
            isinstance(s, list | tuple)
            and len(s) == 2
            and isinstance(s[0], int | float)
            and s[1] in SEVERITIES
            for s in steps
        )
        _check(ok, where, "params.steps must be a list of [reach, severity]")
    if kind == "escalation":
        terms = params.get("terms")
        ok = isinstance(terms, list) and bool(terms) and all(isinstance(t, str) for t in terms)
        _check(ok, where, "params.terms must be a non-empty list of words")
        local = params.get("local_severity", severity)
        _check(local in SEVERITIES, where, "params.local_severity must be a severity")
    return RuleSpec(
        code=str(code),
        kind=str(kind),
        name=str(raw.get("name") or code),
        severity=str(severity),
        reason=str(raw.get("reason", "")),
        params=params,
    )


def load_rules_file(path: Path = DEFAULT_RULES_FILE) -> list[RuleSpec]:
    """The rules of a TOML file, checked."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read rules: {exc}") from exc
    rules = [validate_rule(raw, str(path)) for raw in data.get("rule", [])]
    codes = [r.code for r in rules]
    dupes = {c for c in codes if codes.count(c) > 1}
    _check(not dupes, str(path), f"duplicate rule code(s): {', '.join(sorted(dupes))}")
    return rules


class _Blank(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return ""


def render_reason(rule: RuleSpec, **values: Any) -> str:
    """The rule's reason template filled in; unknown placeholders stay empty."""
    try:
        return rule.reason.format_map(_Blank(values)) or rule.name
    except (ValueError, IndexError, AttributeError):
        return rule.name


def _short(items: Iterable[str], limit: int = 5) -> str:
    items = list(dict.fromkeys(items))
    text = "、".join(items[:limit])
    return text + ("等" if len(items) > limit else "")


def reach_of(post: PostFacts, engagement: Mapping[str, float]) -> float:
    """How far a post travels: its source's weight times (1 + weighted engagement)."""
    score = sum(float(engagement.get(k, 0)) * getattr(post, k) for k in KEYS_ENGAGEMENT)
    return max(post.weight, 0.0) * (1.0 + score)


KEYS_ENGAGEMENT = ("likes", "replies", "reposts", "views")


def local_negative(rule: RuleSpec, key: str, posts: list[PostFacts]) -> Candidate | None:
    """Relevant negative posts naming one of our places, severity stepped by their reach."""
    hits = [p for p in posts if p.relevant and p.sentiment == "negative" and p.places]
    if not hits:
        return None
    engagement = rule.params.get("engagement", {"likes": 1, "replies": 2, "reposts": 3})
    reach = sum(reach_of(p, engagement) for p in hits)
    severity = rule.severity
    for threshold, step in sorted(rule.params.get("steps", []), key=lambda s: s[0]):
        if reach >= threshold:
            severity = higher(severity, step)
    places = [w for p in hits for w in p.places]
    return Candidate(
        key=key,
        kind="content",
        rule=rule,
        severity=severity,
        reason=render_reason(rule, places=_short(places), posts=len(hits), reach=round(reach)),
        post_ids={p.post_id for p in hits},
        terms=list(dict.fromkeys(places)),
    )


def escalation(rule: RuleSpec, key: str, posts: list[PostFacts]) -> Candidate | None:
    """Watch terms that signal escalation in relevant posts of the allowed sentiments."""
    sentiments = rule.params.get("sentiments", ["negative"])
    terms = rule.params.get("terms", [])
    hits: list[PostFacts] = []
    found: list[str] = []
    require_local = bool(rule.params.get("require_local", False))
    # phrases that contain a term but signal nothing (死亡证明, 集体户口)
    ignore = sorted(rule.params.get("ignore", []), key=len, reverse=True)
    for post in posts:
        if not post.relevant or post.sentiment not in sentiments:
            continue
        if require_local and not post.places:
            continue
        text = f"{post.title}\n{post.text}"
        for phrase in ignore:
            text = text.replace(phrase, "")
        words = [t for t in terms if t in text]
        if words:
            hits.append(post)
            found.extend(words)
    if not hits:
        return None
    severity = rule.severity
    if any(p.places for p in hits):
        severity = higher(severity, rule.params.get("local_severity", severity))
    return Candidate(
        key=key,
        kind="content",
        rule=rule,
        severity=severity,
        reason=render_reason(rule, terms=_short(found), posts=len(hits)),
        post_ids={p.post_id for p in hits},
        terms=list(dict.fromkeys(found)),
    )


def event_growing(
    rule: RuleSpec, key: str, posts: list[PostFacts], *, settings: Settings, now: dt.datetime
) -> Candidate | None:
    """Many relevant posts about one event inside the event window."""
    if not key.startswith("event:"):
        return None
    hours = settings.event_window_hours
    since = now - dt.timedelta(hours=hours)
    recent = [p for p in posts if p.relevant and since <= p.time <= now]
    negative = sum(1 for p in recent if p.sentiment == "negative")
    threshold = settings.event_growth_count
    if len(recent) < threshold or negative < int(rule.params.get("min_negative", 1)):
        return None
    severity = rule.severity
    if len(recent) >= threshold * float(rule.params.get("orange_factor", 2)):
        severity = higher(severity, "orange")
    return Candidate(
        key=key,
        kind="content",
        rule=rule,
        severity=severity,
        reason=render_reason(rule, hours=_num(hours), count=len(recent), negative=negative),
        post_ids={p.post_id for p in recent},
    )


def _num(value: float) -> str:
    return f"{value:g}"


@dataclass(frozen=True)
class SpikeTest:
    """The outcome of one topic's spike test."""

    count: int
    expected: float
    p_value: float


def spike_test(
    count: int,
    baseline_count: int,
    baseline_windows: float,
    *,
    prior_count: float = 1.0,
    prior_windows: float = 1.0,
) -> SpikeTest:
    """P(at least `count` in a window) under a Gamma-Poisson (negative binomial) predictive.

    The Gamma prior stands in for missing history, so with little history the predictive is wide
    and only a clear burst counts; with weeks of history it tightens towards a Poisson test.
    """
    shape = prior_count + baseline_count
    rate = prior_windows + max(baseline_windows, 0.0)
    expected = shape / rate
    p_value = nbinom_sf(count, shape, rate / (rate + 1.0)) if count > 0 else 1.0
    return SpikeTest(count=count, expected=expected, p_value=p_value)


def nbinom_sf(k: int, r: float, p: float) -> float:
    """P(X >= k) for a negative binomial (r successes, success probability p), no SciPy needed."""

    def pmf(x: int) -> float:
        log = math.lgamma(x + r) - math.lgamma(r) - math.lgamma(x + 1)
        return math.exp(log + r * math.log(p) + x * math.log1p(-p))

    mean = r * (1 - p) / p
    if k <= mean:
        return max(0.0, 1.0 - math.fsum(pmf(x) for x in range(k)))
    # beyond the mean the terms shrink: sum the tail directly so tiny p-values stay accurate
    total, x = 0.0, k
    while True:
        term = pmf(x)
        total += term
        if term < total * 1e-15 or x > k + 100_000:
            return min(total, 1.0)
        x += 1


def spike(
    rule: RuleSpec,
    posts: list[PostFacts],
    *,
    settings: Settings,
    now: dt.datetime,
    history_start: dt.datetime | None,
    labels: Mapping[str, str],
) -> list[Candidate]:
    """Per topic: negative relevant posts in the last window well above that topic's baseline."""
    window = dt.timedelta(hours=settings.spike_window_hours)
    start = now - window
    base_start = start - dt.timedelta(days=settings.spike_baseline_days)
    if history_start is not None:
        base_start = max(base_start, min(history_start, start))
    windows = (start - base_start) / window
    in_window: dict[str, list[PostFacts]] = {}
    baseline: dict[str, int] = {}
    for post in posts:
        if not post.relevant or post.sentiment != "negative":
            continue
        for topic in post.topics:
            if start <= post.time <= now:
                in_window.setdefault(topic, []).append(post)
            elif base_start <= post.time < start:
                baseline[topic] = baseline.get(topic, 0) + 1
    found = []
    for topic, hits in sorted(in_window.items()):
        if len(hits) < settings.spike_min_count:
            continue
        test = spike_test(
            len(hits),
            baseline.get(topic, 0),
            windows,
            prior_count=float(rule.params.get("prior_count", 1.0)),
            prior_windows=float(rule.params.get("prior_windows", 1.0)),
        )
        if test.p_value >= settings.spike_p_value:
            continue
        severity = rule.severity
        if test.p_value < float(rule.params.get("orange_p_value", 0.0)):
            severity = higher(severity, "orange")
        label = labels.get(topic, topic)
        found.append(
            Candidate(
                key=f"spike:{topic}",
                kind="content",
                rule=rule,
                severity=severity,
                reason=render_reason(
                    rule,
                    topic=label,
                    hours=_num(settings.spike_window_hours),
                    count=test.count,
                    expected=f"{test.expected:.1f}",
                    p=f"{test.p_value:.1g}",
                ),
                title=f"「{label}」负面舆情突增",
                post_ids={p.post_id for p in hits},
                topic=topic,
            )
        )
    return found


def median_gap_hours(times: list[dt.datetime]) -> float | None:
    """The median gap between consecutive times, in hours (None with fewer than two)."""
    ordered = sorted(times)
    gaps = sorted((b - a).total_seconds() / 3600 for a, b in itertools.pairwise(ordered))
    if not gaps:
        return None
    mid = len(gaps) // 2
    return gaps[mid] if len(gaps) % 2 else (gaps[mid - 1] + gaps[mid]) / 2


def round_hours(value: float) -> str:
    """Hours for a reason text: whole hours, or one decimal under ten."""
    return f"{value:.1f}" if value < 10 else str(math.floor(value + 0.5))
