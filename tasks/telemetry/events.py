"""Telemetry events in the collector envelope -> EVENTS rows, plus per-task attributes.

Envelope (one JSON object per line of raw/events/YYYY/MM/DD/*.jsonl):
    {"v": 1, "user": "<fleet user>", "received_at": "<ISO 8601 UTC>",
     "event": {"type": "<Roo Code event name>", "properties": {...}}}
`Task Message` events carry `properties.message`, a ClineMessage with its own ts; its row
is typed like the ui message (ask/say) but has source `telemetry`.

The common properties (apiProvider, modelId, appVersion, mode) of the events that name a
taskId are remembered per task, so task rows can be joined with them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from tasks.telemetry.classify import (
    EVENT_SPECS,
    KIND_SPECS,
    OTHER_SPEC,
    WRITE_TOOLS,
    error_class_from_text,
    tool_used_category,
)
from tasks.telemetry.consolidate import is_number, version_is_legacy
from tasks.telemetry.quarantine import qrow
from tasks.telemetry.schema import SCHEMA_VERSION

TEL = "telemetry"


def _str(v: Any) -> str | None:
    return v if type(v) is str else None


def _int(v: Any) -> int | None:
    if type(v) is int:
        return v
    return int(v) if type(v) is float and v == v else None


def parse_iso_ms(text: Any) -> int | None:
    if type(text) is not str:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return int(moment.timestamp() * 1000)


class TaskAttrs:
    """taskId -> the provider/model/version/mode seen in telemetry, and restore counts."""

    def __init__(self) -> None:
        self.by_task: dict[str, dict[str, Any]] = {}

    def note(self, task_id: str, props: dict[str, Any], name: str) -> None:
        attrs = self.by_task.setdefault(task_id, {})
        for key, prop in (("provider", "apiProvider"), ("model", "modelId")):
            value = _str(props.get(prop))
            if value:
                attrs[key] = value  # the latest wins: a task may switch profile
        version = _str(props.get("appVersion"))
        if version and "app_version" not in attrs:
            attrs["app_version"] = version
        mode = _str(props.get("mode"))
        if mode and (name in ("Task Created", "Task Reopened") or "mode" not in attrs):
            attrs["mode"] = mode
        if name == "Checkpoint Restored":
            attrs["restores"] = attrs.get("restores", 0) + 1

    def get(self, task_id: str) -> dict[str, Any]:
        return self.by_task.get(task_id, {})


def parse_event_line(
    line: bytes,
    lineno: int,
    source: str,
    attrs: TaskAttrs,
    events: list,
    quarantine: list,
    users: set[str] | None,
    period: tuple[int, int] | None,
) -> int:
    """Parse one line; append a row or a quarantine row. Returns 1 if it was a record
    (counted), 0 if skipped (blank, or outside the user/period filter)."""
    if not line.strip():
        return 0
    pos = f"line {lineno}"
    try:
        env = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        try:
            line.decode("utf-8")
        except UnicodeDecodeError as uexc:
            quarantine.append(
                qrow(source, pos, "not_utf8", f"byte {uexc.start} is not UTF-8", line)
            )
            return 1
        quarantine.append(qrow(source, pos, "not_json", f"not JSON: {exc.msg}", line))
        return 1
    problem = _envelope_problem(env)
    if problem:
        quarantine.append(qrow(source, pos, *problem, line))
        return 1
    user = env["user"]
    event = env["event"]
    name = event["type"]
    props = event.get("properties") or {}
    task_id = _str(props.get("taskId"))
    msg = props.get("message") if name == "Task Message" else None
    if users is not None and user not in users:
        # not a record of this run, but a task's attributes do not depend on the filter:
        # a line filed under another user still describes the task it names
        if task_id and (name != "Task Message" or _valid_message(msg)):
            attrs.note(task_id, props, name)
        return 0
    if name == "Task Message":
        if type(msg) is not dict or msg.get("ts") is None:
            reason = "missing_ts" if type(msg) is dict else "bad_type"
            quarantine.append(qrow(source, pos, reason, "Task Message without a message ts", line))
            return 1
        if type(msg["ts"]) is not int:
            detail = f"message ts is {type(msg['ts']).__name__}, not a number"
            quarantine.append(qrow(source, pos, "bad_type", detail, line))
            return 1
        ts = msg["ts"]
    else:
        ts = parse_iso_ms(env["received_at"])
        if ts is None:
            quarantine.append(qrow(source, pos, "bad_type", "received_at is not ISO 8601", line))
            return 1
    if task_id:
        attrs.note(task_id, props, name)
    if period is not None and not period[0] <= ts < period[1]:
        return 0
    events.append(_row(user, task_id, ts, lineno, name, props, msg))
    return 1


def _valid_message(msg: Any) -> bool:
    return type(msg) is dict and type(msg.get("ts")) is int


def _envelope_problem(env: Any) -> tuple[str, str] | None:
    if type(env) is not dict:
        return "bad_type", "line is not a JSON object"
    if env.get("v") != 1:
        return "bad_version", f"envelope version {env.get('v')!r} is not 1"
    if type(env.get("user")) is not str or not env["user"]:
        return "missing_user", "envelope has no user"
    if env.get("received_at") is None:
        return "missing_ts", "envelope has no received_at"
    event = env.get("event")
    if type(event) is not dict or type(event.get("type")) is not str:
        return "missing_type", "envelope has no event.type"
    props = event.get("properties")
    if props is not None and type(props) is not dict:
        return "bad_type", "event.properties is not an object"
    for key in NUMERIC_PROPS.get(event["type"], ()):
        value = (props or {}).get(key)
        if value is not None and not is_number(value):
            return "bad_type", f"event.properties.{key} is {type(value).__name__}, not a number"
    for key in ("taskId", "appVersion", "apiProvider", "modelId", "mode"):
        value = (props or {}).get(key)
        if value is not None and type(value) is not str:
            return "bad_type", f"event.properties.{key} is {type(value).__name__}, not a string"
    return None


NUMERIC_PROPS = {
    "LLM Completion": (
        "inputTokens",
        "outputTokens",
        "cacheReadTokens",
        "cacheWriteTokens",
        "cost",
    ),
}


def _row(
    user: str,
    task_id: str | None,
    ts: int,
    lineno: int,
    name: str,
    props: dict[str, Any],
    msg: dict[str, Any] | None,
) -> tuple[Any, ...]:
    tool = path = command = server = mtool = target = proto = None
    tin = tout = cw = cr = cost = None
    nbytes = 0
    typ, kind = "event", name
    cat, ecls, mutates = EVENT_SPECS.get(name, ("other", None, False))
    if msg is not None:
        typ = msg.get("type") if msg.get("type") in ("ask", "say") else "event"
        kind = _str(msg.get(typ)) or name if typ != "event" else name
        cat, ecls = KIND_SPECS.get(kind, OTHER_SPEC)
        text = _str(msg.get("text"))
        nbytes = len(text.encode()) if text else 0
        if kind == "command" and typ == "ask":
            command, mutates = text, True
        elif kind in ("tool", "use_mcp_server") and text:
            try:
                data = orjson.loads(text)
            except orjson.JSONDecodeError:
                data = None
            if type(data) is dict and kind == "tool":
                tool, path = _str(data.get("tool")), _str(data.get("path"))
                mutates = tool in WRITE_TOOLS
            elif type(data) is dict:
                server, mtool = _str(data.get("serverName")), _str(data.get("toolName"))
                mutates = data.get("type") != "access_mcp_resource"
        if cat == "error" and ecls in ("api_failed", "other"):
            ecls = error_class_from_text(text, ecls)
    elif name == "Tool Used":
        tool = _str(props.get("tool"))
        cat, mutates = tool_used_category(tool)
    elif name == "Mode Switched":
        target = _str(props.get("newMode"))
    elif name == "LLM Completion":
        tin, tout = _int(props.get("inputTokens")), _int(props.get("outputTokens"))
        cw, cr = _int(props.get("cacheWriteTokens")), _int(props.get("cacheReadTokens"))
        cost = float(props["cost"]) if is_number(props.get("cost")) else None
    legacy = version_is_legacy(_str(props.get("appVersion")))
    return (
        SCHEMA_VERSION, user, None, task_id, ts, lineno, TEL, typ, kind, cat, tool, mutates,
        path, command, server, mtool, target, ecls, proto, tin, tout, cw, cr, cost, nbytes,
        _str(props.get("mode")), _str(props.get("apiProvider")), _str(props.get("modelId")),
        None, _str(props.get("appVersion")), None, None if legacy is None else not legacy,
    )  # fmt: skip
