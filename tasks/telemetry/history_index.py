"""The task index a folder of task folders may carry, for tasks without their own
history file: Roo Code's tasks/_index.json, else Cline's state/taskHistory.json (a list of
HistoryItem beside tasks/). Only the fields ingest uses are kept; an index too large or
not JSON is quarantined (one row naming it) and read as empty."""

from __future__ import annotations

from typing import Any

import orjson

from tasks.common.storage import Store
from tasks.telemetry.quarantine import qrow

KEEP = ("mode", "workspace", "status", "parentTaskId", "rootTaskId", "ts", "apiConfigName",
        "tokensIn", "tokensOut", "cacheWrites", "cacheReads", "totalCost")  # fmt: skip


def load_index(
    store: Store, prefix: str, max_file: int, quarantine: list[tuple]
) -> dict[str, dict[str, Any]]:
    """task id -> its index entry, for the task folders under `prefix`."""
    places = [(prefix, "_index.json")]
    if prefix.endswith("tasks/"):
        places.append((prefix[: -len("tasks/")] + "state/", "taskHistory.json"))
    for folder, name in places:
        try:
            _, files = store.children(folder)
        except OSError:
            continue
        if name in files:
            return read_index(store, folder + name, files[name], max_file, quarantine)
    return {}


def read_index(
    store: Store, key: str, size: int, max_file: int, quarantine: list[tuple]
) -> dict[str, dict[str, Any]]:
    if size > max_file:
        detail = f"{size} bytes is over the {max_file} byte limit"
        quarantine.append(qrow(store.uri(key), "file", "too_large", detail))
        return {}
    try:
        data = orjson.loads(store.read(key))
    except orjson.JSONDecodeError as exc:
        quarantine.append(qrow(store.uri(key), "file", "not_json", f"not JSON: {exc.msg}"))
        return {}
    entries = data.get("entries") if isinstance(data, dict) else data  # Cline: a list
    if not isinstance(entries, list):
        quarantine.append(qrow(store.uri(key), "file", "bad_type", "no list of history entries"))
        return {}
    out: dict[str, dict[str, Any]] = {}
    for e in entries or ():
        if isinstance(e, dict) and isinstance(e.get("id"), str):
            out[e["id"]] = {k: e[k] for k in KEEP if k in e}
    return out
