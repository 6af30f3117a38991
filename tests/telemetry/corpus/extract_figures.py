"""Reduce a published ui_messages.json to its facts: the message skeleton (ts, type,
ask/say) and the numeric figures of its requests and condensations. Prompts, code, tool
payloads and command output are dropped (their authors' text is not ours to copy; the
figures are what the totals are made of).

    python tests/telemetry/corpus/extract_figures.py SRC.json DEST.json
"""

from __future__ import annotations

import json
import sys
from typing import Any

FIGURES = ("apiProtocol", "tokensIn", "tokensOut", "cacheWrites", "cacheReads", "cost",
           "cancelReason")  # fmt: skip
CONDENSE = ("cost", "prevContextTokens", "newContextTokens")


def reduce(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for m in messages:
        kind_key = "say" if m.get("type") == "say" else "ask"
        r: dict[str, Any] = {"ts": m.get("ts"), "type": m.get("type"), kind_key: m.get(kind_key)}
        kind = m.get(kind_key)
        if kind in ("api_req_started", "api_req_finished") and m.get("text"):
            try:
                data = json.loads(m["text"])
            except ValueError:
                r["text"] = m["text"][:40]  # damaged: keep the damage, not the content
            else:
                fig = {k: data[k] for k in FIGURES if k in data} if isinstance(data, dict) else {}
                if isinstance(data, dict) and "request" in data:
                    fig = {"request": "[text removed]", **fig}
                r["text"] = json.dumps(fig, separators=(",", ":"))
        elif kind == "condense_context" and isinstance(m.get("contextCondense"), dict):
            cc = m["contextCondense"]
            r["contextCondense"] = {k: cc[k] for k in CONDENSE if k in cc}
        if m.get("partial") is not None:
            r["partial"] = m["partial"]
        out.append(r)
    return out


if __name__ == "__main__":
    src, dest = sys.argv[1], sys.argv[2]
    with open(src, encoding="utf-8") as fh:
        reduced = reduce(json.load(fh))
    with open(dest, "w", encoding="utf-8") as fh:
        json.dump(reduced, fh, separators=(",", ":"))
