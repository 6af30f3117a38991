"""report.json's `summary` for people: labelled figures, no raw Python values.

A summary is whatever a job puts there (numbers, flags, lists, nested dicts). It becomes
key figures (top-level numbers), facts (short text), lists, and small tables (a dict of
dicts or a list of dicts), every value formatted: 34,039 not 34039, 0.02% not 0.000176,
"yes" not True, "none" not [], "—" not None, $440.18 not 440.1800000003.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

LIST_INLINE = 8  # longer lists of text become bullet lists
FIGURES = 16  # key figures shown as tiles; the rest are in "Figures in detail"
ACRONYMS = {
    "usd": "(USD)",
    "id": "ID",
    "api": "API",
    "mcp": "MCP",
    "sha256": "SHA-256",
    "gx": "GX",
    "s": "(s)",
}


def label(key: str) -> str:
    """records_in -> Records in; cost_usd -> Cost (USD); median_cycle_s -> Median cycle (s)."""
    words = str(key).replace("-", "_").split("_")
    out = [ACRONYMS.get(w.lower(), w) for w in words if w]
    text = " ".join(out) or str(key)
    return text[:1].upper() + text[1:]


def _unit(key: str) -> str:
    k = str(key).lower()
    if k.endswith("_usd") or k in {"usd", "cost", "spend"} or k.startswith("cost_per"):
        return "$"
    if k.endswith("rate") or k.endswith("_pct_share"):
        return "%"
    if k.startswith("bytes") or k.endswith("_bytes"):
        return "B"
    return ""


def fmt(value: Any, key: str = "") -> str:
    """One value as a person reads it; `key` hints the unit (…_usd, …_rate, bytes_…)."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        unit = _unit(key)
        if unit == "%" and 0 <= value <= 1:
            pct = value * 100
            return (
                f"{pct:.0f}%" if pct == round(pct) else f"{pct:.2g}%" if pct < 1 else f"{pct:.1f}%"
            )
        if unit == "$":
            return f"${value:,.2f}"
        if unit == "B" and value >= 1024:
            for name, size in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
                if value >= size:
                    return f"{value / size:,.1f} {name}"
        if isinstance(value, int) or float(value).is_integer():
            return f"{int(value):,}"
        return f"{value:,.2f}" if abs(value) >= 100 else f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        if not value:
            return "none"
        return ", ".join(fmt(v, key) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{label(k)}: {fmt(v, k)}" for k, v in value.items()) or "none"
    return str(value)


@dataclass
class Block:
    title: str
    kind: str  # figures | facts | list | table
    rows: list[Any] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)


def _scalar(v: Any) -> bool:
    return v is None or isinstance(v, (str, int, float, bool))


def _table_of_dicts(title: str, rows: list[dict[str, Any]], first: str) -> Block:
    cols: list[str] = []
    for r in rows:
        cols += [k for k in r if k not in cols]
    return Block(title, "table", [[fmt(r.get(c), c) for c in cols] for r in rows], [label(c) for c in cols])  # fmt: skip


def _block(key: str, value: Any, prefix: str = "") -> list[Block]:
    title = f"{prefix}{label(key)}"
    if isinstance(value, dict):
        if value and all(
            isinstance(v, dict) and all(map(_scalar, v.values())) for v in value.values()
        ):
            inner: list[str] = []
            for v in value.values():
                inner += [k for k in v if k not in inner]
            rows = [[str(k), *[fmt(v.get(c, 0 if _counts(value) else None), c) for c in inner]] for k, v in value.items()]  # fmt: skip
            return [Block(title, "table", rows, ["", *[label(c) for c in inner]])]
        flat = [(label(k), fmt(v, k)) for k, v in value.items() if _scalar(v) or _short_list(v)]
        out = [Block(title, "facts", flat)] if flat else []
        for k, v in value.items():
            if not (_scalar(v) or _short_list(v)):
                out += _block(k, v, f"{title} · ")
        return out
    if isinstance(value, list):
        if value and all(isinstance(v, dict) for v in value):
            return [_table_of_dicts(title, value, key)]
        return [Block(title, "list", [fmt(v) for v in value])]
    return [Block(title, "facts", [(title, fmt(value, key))])]


def _counts(value: dict[str, dict[str, Any]]) -> bool:
    return all(isinstance(x, int) for v in value.values() for x in v.values())


def _short_list(v: Any) -> bool:
    return (
        isinstance(v, list)
        and all(map(_scalar, v))
        and len(v) <= LIST_INLINE
        and sum(len(str(x)) for x in v) <= 160  # long sentences read better as bullets
    )


def summary_blocks(summary: dict[str, Any]) -> list[Block]:
    """Key figures first (top-level numbers), then facts, then sections."""
    top = (
        {**summary.get("counts", {}), **summary}
        if isinstance(summary.get("counts"), dict)
        else summary
    )
    figures = [
        (label(k), fmt(v, k))
        for k, v in top.items()
        if isinstance(v, (int, float)) and not isinstance(v, bool)
    ][:FIGURES]
    facts = [
        (label(k), fmt(v, k))
        for k, v in summary.items()
        if (v is None or isinstance(v, (str, bool)) or _short_list(v))
    ]
    blocks = [Block("Key figures", "figures", figures)] if figures else []
    if facts:
        blocks.append(Block("Details", "facts", facts))
    for k, v in summary.items():
        if isinstance(v, (dict, list)) and not _short_list(v):
            blocks += _block(k, v)
    return blocks
