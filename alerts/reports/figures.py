"""The numbers of a monthly report, computed from the database (kept aggregates for purged days)."""

from __future__ import annotations

import datetime as dt
import logging
import re
import statistics
from collections import Counter
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from alerts.models import SEVERITIES, SEVERITY_LABELS, Alert
from alerts.reports.stats import DayCounts, day_bounds, days_between, in_period, post_time
from analysis.models import SENTIMENTS, Analysis, Event, Topic
from analysis.taxonomy import load_taxonomy
from core.config import Settings
from core.errors import UserError
from crawlers.models import CrawlRun, Post, Source

log = logging.getLogger(__name__)

SENTIMENT_LABELS = {"negative": "负面", "neutral": "中性", "positive": "正面"}
TOP_EVENTS = 10
TOP_NEGATIVE_POSTS = 10
HOT_WORDS = 20
HOT_WORD_SAMPLE = 3000
# Words too common in this domain's posts to say anything about the month.
HOT_WORD_STOP = set(
    [
        "我们",
        "你们",
        "他们",
        "这个",
        "那个",
        "什么",
        "怎么",
        "没有",
        "可以",
        "已经",
        "现在",
        "还是",
        "就是",
        "因为",
        "所以",
        "但是",
        "如果",
        "一个",
        "自己",
        "这样",
        "问题",
        "请问",
        "谢谢",
        "您好",
        "你好",
        "回复",
        "工作",
        "相关",
        "进行",
        "情况",
        "时候",
        "需要",
        "知道",
        "不是",
        "这里",
        "网友",
        "关于",
        "有关",
        "希望",
        "反映",
        "尽快",
        "部门",
        "处理",
        "感谢",
        "大家",
        "目前",
        "今天",
        "应该",
        "还有",
        "是否",
        "一下",
        "一些",
        "为什么",
        "能否",
        "以及",
        "或者",
        "这些",
        "那些",
        "的话",
    ]
)
MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")


def parse_month(month: str) -> tuple[dt.date, dt.date]:
    """First and last day of a 'YYYY-MM' month; a one-line error otherwise."""
    match = MONTH_RE.match(month.strip())
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise UserError(f"--month must look like 2025-03, got {month!r}")
    first = dt.date(int(match.group(1)), int(match.group(2)), 1)
    following = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return first, following - dt.timedelta(days=1)


def previous_month(month: str) -> str:
    """The month before 'YYYY-MM'."""
    first, _ = parse_month(month)
    return (first - dt.timedelta(days=1)).strftime("%Y-%m")


def month_before(now: dt.datetime, tz: Any) -> str:
    """The month before the local month of `now` (what the report on the 1st covers)."""
    local = now.astimezone(tz).date().replace(day=1)
    return (local - dt.timedelta(days=1)).strftime("%Y-%m")


def topic_labels(session: Session) -> dict[str, str]:
    """Topic code -> Chinese label, in taxonomy order (the topics table, else the data file)."""
    rows = session.scalars(select(Topic).order_by(Topic.position, Topic.code)).all()
    return {row.code: row.label for row in rows} or dict(load_taxonomy())


def _change(now: int, before: int) -> float | None:
    """Relative change in percent; None when there is nothing to compare with."""
    return round((now - before) / before * 100, 1) if before else None


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _iso(value: dt.datetime | None, tz: Any) -> str:
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M") if value else ""


def compute_figures(
    *, session: Session, month: str, settings: Settings, now: dt.datetime
) -> dict[str, Any]:
    """Every figure of the month's report as plain JSON-able data."""
    tz = settings.tz
    first, last = parse_month(month)
    start, end = day_bounds(first, last, tz)
    prev_first, prev_last = parse_month(previous_month(month))
    labels = topic_labels(session)

    days = days_between(session, first=first, last=last, tz=tz)
    prev_days = days_between(session, first=prev_first, last=prev_last, tz=tz)
    total, prev_total = DayCounts(), DayCounts()
    for counts in days.values():
        total.add(counts)
    for counts in prev_days.values():
        prev_total.add(counts)

    figures: dict[str, Any] = {
        "month": month,
        "month_label": f"{first.year}年{first.month}月",
        "period": {"first": first.isoformat(), "last": last.isoformat()},
        "as_of": now.astimezone(tz).isoformat(timespec="minutes"),
        "timezone": settings.timezone,
        "empty": total.posts == 0,
        "totals": {
            "posts": total.posts,
            "relevant": total.relevant,
            "prev_posts": prev_total.posts,
            "prev_relevant": prev_total.relevant,
            "posts_change": _change(total.posts, prev_total.posts),
            "relevant_change": _change(total.relevant, prev_total.relevant),
        },
        "sentiment": {
            key: {
                "label": SENTIMENT_LABELS[key],
                "count": total.sentiment.get(key, 0),
                "share": _share(total.sentiment.get(key, 0), total.relevant),
                "prev_share": _share(prev_total.sentiment.get(key, 0), prev_total.relevant),
            }
            for key in SENTIMENTS
        },
        "daily": [
            {
                "day": day.isoformat(),
                "posts": counts.posts,
                "relevant": counts.relevant,
                "negative": counts.sentiment.get("negative", 0),
                "negative_share": _share(counts.sentiment.get("negative", 0), counts.relevant),
            }
            for day, counts in sorted(days.items())
        ],
        "topics": _topics(total, prev_total, labels),
        "events": _events(session, start, end, tz, labels),
        "negative_posts": _negative_posts(session, start, end, tz),
        "alerts": _alerts(session, start, end, now),
        "sources": _sources(session, start, end, tz),
        "hot_words": _hot_words(session, start, end),
    }
    figures["summary"] = summary_paragraph(figures)
    return figures


def _topics(total: DayCounts, prev: DayCounts, labels: dict[str, str]) -> list[dict[str, Any]]:
    codes = list(labels) + sorted(set(total.topics) - set(labels))
    rows = []
    for code in codes:
        counts = total.topics.get(code, {})
        posts = sum(counts.values())
        rows.append(
            {
                "code": code,
                "label": labels.get(code, code),
                "posts": posts,
                **{key: counts.get(key, 0) for key in SENTIMENTS},
                "negative_share": _share(counts.get("negative", 0), posts),
                "prev_posts": sum(prev.topics.get(code, {}).values()),
            }
        )
    return rows


def _events(
    session: Session, start: dt.datetime, end: dt.datetime, tz: Any, labels: dict[str, str]
) -> list[dict[str, Any]]:
    negative = func.sum(case((Analysis.sentiment == "negative", 1), else_=0))
    stmt = (
        select(Analysis.event_id, func.count().label("n"), negative.label("neg"))
        .join(Post, Post.id == Analysis.post_id)
        .where(Analysis.event_id.is_not(None), Analysis.relevant.is_(True), in_period(start, end))
        .group_by(Analysis.event_id)
        .order_by(func.count().desc(), Analysis.event_id)
        .limit(TOP_EVENTS)
    )
    rows = session.execute(stmt).all()
    ids = [r[0] for r in rows]
    events = {e.id: e for e in session.scalars(select(Event).where(Event.id.in_(ids)))}
    result = []
    for event_id, n, neg in rows:
        event = events[event_id]
        result.append(
            {
                "id": event_id,
                "title": event.title,
                "posts": n,
                "negative": int(neg or 0),
                "first_seen": _iso(event.first_seen, tz),
                "last_seen": _iso(event.last_seen, tz),
                "topics": [labels.get(code, code) for code in (event.topics or [])],
            }
        )
    return result


def _negative_posts(
    session: Session, start: dt.datetime, end: dt.datetime, tz: Any
) -> list[dict[str, Any]]:
    engagement = (Post.likes + Post.replies + Post.reposts).label("engagement")
    stmt = (
        select(Post, Source.name, engagement)
        .join(Analysis, Analysis.post_id == Post.id)
        .join(Source, Source.id == Post.source_id)
        .where(in_period(start, end), Analysis.relevant.is_(True), Analysis.sentiment == "negative")
        .order_by(engagement.desc(), Post.views.desc(), Post.id)
        .limit(TOP_NEGATIVE_POSTS)
    )
    return [
        {
            "id": post.id,
            "title": post.title or post.raw_text[:40],
            "url": post.url,
            "source": source_name,
            "published_at": _iso(post.published_at or post.fetched_at, tz),
            "engagement": int(eng or 0),
            "likes": post.likes,
            "replies": post.replies,
            "reposts": post.reposts,
            "views": post.views,
        }
        for post, source_name, eng in session.execute(stmt)
    ]


def _hours(delta: dt.timedelta) -> float:
    return delta.total_seconds() / 3600


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def _alerts(
    session: Session, start: dt.datetime, end: dt.datetime, now: dt.datetime
) -> dict[str, Any]:
    alerts = session.scalars(
        select(Alert).where(and_(Alert.created_at >= start, Alert.created_at < end))
    ).all()
    rows = []
    for severity in (*SEVERITIES, "total"):
        mine = [a for a in alerts if severity == "total" or a.severity == severity]
        ack = [_hours(a.acknowledged_at - a.created_at) for a in mine if a.acknowledged_at]
        resolve = [_hours(a.resolved_at - a.created_at) for a in mine if a.resolved_at]
        handled = [a for a in mine if a.state in ("resolved", "dismissed")]
        overdue = []
        for a in mine:
            if a.due_at is None:
                continue
            done_at = a.resolved_at or (a.updated_at if a.state == "dismissed" else None)
            if (done_at or now) > a.due_at:
                overdue.append(a)
        rows.append(
            {
                "severity": severity,
                "label": SEVERITY_LABELS.get(severity, "合计"),
                "raised": len(mine),
                "handled": len(handled),
                "open": len(mine) - len(handled),
                "overdue": len(overdue),
                "median_ack_hours": _median(ack),
                "median_resolve_hours": _median(resolve),
            }
        )
    return {"by_severity": rows[:-1], "total": rows[-1]}


def _sources(
    session: Session, start: dt.datetime, end: dt.datetime, tz: Any
) -> list[dict[str, Any]]:
    in_month = and_(CrawlRun.started_at >= start, CrawlRun.started_at < end)
    stats: dict[int, Counter[str]] = {}
    new_items: Counter[int] = Counter()
    for source_id, status, n, items in session.execute(
        select(CrawlRun.source_id, CrawlRun.status, func.count(), func.sum(CrawlRun.items_new))
        .where(in_month)
        .group_by(CrawlRun.source_id, CrawlRun.status)
    ):
        stats.setdefault(source_id, Counter())[status] += n
        new_items[source_id] += int(items or 0)
    result = []
    for source in session.scalars(select(Source).order_by(Source.name)):
        counts = stats.get(source.id, Counter())
        if not source.enabled and not counts:
            continue
        last = session.scalars(
            select(CrawlRun)
            .where(CrawlRun.source_id == source.id, in_month)
            .order_by(CrawlRun.started_at.desc())
            .limit(1)
        ).first()
        runs = sum(counts.values())
        result.append(
            {
                "name": source.name,
                "runs": runs,
                "ok": counts["ok"],
                "partial": counts["partial"],
                "failed": counts["failed"],
                "success_rate": _share(counts["ok"] + counts["partial"], runs),
                "items_new": new_items[source.id],
                "last_status": last.status if last else "",
                "last_run": _iso(last.started_at, tz) if last else "",
                "last_error": (last.last_error or "")[:200] if last else "",
            }
        )
    return result


def _hot_words(session: Session, start: dt.datetime, end: dt.datetime) -> list[list[Any]]:
    stmt = (
        select(Post.title, Post.raw_text)
        .join(Analysis, Analysis.post_id == Post.id)
        .where(in_period(start, end), Analysis.relevant.is_(True))
        .order_by((Post.likes + Post.replies + Post.reposts).desc(), post_time().desc())
        .limit(HOT_WORD_SAMPLE)
    )
    text = "\n".join(f"{title}\n{body[:1000]}" for title, body in session.execute(stmt))
    if not text.strip():
        return []
    import jieba.analyse

    from analysis.text import stopwords, tokenizer

    # the domain dictionary keeps 育儿补贴, 社会抚养费 … whole, and our stopwords drop filler
    extractor = jieba.analyse.TFIDF()
    extractor.tokenizer = tokenizer()  # no POS filter is asked for: the POS tokenizer is unused
    extractor.stop_words = set(extractor.stop_words) | set(stopwords())
    words = []
    for word, weight in extractor.extract_tags(text, topK=HOT_WORDS * 3, withWeight=True):
        if len(word) < 2 or word in HOT_WORD_STOP or re.fullmatch(r"[\d.%]+|[a-zA-Z]", word):
            continue
        words.append([word, round(float(weight), 4)])
        if len(words) == HOT_WORDS:
            break
    return words


def _pct(value: float | None) -> str:
    return f"{value * 100:.1f}%" if value is not None else "—"


def _trend(change: float | None) -> str:
    if change is None:
        return "（上月无数据，无法比较）"
    if change == 0:
        return "，与上月持平"
    return f"，较上月{'增加' if change > 0 else '减少'}{abs(change):.1f}%"


def summary_paragraph(f: dict[str, Any]) -> str:
    """A short plain-language Chinese summary generated from the figures."""
    t = f["totals"]
    a = f["alerts"]["total"]
    parts = []
    if f["empty"]:
        parts.append(f"{f['month_label']}未监测到任何信息，本报告无内容统计。")
    else:
        parts.append(
            f"{f['month_label']}共监测到网络信息{t['posts']}条{_trend(t['posts_change'])}；"
            f"其中与人口计生工作相关{t['relevant']}条{_trend(t['relevant_change'])}。"
        )
        if t["relevant"]:
            s = f["sentiment"]
            neg = s["negative"]
            line = (
                f"相关信息中负面{neg['count']}条，占{_pct(neg['share'])}，"
                f"中性占{_pct(s['neutral']['share'])}，正面占{_pct(s['positive']['share'])}"
            )
            if neg["share"] is not None and neg["prev_share"] is not None:
                diff = (neg["share"] - neg["prev_share"]) * 100
                if abs(diff) < 0.05:
                    line += "，负面占比与上月持平"
                else:
                    way = "上升" if diff > 0 else "下降"
                    line += f"，负面占比较上月{way}{abs(diff):.1f}个百分点"
            parts.append(line + "。")
            worst = sorted((r for r in f["topics"] if r["negative"]), key=lambda r: -r["negative"])[
                :2
            ]
            if worst:
                names = "、".join(f"“{r['label']}”（{r['negative']}条）" for r in worst)
                parts.append(f"负面信息主要集中在{names}方面。")
            busiest = max(f["daily"], key=lambda d: d["relevant"], default=None)
            if busiest and busiest["relevant"]:
                day = dt.date.fromisoformat(busiest["day"])
                parts.append(f"{day.month}月{day.day}日相关信息最多（{busiest['relevant']}条）。")
        if f["events"]:
            top = f["events"][0]
            parts.append(f"本月最受关注的事件为“{top['title']}”，涉及{top['posts']}条信息。")
    if a["raised"]:
        line = f"本月共产生告警{a['raised']}条，已处置{a['handled']}条，尚未办结{a['open']}条"
        line += f"，超期{a['overdue']}条" if a["overdue"] else "，无超期"
        if a["median_ack_hours"] is not None:
            line += f"；确认用时中位数{a['median_ack_hours']}小时"
        if a["median_resolve_hours"] is not None:
            line += f"，办结用时中位数{a['median_resolve_hours']}小时"
        parts.append(line + "。")
    else:
        parts.append("本月未产生告警。")
    failing = [s["name"] for s in f["sources"] if s["runs"] and s["failed"] * 2 >= s["runs"]]
    silent = [s["name"] for s in f["sources"] if not s["runs"]]
    if failing:
        parts.append(f"信息源{'、'.join(failing)}本月抓取失败较多，请检查。")
    if silent:
        parts.append(f"信息源{'、'.join(silent)}本月未运行。")
    return "".join(parts)
