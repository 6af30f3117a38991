"""Builders for Roo Code task folders and telemetry lines, as Roo Code writes them."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

T0 = 1_760_000_000_000  # ms


def uuid7(ms: int = T0) -> str:
    """A UUIDv7 (time-ordered) id as Roo Code uses since v3.41."""
    rand = uuid.uuid4().int & ((1 << 74) - 1)
    value = (
        (ms << 80) | (0x7 << 76) | ((rand >> 62) << 64) | (0b10 << 62) | (rand & ((1 << 62) - 1))
    )
    return str(uuid.UUID(int=value))


def say(ts: int, kind: str, text: Any = None, **extra: Any) -> dict[str, Any]:
    msg: dict[str, Any] = {"ts": ts, "type": "say", "say": kind}
    if text is not None:
        msg["text"] = text if isinstance(text, str) else json.dumps(text)
    msg.update(extra)
    return msg


def ask(ts: int, kind: str, text: Any = None, **extra: Any) -> dict[str, Any]:
    msg: dict[str, Any] = {"ts": ts, "type": "ask", "ask": kind}
    if text is not None:
        msg["text"] = text if isinstance(text, str) else json.dumps(text)
    msg.update(extra)
    return msg


def req(ts: int, **fig: Any) -> dict[str, Any]:
    return say(ts, "api_req_started", fig)


def typical_task(t0: int = T0) -> list[dict[str, Any]]:
    """A modern (v3.5x) task: prompt, two requests, a write, a command, MCP, completion."""
    return [
        say(t0, "text", "Fix the retry bug"),
        req(t0 + 10, apiProtocol="anthropic", tokensIn=1000, tokensOut=100, cacheWrites=50,
            cacheReads=200, cost=0.01),
        ask(t0 + 20, "tool", {"tool": "editedExistingFile", "path": "src/a.ts", "content": "x"}),
        say(t0 + 25, "checkpoint_saved", "abc123", checkpoint={"from": "a", "to": "b"}),
        ask(t0 + 30, "command", "npm test"),
        say(t0 + 31, "command_output", "ok"),
        ask(t0 + 40, "use_mcp_server", {"type": "use_mcp_tool", "serverName": "github",
            "toolName": "create_issue", "arguments": "{}"}),
        say(t0 + 41, "mcp_server_response", "done"),
        req(t0 + 50, apiProtocol="anthropic", tokensIn=2000, tokensOut=300, cacheWrites=0,
            cacheReads=900, cost=0.02),
        say(t0 + 60, "completion_result", "Done"),
        ask(t0 + 61, "completion_result", ""),
    ]  # fmt: skip


def write_task(
    tasks_dir: Path,
    messages: list | bytes | str | None,
    task_id: str | None = None,
    history: dict[str, Any] | None = None,
) -> str:
    task_id = task_id or str(uuid.uuid4())
    folder = Path(tasks_dir) / task_id
    folder.mkdir(parents=True, exist_ok=True)
    if messages is not None:
        raw = messages if isinstance(messages, bytes | str) else json.dumps(messages)
        mode = "wb" if isinstance(raw, bytes) else "w"
        with open(folder / "ui_messages.json", mode) as fh:
            fh.write(raw)
    if history is not None:
        (folder / "history_item.json").write_text(json.dumps({"id": task_id, **history}))
    return task_id


def envelope(user: str, name: str, props: dict[str, Any], received_at: str) -> dict[str, Any]:
    return {"v": 1, "user": user, "received_at": received_at,
            "event": {"type": name, "properties": props}}  # fmt: skip


def write_events(root: Path, day: str, lines: list[Any], name: str = "part-0.jsonl") -> Path:
    y, m, d = day.split("-")
    folder = Path(root) / "raw" / "events" / y / m / d
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    with open(path, "wb") as fh:
        for line in lines:
            fh.write(line if isinstance(line, bytes) else json.dumps(line).encode())
            fh.write(b"\n")
    return path


def upload_tree(client: Any, bucket: str, root: Path, prefix: str = "") -> int:
    n = 0
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            full = Path(dirpath) / name
            key = prefix + str(full.relative_to(root)).replace(os.sep, "/")
            client.put_object(Bucket=bucket, Key=key, Body=full.read_bytes())
            n += 1
    return n
