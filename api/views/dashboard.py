"""概览: daily volumes, negative share per topic, top events and source health."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api import queries
from api.charts import line_chart, topic_bars
from api.deps import SessionDep, UserDep
from api.forms import parse_int
from api.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/dashboard")
def dashboard_page(request: Request, session: SessionDep, user: UserDep) -> Response:
    """The overview page."""
    days = parse_int(request.query_params.get("days"), 30, 7, 365) or 30
    labels = request.app.state.topic_labels()
    data = queries.dashboard(
        session, tz=request.app.state.settings.tz, days=days, cache=request.app.state.daily_stats
    )
    volume_svg = line_chart(
        data["dates"],
        data["series"],
        {"all": "全部信息", "relevant": "相关信息", "negative": "相关负面"},
        title=f"近 {days} 天每日信息量",
    )
    return render(
        request,
        "dashboard.html",
        data=data,
        volume_svg=volume_svg,
        topics_svg=topic_bars(data["topics"], labels),
    )
