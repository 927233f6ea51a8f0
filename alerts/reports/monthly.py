"""The monthly sentiment report: build from the database, write to a folder, send by email."""

from __future__ import annotations

import base64
import datetime as dt
import io
import logging
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alerts.models import OutboxEmail, Report
from alerts.reports.charts import CHARTS, render_charts
from alerts.reports.figures import SENTIMENT_LABELS, compute_figures, parse_month, topic_labels
from alerts.reports.stats import day_bounds, in_period
from analysis.models import Analysis
from core.config import Settings, get_settings
from core.db import utcnow
from core.errors import UserError
from core.spreadsheet import cell
from crawlers.models import Post, Source

log = logging.getLogger(__name__)

XLSX_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")
# The attachment lists at most this many relevant posts, the most engaged first (about 4 MB); a
# month of 300,000 relevant posts would otherwise make an attachment of a hundred MB that no mail
# server accepts. All of them can be exported from the web page /posts.
XLSX_MAX_ROWS = 10_000
STATUS_LABELS = {"ok": "成功", "partial": "部分成功", "failed": "失败", "running": "运行中"}

_env = Environment(
    loader=PackageLoader("alerts.reports", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass
class MonthlyReport:
    """A built report: its figures, HTML and text, PNG charts and the XLSX of relevant posts."""

    month: str
    figures: dict[str, Any]
    html: str
    text: str
    images: dict[str, bytes]
    xlsx: bytes
    email_html: str = ""
    settings: Settings | None = field(default=None, repr=False)

    @property
    def subject(self) -> str:
        """The email subject."""
        return f"舆情月报：{self.figures['month_label']}网络舆情分析报告"

    @property
    def xlsx_name(self) -> str:
        """File name of the spreadsheet attachment."""
        return f"舆情月报-{self.month}-相关信息.xlsx"

    def write(self, out_dir: Path) -> list[Path]:
        """Write report.html, the chart PNGs and the XLSX into a folder; returns the paths."""
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserError(f"cannot create --out folder {out_dir}: {exc.strerror}") from exc
        paths = [out_dir / f"report-{self.month}.html"]
        paths[0].write_text(self.html, encoding="utf-8")
        for name, png in self.images.items():
            path = out_dir / f"{name}-{self.month}.png"
            path.write_bytes(png)
            paths.append(path)
        path = out_dir / self.xlsx_name
        path.write_bytes(self.xlsx)
        paths.append(path)
        return paths

    def mime(self, *, to: list[str], sender: str) -> bytes:
        """The email: text and HTML alternatives, charts inline by Content-ID, XLSX attached."""
        msg = EmailMessage(policy=policy.SMTP)
        msg["Subject"] = self.subject
        msg["From"] = sender
        msg["To"] = ", ".join(to)
        msg["Date"] = formatdate(localtime=True)
        msg["Message-ID"] = make_msgid(domain="yuqing.local")
        msg.set_content(self.text)
        cids = {name: make_msgid(domain="yuqing.local")[1:-1] for name in self.images}
        html = _render_html(self.figures, {name: f"cid:{cid}" for name, cid in cids.items()}, self)
        msg.add_alternative(html, subtype="html")
        html_part = msg.get_payload()[1]
        for name, png in self.images.items():
            html_part.add_related(
                png,
                "image",
                "png",
                cid=f"<{cids[name]}>",
                filename=f"{name}.png",
                disposition="inline",
            )
        msg.add_attachment(
            self.xlsx, maintype=XLSX_TYPE[0], subtype=XLSX_TYPE[1], filename=self.xlsx_name
        )
        return msg.as_bytes()


def _change(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{'+' if value > 0 else ''}{value:.1f}%"


def _pct(value: float | None) -> str:
    return f"{value * 100:.1f}%" if value is not None else "—"


def _points(now: float | None, before: float | None) -> str:
    if now is None or before is None:
        return "—"
    diff = (now - before) * 100
    return f"{'+' if diff > 0 else ''}{diff:.1f}个百分点"


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:g}"


def _render_html(f: dict[str, Any], image_src: dict[str, str], report: Any) -> str:
    settings = getattr(report, "settings", None) or get_settings()
    return _env.get_template("monthly.html").render(
        f=f,
        title=f"{f['month_label']}网络舆情分析报告",
        images=image_src,
        xlsx_name=report.xlsx_name,
        xlsx_max=XLSX_MAX_ROWS,
        base_url=settings.base_url,
        change=_change,
        pct=_pct,
        points=_points,
        num=_num,
        status=lambda s: STATUS_LABELS.get(s, s),
    )


def render_text(f: dict[str, Any]) -> str:
    """The plain-text part of the email."""
    t = f["totals"]
    lines = [
        f"{f['month_label']}网络舆情分析报告",
        f"统计期间：{f['period']['first']} 至 {f['period']['last']}",
        "",
        f["summary"],
        "",
    ]
    if not f["empty"]:
        lines += [
            f"监测信息总量：{t['posts']}（上月 {t['prev_posts']}，环比 "
            f"{_change(t['posts_change'])}）",
            f"相关信息：{t['relevant']}（上月 {t['prev_relevant']}，环比 "
            f"{_change(t['relevant_change'])}）",
            "情感分布："
            + "，".join(f"{s['label']} {_pct(s['share'])}" for s in f["sentiment"].values()),
            "",
            "各业务领域（相关信息/负面）：",
        ]
        lines += [f"  {r['label']}：{r['posts']}/{r['negative']}" for r in f["topics"]]
    if f["events"]:
        lines += ["", "主要事件："]
        lines += [f"  {e['title']}（{e['posts']}条，负面{e['negative']}条）" for e in f["events"]]
    if f["negative_posts"]:
        lines += ["", "关注度最高的负面信息："]
        lines += [f"  {p['title']} {p['url']}" for p in f["negative_posts"]]
    a = f["alerts"]["total"]
    lines += [
        "",
        f"告警：产生{a['raised']}，已处置{a['handled']}，超期{a['overdue']}，"
        f"确认用时中位数{_num(a['median_ack_hours'])}小时，办结用时中位数"
        f"{_num(a['median_resolve_hours'])}小时",
    ]
    if f["hot_words"]:
        lines += ["", "热词：" + "、".join(w[0] for w in f["hot_words"])]
    listed = f"（列出互动量最高的{XLSX_MAX_ROWS}条）" if t["relevant"] > XLSX_MAX_ROWS else ""
    lines += ["", f"图表见本邮件的网页版本；相关信息明细见附件{listed}。"]
    return "\n".join(lines) + "\n"


XLSX_HEADER = (
    "发布时间",
    "信息源",
    "标题",
    "内容摘要",
    "情感",
    "业务领域",
    "点赞",
    "回复",
    "转发",
    "阅读",
    "事件编号",
    "链接",
)


def render_xlsx(*, session: Session, month: str, settings: Settings, f: dict[str, Any]) -> bytes:
    """The month's relevant posts (the XLSX_MAX_ROWS most engaged) and daily counts as XLSX."""
    from openpyxl import Workbook

    tz = settings.tz
    first, last = parse_month(month)
    start, end = day_bounds(first, last, tz)
    labels = topic_labels(session)
    wb = Workbook(write_only=True)
    sheet = wb.create_sheet("相关信息")
    sheet.append(list(XLSX_HEADER))
    engagement = Post.likes + Post.replies + Post.reposts
    stmt = (
        select(
            Post.id,
            Post.published_at,
            Post.fetched_at,
            Source.name,
            Post.title,
            func.substr(Post.raw_text, 1, 300).label("excerpt"),
            Analysis.sentiment,
            Analysis.topics,
            Post.likes,
            Post.replies,
            Post.reposts,
            Post.views,
            Analysis.event_id,
            Post.url,
        )
        .join(Analysis, Analysis.post_id == Post.id)
        .join(Source, Source.id == Post.source_id)
        .where(in_period(start, end), Analysis.relevant.is_(True))
        .order_by(engagement.desc(), Post.views.desc(), Post.id)
        .limit(XLSX_MAX_ROWS + 1)
    )
    rows = session.execute(stmt).all()
    left_out = 0
    if len(rows) > XLSX_MAX_ROWS:
        rows = rows[:XLSX_MAX_ROWS]
        left_out = (
            session.execute(
                select(func.count())
                .select_from(Post)
                .join(Analysis, Analysis.post_id == Post.id)
                .where(in_period(start, end), Analysis.relevant.is_(True))
            ).scalar_one()
            - XLSX_MAX_ROWS
        )
    # listed in time order, as staff read a month
    rows.sort(key=lambda r: (r.published_at or r.fetched_at, r.id))
    for row in rows:
        when = (row.published_at or row.fetched_at).astimezone(tz).replace(tzinfo=None)
        sheet.append(
            [
                when,
                cell(row.name),
                cell(row.title),
                cell(row.excerpt),
                SENTIMENT_LABELS.get(row.sentiment, row.sentiment),
                "、".join(labels.get(c, c) for c in (row.topics or [])),
                row.likes,
                row.replies,
                row.reposts,
                row.views,
                row.event_id,
                cell(row.url),
            ]
        )
    if left_out:
        log.info("report %s: xlsx lists %d relevant posts, %d left out", month, len(rows), left_out)
        sheet.append(
            [
                f"另有{left_out}条相关信息未列出：附件只列互动量最高的{XLSX_MAX_ROWS}条，"
                "全部信息可在系统“信息”页面按日期筛选后导出。"
            ]
        )
    daily = wb.create_sheet("每日统计")
    daily.append(["日期", "信息总量", "相关信息", "负面", "负面占比"])
    for d in f["daily"]:
        daily.append([d["day"], d["posts"], d["relevant"], d["negative"], d["negative_share"]])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def build_monthly_report(
    *,
    session: Session,
    month: str,
    settings: Settings | None = None,
    now: dt.datetime | None = None,
) -> MonthlyReport:
    """Compute the month's figures and render charts, HTML, text and XLSX."""
    settings = settings or get_settings()
    now = now or utcnow()
    figures = compute_figures(session=session, month=month, settings=settings, now=now)
    images = render_charts(figures)
    report = MonthlyReport(
        month=month,
        figures=figures,
        html="",
        text=render_text(figures),
        images=images,
        xlsx=b"",
        settings=settings,
    )
    report.xlsx = render_xlsx(session=session, month=month, settings=settings, f=figures)
    report.html = _render_html(figures, {name: f"{name}-{month}.png" for name in images}, report)
    return report


def _embedded_html(report: MonthlyReport) -> str:
    """HTML with the charts as data URIs, stored for the web preview."""
    return _render_html(
        report.figures,
        {
            name: "data:image/png;base64," + base64.b64encode(png).decode()
            for name, png in report.images.items()
        },
        report,
    )


def store_report(*, session: Session, report: MonthlyReport) -> Report:
    """Record the report (one unsent row per month is updated in place; sent ones are kept)."""
    row = session.scalars(
        select(Report).where(
            Report.kind == "monthly", Report.period == report.month, Report.sent_at.is_(None)
        )
    ).first()
    if row is None:
        row = Report(kind="monthly", period=report.month)
        session.add(row)
    row.figures = report.figures
    row.html = _embedded_html(report)
    row.created_at = utcnow()
    session.flush()
    return row


def recipients_for(settings: Settings, to: list[str] | None) -> list[str]:
    recipients = list(to or settings.report_recipients)
    if not recipients:
        raise UserError(
            "no report recipients: set YUQING_REPORT_RECIPIENTS (comma-separated addresses)"
        )
    return recipients


def send_monthly_report(
    *,
    session: Session,
    month: str,
    settings: Settings | None = None,
    now: dt.datetime | None = None,
    to: list[str] | None = None,
    report: MonthlyReport | None = None,
) -> Report:
    """Build (unless given), store and queue the report in the email outbox."""
    settings = settings or get_settings()
    recipients = recipients_for(settings, to)
    from alerts.outbox import queue

    report = report or build_monthly_report(
        session=session, month=month, settings=settings, now=now
    )
    row = store_report(session=session, report=report)
    email = queue(
        session=session,
        to=recipients,
        subject=report.subject,
        body_text=report.text,
        kind="report",
        dedup_key=f"report:monthly:{month}:{row.id}",
        mime=report.mime(to=recipients, sender=settings.smtp_from),
    )
    row.outbox_id = email.id
    row.sent_at = now or utcnow()
    session.flush()
    return row


def resend_report(
    *,
    session: Session,
    report: Report,
    settings: Settings | None = None,
    to: list[str] | None = None,
    now: dt.datetime | None = None,
) -> OutboxEmail:
    """Queue a stored report again (same message, optionally to other recipients)."""
    from alerts.outbox import queue

    settings = settings or get_settings()
    recipients = recipients_for(settings, to)
    previous = session.get(OutboxEmail, report.outbox_id) if report.outbox_id else None
    if previous is not None and previous.mime:
        msg = BytesParser(policy=policy.SMTP).parsebytes(previous.mime)
        del msg["To"], msg["Message-ID"], msg["Date"]
        msg["To"] = ", ".join(recipients)
        msg["Date"] = formatdate(localtime=True)
        msg["Message-ID"] = make_msgid(domain="yuqing.local")
        mime, subject, text = msg.as_bytes(), str(msg["Subject"]), previous.body_text
    else:
        built = build_monthly_report(session=session, month=report.period, settings=settings)
        mime = built.mime(to=recipients, sender=settings.smtp_from)
        subject, text = built.subject, built.text
    stamp = (now or utcnow()).strftime("%Y%m%dT%H%M%S%f")
    email = queue(
        session=session,
        to=recipients,
        subject=subject,
        body_text=text,
        kind="report",
        dedup_key=f"report:monthly:{report.period}:{report.id}:resend:{stamp}",
        mime=mime,
    )
    report.outbox_id = email.id
    report.sent_at = now or utcnow()
    session.flush()
    return email


__all__ = [
    "CHARTS",
    "MonthlyReport",
    "build_monthly_report",
    "resend_report",
    "send_monthly_report",
    "store_report",
]
