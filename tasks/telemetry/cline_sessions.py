"""Cline v4 sessions, read as the ui_messages.json our parser already knows.

As Cline writes them (cline/cline, commit 21cb8d2525bcedf1f4b6890b27a74a14fe7451e4:
sdk/packages/shared/src/storage/paths.ts, sdk/packages/core/src/services/session-artifacts.ts,
session-data.ts, session/models/session-manifest.ts, shared/src/llms/messages.ts):
`~/.cline/data/sessions/<id>/` holds `<id>.json` (the manifest: provider, model, status,
started_at, …) and `<id>.messages.json` (`{version, sessionId, messages: [...]}`, or a
bare list) whose messages carry `ts`, `modelInfo {id, provider}` and, per model reply,
`metrics {inputTokens, outputTokens, cacheReadTokens, cacheWriteTokens, cost}`. Session
ids are `Date.now()` + "_" + 5 characters of [0-9a-z] (shared/src/session/index.ts).
There is no ui_messages.json. v4's `inputTokens` include the cache (the sdk bills
`inputTokens - cacheReadTokens - cacheWriteTokens` as plain input, llms/providers/ai-sdk.ts),
and no protocol is named: the parser's inference (tokensIn >= cache ⇒ includes) applies.

Each reply with metrics becomes one `api_req_started` whose figures are copied as found
(a non-number is then the parser's bad_figure quarantine row, never dropped here).
"""

from __future__ import annotations

from typing import Any

import orjson

FIGURES = (("tokensIn", "inputTokens"), ("tokensOut", "outputTokens"),
           ("cacheWrites", "cacheWriteTokens"), ("cacheReads", "cacheReadTokens"),
           ("cost", "cost"))  # fmt: skip


def messages_name(session_id: str) -> str:
    return f"{session_id}.messages.json"


def manifest_name(session_id: str) -> str:
    return f"{session_id}.json"


def messages_of(data: Any) -> list | None:
    """The message list of a parsed messages file (a wrapper object or a bare list)."""
    if isinstance(data, list):
        return data
    if isinstance(data, dict) and isinstance(data.get("messages"), list):
        return data["messages"]
    return None


def as_ui_messages(messages: list, status: Any = None) -> bytes:
    """ClineMessage-shaped JSON: the first user text, one api_req_started per reply with
    metrics (at the reply's ts, else the last ts seen), and completion_result when the
    manifest says the session completed."""
    out: list[dict[str, Any]] = []
    ts = 0
    for m in messages:
        if not isinstance(m, dict):
            continue
        if isinstance(m.get("ts"), int | float):
            ts = int(m["ts"])
        if not out and m.get("role") == "user":
            out.append({"ts": ts, "type": "say", "say": "text", "text": _text(m.get("content"))})
        metrics = m.get("metrics")
        if isinstance(metrics, dict):
            fig = {ui: metrics[v4] for ui, v4 in FIGURES if v4 in metrics}
            text = orjson.dumps(fig).decode()
            out.append({"ts": ts, "type": "say", "say": "api_req_started", "text": text})
    if status == "completed":
        out.append({"ts": ts, "type": "say", "say": "completion_result", "text": ""})
    return orjson.dumps(out)


def model_of(messages: list, manifest: Any) -> dict[str, str]:
    """{model, provider}: the manifest's, else the last reply's modelInfo."""
    if isinstance(manifest, dict) and isinstance(manifest.get("model"), str):
        out = {"model": manifest["model"]}
        if isinstance(manifest.get("provider"), str):
            out["provider"] = manifest["provider"]
        return out
    for m in reversed(messages):
        info = m.get("modelInfo") if isinstance(m, dict) else None
        if isinstance(info, dict) and isinstance(info.get("id"), str):
            out = {"model": info["id"]}
            if isinstance(info.get("provider"), str):
                out["provider"] = info["provider"]
            return out
    return {}


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [b.get("text") for b in content if isinstance(b, dict)]
        return "\n".join(p for p in parts if isinstance(p, str))
    return ""
