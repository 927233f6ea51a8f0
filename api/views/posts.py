"""信息: search and filter posts, export the filter, one post, label corrections."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from sqlalchemy.orm import Session

from analysis.models import SENTIMENTS
from api import queries
from api.deps import SessionDep, UserDep
from api.forms import clean, parse_date, parse_int, verify_csrf
from api.labels import correct_labels, corrected_post_ids
from api.templating import SENTIMENT_LABELS, render
from api.websession import flash
from core.errors import UserError
from core.spreadsheet import cell
from crawlers.models import Post

router = APIRouter(include_in_schema=False, dependencies=[Depends(verify_csrf)])
EXPORT_LIMIT = 100_000
EXPORT_COLUMNS = [
    "编号",
    "来源",
    "发布时间",
    "标题",
    "正文",
    "作者",
    "链接",
    "相关",
    "情感",
    "业务分类",
    "点赞",
    "回复",
    "转发",
    "浏览",
]


def post_filter(params: Any) -> queries.PostFilter:
    """A post filter from query parameters; unknown values are ignored."""
    sentiment = clean(params.get("sentiment"), 10)
    return queries.PostFilter(
        q=clean(params.get("q"), 100),
        topic=clean(params.get("topic"), 32),
        sentiment=sentiment if sentiment in SENTIMENTS else "",
        source_id=parse_int(params.get("source"), None, 1),
        date_from=parse_date(params.get("from")),
        date_to=parse_date(params.get("to")),
        relevant_only=params.get("relevant") == "1",
        page=parse_int(params.get("page"), 1, 1, 100000) or 1,
    )


@router.get("/posts")
def posts_page(request: Request, session: SessionDep, user: UserDep) -> Response:
    """The posts list with filters and export links."""
    f = post_filter(request.query_params)
    tz = request.app.state.settings.tz
    rows, has_next = queries.list_posts(session, f, tz)
    return render(
        request,
        "posts.html",
        f=f,
        rows=rows,
        has_next=has_next,
        sources=queries.all_sources(session),
        corrected=corrected_post_ids(session, [r.post.id for r in rows]),
        qs=lambda **changes: urlencode(f.params(**changes)),
        back=str(request.url.path) + ("?" + request.url.query if request.url.query else ""),
    )


def _export_rows(
    session: Session, f: queries.PostFilter, tz: Any, labels: dict[str, str]
) -> Iterator[list[Any]]:
    stmt = queries.posts_select(f, tz).limit(EXPORT_LIMIT).execution_options(yield_per=1000)
    for post, analysis, source in session.execute(stmt):
        published = (
            post.published_at.astimezone(tz).strftime("%Y-%m-%d %H:%M") if post.published_at else ""
        )
        yield [
            post.id,
            source.name if source else "",
            published,
            post.title,
            post.raw_text,
            post.author,
            post.url,
            ("是" if analysis.relevant else "否") if analysis else "",
            SENTIMENT_LABELS.get(analysis.sentiment, "") if analysis else "",
            "、".join(labels.get(t, t) for t in (analysis.topics or [])) if analysis else "",
            post.likes,
            post.replies,
            post.reposts,
            post.views,
        ]


@router.get("/posts/export.{fmt}")
def export(request: Request, fmt: str, session: SessionDep, user: UserDep) -> Response:
    """The current filter as CSV (UTF-8 with BOM for Excel) or XLSX."""
    f = post_filter(request.query_params)
    tz = request.app.state.settings.tz
    labels = request.app.state.topic_labels()
    if fmt == "csv":
        factory = request.app.state.session_factory

        def generate() -> Iterator[bytes]:
            # its own session: the request's closes before a streamed body is finished
            stream_session = factory()
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            buffer.write("\ufeff")
            writer.writerow(EXPORT_COLUMNS)
            try:
                for row in _export_rows(stream_session, f, tz, labels):
                    writer.writerow([cell(v) for v in row])
                    if buffer.tell() > 65536:
                        yield buffer.getvalue().encode("utf-8")
                        buffer.seek(0)
                        buffer.truncate()
                yield buffer.getvalue().encode("utf-8")
            finally:
                stream_session.close()

        return StreamingResponse(
            generate(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="posts.csv"'},
        )
    if fmt == "xlsx":
        from openpyxl import Workbook

        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet("信息")
        sheet.append(EXPORT_COLUMNS)
        for row in _export_rows(session, f, tz, labels):
            sheet.append([cell(v) for v in row])
        out = io.BytesIO()
        workbook.save(out)
        return Response(
            out.getvalue(),
            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers={"Content-Disposition": 'attachment; filename="posts.xlsx"'},
        )
    raise HTTPException(404, "导出格式只支持 csv 或 xlsx")


@router.get("/posts/{post_id}")
def post_page(request: Request, post_id: int, session: SessionDep, user: UserDep) -> Response:
    """One post with its labels and the correction form."""
    post = session.get(Post, post_id) if 0 < post_id < 2**62 else None
    if post is None:
        raise HTTPException(404, "信息不存在 (post not found)")
    from sqlalchemy import select

    from analysis.models import Analysis

    analysis = session.scalar(select(Analysis).where(Analysis.post_id == post.id))
    row = queries.PostRow(post, analysis, post.source)
    return render(
        request,
        "post_detail.html",
        row=row,
        back=f"/posts/{post.id}",
        corrected=corrected_post_ids(session, [post.id]),
        terms=[],
    )


def parse_correction(form: Any) -> tuple[str | None, list[str] | None, bool | None, str]:
    """sentiment, topics, relevant and note from a correction form (fields left alone: None)."""
    sentiment = clean(form.get("sentiment"), 16) or None
    topics = [clean(t, 32) for t in form.getlist("topics")] if form.get("set_topics") else None
    relevant_value = clean(form.get("relevant"), 5)
    relevant = {"1": True, "0": False}.get(relevant_value)
    return sentiment, topics, relevant, clean(form.get("note"), 2000)


@router.post("/posts/{post_id}/labels")
async def correct(request: Request, post_id: int, session: SessionDep, user: UserDep) -> Response:
    """Correct a post's sentiment, topics and relevance in place."""
    post = session.get(Post, post_id) if 0 < post_id < 2**62 else None
    if post is None:
        raise HTTPException(404, "信息不存在 (post not found)")
    form = await request.form()
    back = clean(form.get("back"), 2000)
    if not back.startswith("/") or back.startswith("//"):
        back = f"/posts/{post_id}"
    sentiment, topics, relevant, note = parse_correction(form)
    try:
        correct_labels(
            session=session,
            post=post,
            user=user,
            sentiment=sentiment,
            topics=topics,
            relevant=relevant,
            note=note,
            known_topics=set(request.app.state.topic_labels()),
        )
        session.commit()
        flash(request, f"已更正信息 #{post.id} 的标签，将用于下次模型训练。")
    except UserError as exc:
        session.rollback()
        flash(request, exc.message, "error")
    return RedirectResponse(f"{back}#post-{post.id}", status_code=303)
