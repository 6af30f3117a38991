"""Self-contained SVG charts (no JavaScript, no network): an auditor opens the HTML offline.

Every chart has labelled axes with units, gridlines at "nice" ticks, whole numbers for
counts, wrapped labels and one colour per series name in every chart of every report
(a series keeps its colour wherever it appears). SVGs scale to the page width.
"""

from __future__ import annotations

import hashlib
import math
import textwrap
from dataclasses import dataclass
from html import escape

# Colour-blind-friendly (Okabe-Ito + Tableau), dark enough on white and in print.
PALETTE = [
    "#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00",
    "#56b4e9", "#7c3aed", "#4b5563", "#b45309", "#0f766e",
]  # fmt: skip
THRESHOLD_COLOR = "#dc2626"
# Series whose meaning is the same across jobs get fixed colours.
FIXED = {"spend to date": PALETTE[0], "forecast to period end": PALETTE[4]}
WIDTH, HEIGHT, PAD_L, PAD_R, PAD_T, PAD_B = 760, 300, 74, 36, 16, 58
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
TICKS = 5
CLIP_FACTOR = 3.0  # a series above this × the threshold would flatten it: clip the axis


@dataclass(frozen=True)
class Chart:
    title: str
    svg: str


def series_color(name: str) -> str:
    """The same series name gets the same colour in every chart."""
    if name in FIXED:
        return FIXED[name]
    return PALETTE[int(hashlib.sha256(name.encode()).hexdigest(), 16) % len(PALETTE)]


def _colors(names: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name in names:
        color = series_color(name)
        if color in out.values():  # two names hashed alike in one chart: keep them apart
            color = next((c for c in PALETTE if c not in out.values()), color)
        out[name] = color
    return out


def _is_rate(label: str, values: list[float]) -> bool:
    return "rate" in label.lower() and all(0 <= v <= 1 for v in values)


def fmt_value(v: float, *, percent: bool = False, unit: str = "") -> str:
    """Whole numbers without decimals, money with cents, ratios as percentages."""
    if percent:
        return f"{v * 100:.0f}%" if v * 100 == round(v * 100) else f"{v * 100:.1f}%"
    if unit == "$":
        return f"${v:,.0f}" if abs(v) >= 1000 or float(v).is_integer() else f"${v:,.2f}"
    if float(v).is_integer():
        return f"{int(v):,}"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    if abs(v) >= 1:
        return f"{v:,.2f}"
    return f"{v:.3g}"


def nice_ticks(top: float, integer: bool) -> list[float]:
    """0 and up to TICKS round steps covering `top` (1, 2, 2.5 or 5 × 10^k)."""
    top = top if top > 0 else 1.0
    raw = top / TICKS
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    if integer:
        step = max(1.0, math.ceil(step))
    n = math.ceil(top / step - 1e-9)
    return [i * step for i in range(n + 1)]


def _wrap(text: str, width: int, lines: int = 3) -> list[str]:
    out = textwrap.wrap(text, width, break_long_words=True, break_on_hyphens=False) or [""]
    if len(out) > lines:
        out = out[:lines]
        out[-1] = out[-1][: width - 1] + "…"
    return out


def _day_label(label: str) -> str:
    """2026-11-27 -> 27 Nov (the year is in the axis title)."""
    if len(label) == 10 and label[4] == "-" and label[7] == "-" and label[5:7].isdigit():
        return f"{int(label[8:])} {MONTHS[int(label[5:7]) - 1]}"
    return label


def _x_indices(n: int, most: int = 9) -> list[int]:
    """Evenly spaced label positions, first and last included, never two adjacent."""
    if n <= most:
        return list(range(n))
    every = -(-(n - 1) // (most - 1))
    picked = list(range(0, n, every))
    if n - 1 - picked[-1] < every / 2:
        picked.pop()
    return [*picked, n - 1]


def _text(x: float, y: float, lines: list[str], anchor: str = "middle", size: int = 11) -> str:
    spans = "".join(
        f'<tspan x="{x:.1f}" dy="{0 if i == 0 else size + 1}">{escape(s)}</tspan>'
        for i, s in enumerate(lines)
    )
    return f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}">{spans}</text>'


def _svg_open(title: str, height: int) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'width="100%" style="max-width:{WIDTH}px" role="img" aria-label="{escape(title)}" '
        f'font-family="system-ui,sans-serif">'
    )


def _legend(colors: dict[str, str], threshold: str | None) -> str:
    items = [
        f'<span class="key"><i style="background:{c}"></i>{escape(n)}</span>'
        for n, c in colors.items()
    ]
    if threshold:
        items.append(
            f'<span class="key"><i class="dash" style="border-color:{THRESHOLD_COLOR}"></i>'
            f"{escape(threshold)}</span>"
        )
    return f'<div class="legend">{"".join(items)}</div>'


def line_chart(
    title: str,
    series: dict[str, list[tuple[str, float]]],
    y_label: str = "",
    threshold: float | None = None,
    x_label: str = "day",
    threshold_label: str = "",
) -> Chart:
    """One line per series over shared x labels (e.g. days); an optional dashed threshold."""
    labels = sorted({x for points in series.values() for x, _ in points})
    if not labels:
        return Chart(title, f'<p class="empty">{escape(title)}: no data</p>')
    values = [v for points in series.values() for _, v in points]
    percent = _is_rate(y_label or title, values)
    money = "usd" in (y_label + title).lower() or threshold is not None and "$" in title
    integer = all(float(v).is_integer() for v in values) and not percent
    top = max(values + ([threshold] if threshold is not None else []) + [0.0])
    clipped: list[str] = []
    if threshold is not None and threshold > 0 and top > CLIP_FACTOR * threshold:
        # e.g. a forecast of $1,907 against a $150 budget: keep the budget line readable.
        peaks = {n: max(v for _, v in p) for n, p in series.items() if p}
        kept = [v for v in peaks.values() if v <= CLIP_FACTOR * threshold]
        top = max(kept + [threshold * 1.5])
        clipped = [n for n, v in peaks.items() if v > top]
        clip_note = ", ".join(
            f"{n} reaches {fmt_value(peaks[n], unit='$' if money else '')}" for n in clipped
        )
    ticks = nice_ticks(top, integer)
    top = ticks[-1]
    plot_w, plot_h = WIDTH - PAD_L - PAD_R, HEIGHT - PAD_T - PAD_B
    step = plot_w / max(len(labels) - 1, 1)
    xpos = {label: PAD_L + i * step for i, label in enumerate(labels)}

    def y(v: float) -> float:
        return PAD_T + plot_h - (min(v, top) / top) * plot_h

    unit = "$" if money else ""
    parts = [_svg_open(title, HEIGHT)]
    for t in ticks:
        parts.append(
            f'<line x1="{PAD_L}" y1="{y(t):.1f}" x2="{PAD_L + plot_w}" y2="{y(t):.1f}" stroke="#e5e7eb"/>'
        )
        parts.append(_text(PAD_L - 6, y(t) + 4, [fmt_value(t, percent=percent, unit=unit)], "end"))
    parts.append(
        f'<line x1="{PAD_L}" y1="{PAD_T + plot_h}" x2="{PAD_L + plot_w}" y2="{PAD_T + plot_h}" stroke="#6b7280"/>'
        f'<line x1="{PAD_L}" y1="{PAD_T}" x2="{PAD_L}" y2="{PAD_T + plot_h}" stroke="#6b7280"/>'
    )
    days = all(_day_label(label) != label for label in labels)
    for i in _x_indices(len(labels)):
        shown = _day_label(labels[i])
        parts.append(_text(xpos[labels[i]], PAD_T + plot_h + 16, _wrap(shown, 12, 2), size=10))
    years = sorted({label[:4] for label in labels}) if days else []
    axis = f"{x_label} ({'–'.join(dict.fromkeys([years[0], years[-1]]))})" if years else x_label
    parts.append(_text(PAD_L + plot_w / 2, HEIGHT - 6, [axis], size=11))
    ylab = y_label or ("share" if percent else "")
    parts.append(
        f'<text transform="translate(14,{PAD_T + plot_h / 2:.0f}) rotate(-90)" font-size="11" '
        f'text-anchor="middle">{escape(ylab)}</text>'
    )
    tlabel = None
    if threshold is not None:
        tlabel = threshold_label or f"threshold {fmt_value(threshold, unit=unit)}"
        parts.append(
            f'<line x1="{PAD_L}" y1="{y(threshold):.1f}" x2="{PAD_L + plot_w}" y2="{y(threshold):.1f}" '
            f'stroke="{THRESHOLD_COLOR}" stroke-width="1.5" stroke-dasharray="6 4"><title>{escape(tlabel)}</title></line>'
        )
    colors = _colors(sorted(series))
    for name, color in colors.items():
        points = sorted(series[name])
        coords = " ".join(f"{xpos[x]:.1f},{y(v):.1f}" for x, v in points)
        dash = ' stroke-dasharray="5 3"' if name.startswith("forecast") else ""
        parts.append(
            f'<polyline fill="none" stroke="{color}" stroke-width="2"{dash} points="{coords}"/>'
        )
        for x, v in points:
            shown = fmt_value(v, percent=percent, unit=unit)
            parts.append(
                f'<circle cx="{xpos[x]:.1f}" cy="{y(v):.1f}" r="3" fill="{color}">'
                f"<title>{escape(name)} {escape(x)}: {escape(shown)}</title></circle>"
            )
    parts.append("</svg>")
    legend = _legend(colors, tlabel)
    if clipped:
        legend += f'<p class="note">Axis cut at {fmt_value(top, unit=unit)} so the threshold stays readable: {escape(clip_note)}.</p>'
    return Chart(title, "".join(parts) + legend)


def bar_chart(
    title: str, items: list[tuple[str, float]], unit: str = "", value_label: str = ""
) -> Chart:
    """Horizontal bars, largest first (at most 20), with a labelled value axis."""
    total = len(items)
    items = sorted(items, key=lambda kv: (-kv[1], kv[0]))[:20]
    if not items:
        return Chart(title, f'<p class="empty">{escape(title)}: no data</p>')
    values = [v for _, v in items]
    percent = _is_rate(title, values)
    integer = all(float(v).is_integer() for v in values) and not percent and unit != "$"
    ticks = nice_ticks(max(values), integer)
    top = ticks[-1]
    label_w, right = 250, 70
    wrapped = [_wrap(label, 36, 2) for label, _ in items]
    rows_h = [max(22, 13 * len(w) + 8) for w in wrapped]
    height = sum(rows_h) + 20 + 44
    bar_w = WIDTH - label_w - right
    base = 10

    def x(v: float) -> float:
        return label_w + v / top * bar_w

    parts = [_svg_open(title, height)]
    axis_y = base + sum(rows_h)
    for t in ticks:
        parts.append(
            f'<line x1="{x(t):.1f}" y1="{base}" x2="{x(t):.1f}" y2="{axis_y}" stroke="#e5e7eb"/>'
        )
        parts.append(_text(x(t), axis_y + 14, [fmt_value(t, percent=percent, unit=unit)], size=10))
    label = value_label or ("share" if percent else ("USD" if unit == "$" else "count"))
    parts.append(_text(label_w + bar_w / 2, axis_y + 36, [label]))
    color = series_color(title)
    y0 = base
    for (name, value), lines, h in zip(items, wrapped, rows_h, strict=True):
        parts.append(_text(label_w - 8, y0 + h / 2 + 4 - 6 * (len(lines) - 1), lines, "end"))
        w = max(1.0, x(value) - label_w)
        shown = fmt_value(value, percent=percent, unit=unit)
        parts.append(
            f'<rect x="{label_w}" y="{y0 + h / 2 - 7:.1f}" width="{w:.1f}" height="14" fill="{color}">'
            f"<title>{escape(name)}: {escape(shown)}</title></rect>"
        )
        parts.append(_text(label_w + w + 4, y0 + h / 2 + 4, [shown], "start"))
        y0 += h
    parts.append(
        f'<line x1="{label_w}" y1="{base}" x2="{label_w}" y2="{axis_y}" stroke="#6b7280"/></svg>'
    )
    if total > len(items):
        parts.append(f'<p class="note">The {len(items)} largest of {total} are shown.</p>')
    return Chart(title, "".join(parts))
