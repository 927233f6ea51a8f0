"""Monitoring plans (监测方案): word lists plus a boolean expression, matched against posts."""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import UserError

PLANS_FILE = Path(__file__).resolve().parent / "data" / "plans.toml"
_OPERATORS = "+|-()"


class ExpressionError(UserError):
    """A plan's boolean expression cannot be parsed; the message says where and why."""


# --- expression parsing: `+` AND, `|` OR, `-` NOT / AND NOT, parentheses -----------------------
Node = tuple[Any, ...]  # ("word", w) | ("and", a, b) | ("or", a, b) | ("not", a)


def _tokens(expression: str) -> list[tuple[str, int]]:
    out: list[tuple[str, int]] = []
    i = 0
    while i < len(expression):
        ch = expression[i]
        if ch.isspace():
            i += 1
        elif ch in _OPERATORS:
            out.append((ch, i))
            i += 1
        else:
            start = i
            while (
                i < len(expression)
                and not expression[i].isspace()
                and expression[i] not in _OPERATORS
            ):
                i += 1
            out.append((expression[start:i], start))
    return out


class _Parser:
    def __init__(self, expression: str) -> None:
        self.expression = expression
        self.tokens = _tokens(expression)
        self.i = 0

    def error(self, message: str) -> ExpressionError:
        pos = self.tokens[self.i][1] if self.i < len(self.tokens) else len(self.expression)
        return ExpressionError(
            f"表达式错误 (bad expression) at position {pos + 1} of {self.expression!r}: {message}"
        )

    def peek(self) -> str | None:
        return self.tokens[self.i][0] if self.i < len(self.tokens) else None

    def parse(self) -> Node:
        if not self.tokens:
            raise self.error("the expression is empty")
        node = self.or_expr()
        if self.peek() is not None:
            raise self.error(f"unexpected {self.peek()!r} (a missing operator or an extra ')')")
        return node

    def or_expr(self) -> Node:
        node = self.and_expr()
        while self.peek() == "|":
            self.i += 1
            node = ("or", node, self.and_expr())
        return node

    def and_expr(self) -> Node:
        node = self.unary()
        while self.peek() in ("+", "-"):
            op = self.peek()
            self.i += 1
            right = self.unary()
            node = ("and", node, ("not", right) if op == "-" else right)
        return node

    def unary(self) -> Node:
        tok = self.peek()
        if tok == "-":
            self.i += 1
            return ("not", self.unary())
        if tok == "(":
            self.i += 1
            node = self.or_expr()
            if self.peek() != ")":
                raise self.error("missing ')'")
            self.i += 1
            return node
        if tok is None:
            raise self.error("expected a word or '(' but the expression ended")
        if tok in _OPERATORS:
            raise self.error(f"expected a word or '(' but found {tok!r}")
        self.i += 1
        return ("word", tok)


def parse_expression(expression: str) -> Node:
    """Parse a plan expression into a tree; ExpressionError gives the position of bad syntax."""
    return _Parser(expression).parse()


def evaluate(node: Node, text: str) -> bool:
    """Whether the parsed expression is true of the text (words match as substrings)."""
    kind = node[0]
    if kind == "word":
        return node[1] in text
    if kind == "not":
        return not evaluate(node[1], text)
    if kind == "and":
        return evaluate(node[1], text) and evaluate(node[2], text)
    return evaluate(node[1], text) or evaluate(node[2], text)


# --- plans ------------------------------------------------------------------------------------
@dataclass
class Plan:
    """One monitoring plan, with its expression parsed."""

    name: str
    place_words: list[str] = field(default_factory=list)
    subject_words: list[str] = field(default_factory=list)
    event_words: list[str] = field(default_factory=list)
    exclude_words: list[str] = field(default_factory=list)
    expression: str = ""
    enabled: bool = True
    tree: Node | None = None

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise UserError("a monitoring plan needs a name")
        if not self.subject_words and not self.expression.strip():
            raise UserError(f"plan {self.name!r}: give subject words or an expression")
        try:
            self.tree = parse_expression(self.expression) if self.expression.strip() else None
        except ExpressionError as exc:
            raise ExpressionError(f"plan {self.name!r}: {exc.message}") from exc


_LIST_FIELDS = ("place_words", "subject_words", "event_words", "exclude_words")


def plan_from_dict(data: dict[str, Any], *, where: str = "plan") -> Plan:
    """A Plan from a mapping (a TOML table or a database row), validating every field."""
    name = data.get("name")
    if not isinstance(name, str):
        raise UserError(f"{where}: `name` must be a string")
    kwargs: dict[str, Any] = {"name": name}
    for key in _LIST_FIELDS:
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(w, str) and w.strip() for w in value):
            raise UserError(f"{where} {name!r}: `{key}` must be a list of non-empty strings")
        kwargs[key] = [w.strip() for w in value]
    expression = data.get("expression", "") or ""
    if not isinstance(expression, str):
        raise UserError(f"{where} {name!r}: `expression` must be a string")
    kwargs["expression"] = expression
    kwargs["enabled"] = bool(data.get("enabled", True))
    unknown = set(data) - {"name", "expression", "enabled", *_LIST_FIELDS}
    if unknown:
        raise UserError(f"{where} {name!r}: unknown field(s) {', '.join(sorted(unknown))}")
    return Plan(**kwargs)


def load_mask_words(path: Path | None = None) -> list[str]:
    """Words blanked out before plan matching (`mask_words` of the plans file), longest first."""
    path = path or PLANS_FILE
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return []
    words = [w for w in data.get("mask_words", []) if isinstance(w, str) and w.strip()]
    return sorted(words, key=len, reverse=True)


def mask(text: str, words: list[str]) -> str:
    """The text with each mask word replaced by a space."""
    for word in words:
        if word in text:
            text = text.replace(word, " ")
    return text


# a post longer than this whose only scope word occurs once, outside the title, mentions our
# work in passing (DESIGN.md: "not relevant when such a word is incidental")
INCIDENTAL_MIN_CHARS = 150


def in_scope(plans: list[Plan], title: str, text: str, masks: list[str] | None = None) -> bool:
    """Whether a post is substantively about the plans' subjects, not a passing mention."""
    words = {w for p in plans if p.enabled for w in p.subject_words}
    if not words:
        return True
    masks = _default_masks() if masks is None else masks
    title, text = mask(title, masks), mask(text, masks)
    if any(w in title for w in words):
        return True
    hits = 0
    for word in sorted(words, key=len, reverse=True):
        count = text.count(word)
        if count:
            hits += count
            text = text.replace(word, " ")
        if hits >= 2:
            return True
    return hits == 1 and len(text) <= INCIDENTAL_MIN_CHARS


def load_plans(path: Path | None = None) -> list[Plan]:
    """Plans from a TOML file (default: the packaged analysis/data/plans.toml)."""
    path = path or PLANS_FILE
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise UserError(f"{path}: no such file") from exc
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{path}: not valid TOML: {exc}") from exc
    unknown = set(data) - {"plan", "mask_words"}
    if unknown:
        raise UserError(f"{path}: unknown top-level key(s) {', '.join(sorted(unknown))}")
    plans = [plan_from_dict(t, where=f"{path} [[plan]]") for t in data.get("plan", [])]
    names = [p.name for p in plans]
    if len(set(names)) != len(names):
        raise UserError(f"{path}: two plans share a name")
    return plans


def _found(words: Iterable[str], text: str) -> list[str]:
    return [w for w in words if w in text]


_MASKS: list[str] | None = None


def _default_masks() -> list[str]:
    global _MASKS
    if _MASKS is None:
        _MASKS = load_mask_words()
    return _MASKS


def match_plans(plans: list[Plan], text: str) -> dict[str, list[str]]:
    """The matched terms of a text: plans that match, and the place/subject/event words found."""
    text = mask(text, _default_masks())
    result: dict[str, list[str]] = {"plans": [], "place": [], "subject": [], "event": []}
    seen: dict[str, set[str]] = {"place": set(), "subject": set(), "event": set()}
    for plan in plans:
        if not plan.enabled:
            continue
        place = _found(plan.place_words, text)
        subject = _found(plan.subject_words, text)
        event = _found(plan.event_words, text)
        for key, words in (("place", place), ("subject", subject), ("event", event)):
            for w in words:
                if w not in seen[key]:
                    seen[key].add(w)
                    result[key].append(w)
        if plan.subject_words and not subject:
            continue
        if (plan.place_words and not place) or (plan.event_words and not event):
            continue
        if _found(plan.exclude_words, text):
            continue
        if plan.tree is not None and not evaluate(plan.tree, text):
            continue
        result["plans"].append(plan.name)
    return result
