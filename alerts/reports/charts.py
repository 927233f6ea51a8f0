"""PNG charts of the monthly report, drawn with matplotlib in a CJK font found on the machine."""

from __future__ import annotations

import datetime as dt
import io
from functools import lru_cache
from pathlib import Path
from typing import Any

from core.errors import UserError

# Families known to cover simplified Chinese, best first.
PREFERRED_FONTS = (
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "Microsoft YaHei",
    "SimHei",
    "PingFang SC",
    "Droid Sans Fallback",
    "AR PL UMing CN",
    "AR PL UKai CN",
)
SENTIMENT_COLORS = {"negative": "#d9534f", "neutral": "#9aa5b1", "positive": "#5cb85c"}
SEVERITY_COLORS = {"red": "#c9302c", "orange": "#f0ad4e", "yellow": "#e6c229", "blue": "#337ab7"}


def _covers_chinese(path: str) -> bool:
    from matplotlib.ft2font import FT2Font

    try:
        charmap = FT2Font(path).get_charmap()
    except (OSError, RuntimeError):
        return False
    return all(ord(ch) in charmap for ch in "舆情负面")


@lru_cache(maxsize=1)
def find_cjk_font() -> tuple[str, str]:
    """(family name, file) of a font that draws Chinese; a clear error when there is none."""
    from matplotlib import font_manager

    fonts = font_manager.fontManager.ttflist
    by_name = {f.name: f.fname for f in fonts}
    for name in PREFERRED_FONTS:
        if name in by_name and _covers_chinese(by_name[name]):
            return name, by_name[name]
    for font in fonts:
        if _covers_chinese(font.fname):
            return font.name, font.fname
    # A font installed after matplotlib built its cache is not in ttflist yet.
    for folder in ("/usr/share/fonts", "/usr/local/share/fonts", str(Path.home() / ".fonts")):
        for path in sorted(Path(folder).rglob("*")) if Path(folder).is_dir() else []:
            if path.suffix.lower() in {".ttf", ".ttc", ".otf"} and _covers_chinese(str(path)):
                font_manager.fontManager.addfont(str(path))
                return font_manager.FontProperties(fname=str(path)).get_name(), str(path)
    raise UserError(
        "no font with Chinese characters found for the report charts; install one, e.g. "
        "`apt-get install fonts-wqy-zenhei` (or fonts-noto-cjk), then run again"
    )


def _png(fig: Any) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return buf.getvalue()


def _figure(width: float, height: float) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height))


def _trend(f: dict[str, Any]) -> bytes:
    fig = _figure(8, 3.6)
    ax = fig.add_subplot()
    days = [dt.date.fromisoformat(d["day"]) for d in f["daily"]]
    labels = [str(d.day) for d in days]
    ax.bar(labels, [d["relevant"] for d in f["daily"]], color="#8fb8de", label="相关信息数")
    ax.set_xlabel("日期（日）")
    ax.set_ylabel("相关信息（条）")
    ax.tick_params(axis="x", labelsize=7)
    share = ax.twinx()
    values = [
        d["negative_share"] * 100 if d["negative_share"] is not None else float("nan")
        for d in f["daily"]
    ]
    share.plot(
        labels,
        values,
        color=SENTIMENT_COLORS["negative"],
        marker="o",
        markersize=3,
        label="负面占比",
    )
    share.set_ylabel("负面占比（%）")
    share.set_ylim(0, 100)
    handles = ax.get_legend_handles_labels()[0] + share.get_legend_handles_labels()[0]
    ax.legend(
        handles,
        ["相关信息数", "负面占比"],
        loc="upper center",
        bbox_to_anchor=(0.5, -0.18),
        ncol=2,
        fontsize=8,
        frameon=False,
    )
    ax.set_title(f"{f['month_label']}每日相关信息量与负面占比")
    return _png(fig)


def _sentiment(f: dict[str, Any]) -> bytes:
    fig = _figure(4.6, 3.6)
    ax = fig.add_subplot()
    keys = [k for k, v in f["sentiment"].items() if v["count"]]
    ax.pie(
        [f["sentiment"][k]["count"] for k in keys],
        labels=[f["sentiment"][k]["label"] for k in keys],
        colors=[SENTIMENT_COLORS[k] for k in keys],
        autopct="%1.1f%%",
        startangle=90,
        counterclock=False,
    )
    ax.set_title("相关信息情感分布")
    ax.axis("equal")
    return _png(fig)


def _topics(f: dict[str, Any]) -> bytes:
    from matplotlib.ticker import MaxNLocator

    rows = list(reversed(f["topics"]))
    fig = _figure(8, 0.42 * len(rows) + 1.2)
    ax = fig.add_subplot()
    labels = [r["label"] for r in rows]
    left = [0] * len(rows)
    for key, name in (("negative", "负面"), ("neutral", "中性"), ("positive", "正面")):
        values = [r[key] for r in rows]
        ax.barh(labels, values, left=left, color=SENTIMENT_COLORS[key], label=name)
        left = [a + b for a, b in zip(left, values, strict=True)]
    ax.set_xlabel("相关信息（条）")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title("各业务领域信息量与情感")
    ax.legend(loc="lower right", fontsize=8)
    return _png(fig)


def _alerts(f: dict[str, Any]) -> bytes:
    rows = f["alerts"]["by_severity"]
    fig = _figure(6, 3.2)
    ax = fig.add_subplot()
    x = range(len(rows))
    width = 0.26
    for i, (key, name, color) in enumerate(
        (
            ("raised", "产生", "#337ab7"),
            ("handled", "已处置", "#5cb85c"),
            ("overdue", "超期", "#d9534f"),
        )
    ):
        ax.bar(
            [p + (i - 1) * width for p in x], [r[key] for r in rows], width, label=name, color=color
        )
    from matplotlib.ticker import MaxNLocator

    ax.set_xticks(list(x), [r["label"] for r in rows])
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("告警（条）")
    ax.set_title("告警产生与处置情况（按等级）")
    ax.legend(fontsize=8)
    return _png(fig)


CHARTS = {
    "trend": ("每日相关信息量与负面占比", _trend),
    "sentiment": ("情感分布", _sentiment),
    "topics": ("各业务领域信息量与情感", _topics),
    "alerts": ("告警处置情况", _alerts),
}


def render_charts(figures: dict[str, Any]) -> dict[str, bytes]:
    """PNG bytes per chart name; a month without posts gets only the alerts chart if any."""
    import logging

    import matplotlib

    # WenQuanYi Zen Hei has only a medium weight; matplotlib warns on every label otherwise.
    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
    family, _ = find_cjk_font()
    wanted = [] if figures["empty"] else ["trend"]
    if figures["totals"]["relevant"]:
        wanted += ["sentiment", "topics"]
    if figures["alerts"]["total"]["raised"]:
        wanted.append("alerts")
    with matplotlib.rc_context(
        {
            "font.family": "sans-serif",
            "font.sans-serif": [family, "DejaVu Sans"],
            "axes.unicode_minus": False,
        }
    ):
        return {name: CHARTS[name][1](figures) for name in wanted}
