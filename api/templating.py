"""Jinja2 environment (autoescape on), filters for dates, labels and highlighted text."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape
from starlette.requests import Request

from alerts.models import SEVERITY_LABELS, STATE_LABELS
from api.websession import csrf_token, pop_flashes

TEMPLATE_DIR = Path(__file__).parent / "templates"
SENTIMENT_LABELS = {"negative": "负面", "neutral": "中性", "positive": "正面"}
RUN_STATUS_LABELS = {"running": "运行中", "ok": "正常", "partial": "部分失败", "failed": "失败"}
ROLE_LABELS = {"admin": "管理员", "staff": "工作人员"}
ACTION_LABELS = {
    "alert.create": "产生告警",
    "alert.update": "更新告警",
    "alert.transition": "变更状态",
    "alert.state": "变更状态",
    "alert.assign": "指派",
    "alert.note": "添加备注",
    "alert.reopen": "重新打开",
    "alert.escalate": "升级",
    "alert.notify": "发送通知",
}
KIND_LABELS = {"content": "内容", "spike": "突增", "source": "数据源", "ops": "运行"}


def highlight(text: str | None, terms: list[str] | None) -> Markup:
    """Escape the text and wrap each matched term in <mark>; the text itself is never trusted."""
    text = text or ""
    words = sorted(
        {t for t in (terms or []) if isinstance(t, str) and t.strip()}, key=len, reverse=True
    )
    if not words:
        return escape(text)
    pattern = re.compile("|".join(re.escape(w) for w in words))
    out: list[str] = []
    last = 0
    for match in pattern.finditer(text):
        out.append(str(escape(text[last : match.start()])))
        out.append(f"<mark>{escape(match.group(0))}</mark>")
        last = match.end()
    out.append(str(escape(text[last:])))
    return Markup("".join(out))


def safe_url(url: str | None) -> str:
    """The URL if it is http(s), else "" (a crawled javascript: link must never be clickable)."""
    url = (url or "").strip()
    return url if url.lower().startswith(("http://", "https://")) else ""


def flatten_terms(matched: Any) -> list[str]:
    """Words from an analysis' matched_terms dict (or an alert's list) as one flat list."""
    words: list[str] = []
    if isinstance(matched, dict):
        for key, values in matched.items():
            if key == "plans" or not isinstance(values, list):
                continue
            words.extend(str(v) for v in values if v)
    elif isinstance(matched, list):
        for item in matched:
            if isinstance(item, str):
                words.append(item)
            elif isinstance(item, list | tuple) and item:
                words.append(str(item[0]))
    return words


def make_templates(settings: Any, topic_labels: Any) -> Jinja2Templates:
    """The app's templates with its filters and globals."""
    templates = Jinja2Templates(directory=str(TEMPLATE_DIR))
    env = templates.env
    env.autoescape = True
    tz = settings.tz

    def localtime(value: dt.datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
        if value is None:
            return "—"
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(tz).strftime(fmt)

    def topic_label(code: str) -> str:
        return topic_labels().get(code, code) if code else "—"

    env.filters.update(
        localtime=localtime,
        highlight=highlight,
        safe_url=safe_url,
        severity_label=lambda s: SEVERITY_LABELS.get(s, s),
        state_label=lambda s: STATE_LABELS.get(s, s),
        sentiment_label=lambda s: SENTIMENT_LABELS.get(s, s or "—"),
        run_status_label=lambda s: RUN_STATUS_LABELS.get(s, s or "—"),
        role_label=lambda s: ROLE_LABELS.get(s, s),
        kind_label=lambda s: KIND_LABELS.get(s, s),
        action_label=lambda s: ACTION_LABELS.get(s, s),
        topic_label=topic_label,
        flatten_terms=flatten_terms,
        pct=lambda v: f"{(v or 0) * 100:.0f}%",
    )
    env.globals.update(
        csrf_token=csrf_token,
        pop_flashes=pop_flashes,
        SEVERITY_LABELS=SEVERITY_LABELS,
        STATE_LABELS=STATE_LABELS,
        SENTIMENT_LABELS=SENTIMENT_LABELS,
        ROLE_LABELS=ROLE_LABELS,
        topic_labels=topic_labels,
    )
    return templates


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> Any:
    """Render a page with the request, the user and the flash messages."""
    templates: Jinja2Templates = request.app.state.templates
    context.setdefault("user", getattr(request.state, "user", None))
    return templates.TemplateResponse(request, name, context, status_code=status_code)
