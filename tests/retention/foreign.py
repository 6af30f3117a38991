"""Scorer for the foreign corpus (tests/retention/corpus/foreign, built by
scripts/build_foreign_corpus.py from gitleaks' and Nosey Parker's own rule tests).

Each planted string is read back out of its carrier the way Roo Code would (the message
text, the tool JSON's `content`, the MCP `arguments` JSON inside the message JSON, the
conversation's text block, a section of the command output file). A positive counts as
removed when its secret value is no longer in that text; a benign negative counts as
destroyed when its text is no longer intact. A carrier whose JSON shape changed counts as
structure broken.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import orjson

CORPUS = Path(__file__).resolve().parent / "corpus" / "foreign"


def load(corpus: Path = CORPUS) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    strings = orjson.loads((corpus / "strings.json").read_bytes())
    plants = orjson.loads((corpus / "truth.json").read_bytes())["plants"]
    return strings, plants


def _carrier_text(doc: Any, raw: str, plant: dict[str, Any]) -> str | None:
    """The planted text as the carrier holds it now; None if the shape was broken."""
    try:
        kind, i = plant["carrier"], plant["index"]
        if kind == "command_file":
            start = raw.index(f"--- sample {i} ---\n") + len(f"--- sample {i} ---\n")
            end = raw.find("\n--- ", start)
            return raw[start:end]
        if kind == "api_history":
            return doc[i]["content"][0]["text"]
        msg = doc[i]
        if kind == "command_output":
            return msg["text"]
        if kind == "tool_json":
            return orjson.loads(msg["text"])["content"]
        return orjson.loads(orjson.loads(msg["text"])["arguments"])["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        return None


def score(out: Path, corpus: Path = CORPUS) -> dict[str, Any]:
    """Recall of must-remove values and benign negatives destroyed, over redacted `out`."""
    strings, plants = load(corpus)
    by_id = {s["id"]: s for s in strings}
    files: dict[str, tuple[Any, str]] = {}
    hit: Counter[str] = Counter()
    total: Counter[str] = Counter()
    missed_rules: dict[str, int] = defaultdict(int)
    broken = 0
    for plant in plants:
        if plant["file"] not in files:
            raw = (out / plant["file"]).read_text(errors="replace")
            try:
                doc = orjson.loads(raw) if plant["file"].endswith(".json") else None
            except orjson.JSONDecodeError:
                doc = None
            files[plant["file"]] = (doc, raw)
        doc, raw = files[plant["file"]]
        text = _carrier_text(doc, raw, plant)
        item = by_id[plant["id"]]
        if text is None:
            broken += 1
            text = raw
        if item["label"] == "positive":
            if item.get("placeholder"):
                continue
            keys = ("all", item["split"], plant["carrier"])
            removed = item["value"] not in text
            for k in keys:
                total[k] += 1
                hit[k] += removed
            if not removed:
                missed_rules[f"{item['source'].split('/')[0]}:{item['rule']}"] += 1
        elif item.get("benign"):
            total["benign"] += 1
            hit["destroyed"] += item["text"] not in text
    return {
        "recall": hit["all"] / max(total["all"], 1),
        "recall_dev": hit["dev"] / max(total["dev"], 1),
        "recall_holdout": hit["holdout"] / max(total["holdout"], 1),
        "by_carrier": {
            k: round(hit[k] / total[k], 4)
            for k in (
                "command_output",
                "tool_json",
                "mcp_arguments",
                "api_history",
                "command_file",
            )  # fmt: skip
            if total[k]
        },
        "positives": total["all"],
        "benign": total["benign"],
        "fp_rate": hit["destroyed"] / max(total["benign"], 1),
        "destroyed": hit["destroyed"],
        "structure_broken": broken,
        "missed_rules": dict(sorted(missed_rules.items())),
    }
