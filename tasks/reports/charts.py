"""Self-contained SVG charts (no JavaScript, no network): an auditor opens the HTML offline."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

PALETTE = ["#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#4b5563"]
WIDTH, HEIGHT, PAD_L, PAD_R, PAD_T, PAD_B = 720, 260, 60, 150, 20, 40


@dataclass(frozen=True)
class Chart:
    title: str
    svg: str


def _fmt(v: float) -> str:
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def line_chart(
    title: str,
    series: dict[str, list[tuple[str, float]]],
    y_label: str = "",
    threshold: float | None = None,
) -> Chart:
    """One line per series over shared x labels (e.g. days); an optional dashed threshold."""
    labels = sorted({x for points in series.values() for x, _ in points})
    values = [v for points in series.values() for _, v in points]
    if threshold is not None:
        values.append(threshold)
    if not labels:
        return Chart(title, f'<p class="empty">{escape(title)}: no data</p>')
    top = max(values + [0.0]) or 1.0
    plot_w, plot_h = WIDTH - PAD_L - PAD_R, HEIGHT - PAD_T - PAD_B
    step = plot_w / max(len(labels) - 1, 1)
    xpos = {label: PAD_L + i * step for i, label in enumerate(labels)}

    def y(v: float) -> float:
        return PAD_T + plot_h - (v / top) * plot_h

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="{escape(title)}">',
        f'<line x1="{PAD_L}" y1="{PAD_T + plot_h}" x2="{PAD_L + plot_w}" y2="{PAD_T + plot_h}" stroke="#999"/>',
        f'<line x1="{PAD_L}" y1="{PAD_T}" x2="{PAD_L}" y2="{PAD_T + plot_h}" stroke="#999"/>',
        f'<text x="4" y="{PAD_T + 10}" font-size="11">{escape(_fmt(top))}</text>',
        f'<text x="4" y="{PAD_T + plot_h}" font-size="11">0</text>',
        f'<text x="4" y="{HEIGHT - 4}" font-size="11">{escape(y_label)}</text>',
    ]
    for i in sorted({0, len(labels) // 2, len(labels) - 1}):
        label = labels[i]
        parts.append(
            f'<text x="{xpos[label]:.1f}" y="{PAD_T + plot_h + 16}" font-size="10" text-anchor="middle">{escape(label)}</text>'
        )
    if threshold is not None:
        parts.append(
            f'<line x1="{PAD_L}" y1="{y(threshold):.1f}" x2="{PAD_L + plot_w}" y2="{y(threshold):.1f}" '
            f'stroke="#dc2626" stroke-dasharray="6 4"><title>threshold {escape(_fmt(threshold))}</title></line>'
        )
    for i, (name, points) in enumerate(sorted(series.items())):
        color = PALETTE[i % len(PALETTE)]
        coords = " ".join(f"{xpos[x]:.1f},{y(v):.1f}" for x, v in sorted(points))
        parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{coords}"/>')
        for x, v in sorted(points):
            parts.append(
                f'<circle cx="{xpos[x]:.1f}" cy="{y(v):.1f}" r="2.5" fill="{color}"><title>{escape(name)} {escape(x)}: {escape(_fmt(v))}</title></circle>'
            )
        if i < 12:
            ly = PAD_T + 14 * i + 8
            parts.append(
                f'<rect x="{WIDTH - PAD_R + 10}" y="{ly - 8}" width="10" height="10" fill="{color}"/>'
            )
            parts.append(
                f'<text x="{WIDTH - PAD_R + 24}" y="{ly + 1}" font-size="11">{escape(name[:22])}</text>'
            )
    parts.append("</svg>")
    return Chart(title, "".join(parts))


def bar_chart(title: str, items: list[tuple[str, float]], unit: str = "") -> Chart:
    """Horizontal bars, largest first (at most 20)."""
    items = sorted(items, key=lambda kv: -kv[1])[:20]
    if not items:
        return Chart(title, f'<p class="empty">{escape(title)}: no data</p>')
    top = max(v for _, v in items) or 1.0
    row_h, label_w, bar_w = 20, 220, WIDTH - 220 - 90
    height = row_h * len(items) + 10
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" role="img" aria-label="{escape(title)}">'
    ]
    for i, (label, value) in enumerate(items):
        y = 5 + i * row_h
        w = max(1.0, value / top * bar_w)
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 13}" font-size="11" text-anchor="end">{escape(label[:34])}</text>'
        )
        parts.append(
            f'<rect x="{label_w}" y="{y + 2}" width="{w:.1f}" height="{row_h - 6}" fill="{PALETTE[0]}"/>'
        )
        parts.append(
            f'<text x="{label_w + w + 4:.1f}" y="{y + 13}" font-size="11">{escape(unit + _fmt(value))}</text>'
        )
    parts.append("</svg>")
    return Chart(title, "".join(parts))
