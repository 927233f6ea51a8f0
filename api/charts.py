"""Charts as server-side SVG: no chart library, no script, no CDN; text is escaped."""

from __future__ import annotations

from markupsafe import Markup, escape

COLORS = {"all": "#94a3b8", "relevant": "#2563eb", "negative": "#dc2626"}


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1
    for step in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000):
        if value <= step * 4:
            return step * 4 if value > step * 2 else step * 2 if value > step else step
    return value * 1.1


def line_chart(
    dates: list[str],
    series: dict[str, list[int]],
    labels: dict[str, str],
    width: int = 1160,
    height: int = 260,
    title: str = "",
) -> Markup:
    """Daily counts as lines with a legend, an axis and a readable title."""
    left, right, top, bottom = 48, 28, 30, 30
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = _nice_max(max((max(v) if v else 0) for v in series.values()) if series else 0)
    n = max(1, len(dates) - 1)
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for i in range(5):
        y = top + plot_h - plot_h * i / 4
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" '
            'stroke="#e5e7eb" stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="13" '
            f'fill="#6b7280">{peak * i / 4:.0f}</text>'
        )
    step = max(1, len(dates) // 6)
    for i, d in enumerate(dates):
        if i % step == 0 or i == len(dates) - 1:
            x = left + plot_w * i / n
            parts.append(
                f'<text x="{x:.1f}" y="{height - 10}" text-anchor="middle" '
                f'font-size="13" fill="#6b7280">{escape(d[5:])}</text>'
            )
    legend_x = left
    for name, values in series.items():
        color = COLORS.get(name, "#0f766e")
        points = " ".join(
            f"{left + plot_w * i / n:.1f},{top + plot_h - plot_h * v / peak:.1f}"
            for i, v in enumerate(values)
        )
        parts.append(
            f'<polyline points="{points}" fill="none" stroke="{color}" '
            'stroke-width="2" stroke-linejoin="round"/>'
        )
        for i, v in enumerate(values):
            if v:
                x, y = left + plot_w * i / n, top + plot_h - plot_h * v / peak
                parts.append(
                    f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{color}">'
                    f"<title>{escape(dates[i])}: {v}</title></circle>"
                )
        parts.append(f'<rect x="{legend_x}" y="8" width="12" height="12" rx="2" fill="{color}"/>')
        label = escape(labels.get(name, name))
        parts.append(
            f'<text x="{legend_x + 16}" y="18" font-size="13" fill="#374151">{label}</text>'
        )
        legend_x += 28 + 13 * len(labels.get(name, name))
    parts.append("</svg>")
    return Markup("".join(parts))


def topic_bars(topics: list[dict], labels: dict[str, str], width: int = 1160) -> Markup:
    """Per topic: relevant volume as a bar, negative part in red, negative share as text."""
    row_h, left, right = 26, 150, 90
    height = max(1, len(topics)) * row_h + 10
    peak = max((t["total"] for t in topics), default=0) or 1
    plot_w = width - left - right
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        'aria-label="各业务信息量与负面占比" xmlns="http://www.w3.org/2000/svg">',
        "<title>各业务信息量与负面占比</title>",
    ]
    if not topics:
        parts.append(
            f'<text x="{width / 2}" y="20" text-anchor="middle" font-size="13" '
            'fill="#6b7280">暂无数据</text>'
        )
    for i, t in enumerate(topics):
        y = 5 + i * row_h
        total_w = plot_w * t["total"] / peak
        neg_w = plot_w * t["negative"] / peak
        label = escape(labels.get(t["code"], t["code"]))
        parts.append(
            f'<text x="{left - 8}" y="{y + 16}" text-anchor="end" font-size="13" '
            f'fill="#374151">{label}</text>'
        )
        parts.append(
            f'<rect x="{left}" y="{y + 4}" width="{total_w:.1f}" height="16" rx="3" '
            'fill="#bfdbfe"/>'
        )
        parts.append(
            f'<rect x="{left}" y="{y + 4}" width="{neg_w:.1f}" height="16" rx="3" '
            f'fill="#dc2626"><title>负面 {t["negative"]} / {t["total"]}</title></rect>'
        )
        parts.append(
            f'<text x="{left + total_w + 6:.1f}" y="{y + 16}" font-size="13" '
            f'fill="#374151">{t["total"]} · 负面{t["share"] * 100:.0f}%</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def sparkline(
    values: list[int], width: int = 120, height: int = 28, color: str = "#2563eb"
) -> Markup:
    """A tiny bar chart of daily counts."""
    peak = max(values, default=0) or 1
    n = max(1, len(values))
    bar_w = min(width / n, 22.0)
    parts = [
        f'<svg class="spark" viewBox="0 0 {width} {height}" '
        'xmlns="http://www.w3.org/2000/svg" aria-hidden="true">'
    ]
    for i, v in enumerate(values):
        h = (height - 2) * v / peak
        parts.append(
            f'<rect x="{i * bar_w + 1:.1f}" y="{height - h:.1f}" '
            f'width="{max(1.0, bar_w - 2):.1f}" height="{h:.1f}" fill="{color}">'
            f"<title>{v}</title></rect>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))
