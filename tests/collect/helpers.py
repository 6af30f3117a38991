"""Shared helpers for the collector tests."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from tests.collect.fakehome import build_home


def age(root: Path, seconds: float = 3600) -> None:
    """Make every file under root look `seconds` old (not a task being written)."""
    t = time.time() - seconds
    for p in root.rglob("*"):
        if p.is_file() and not p.is_symlink():
            os.utime(p, (t, t))


def add_task(storage: Path, task_id: str, workspace: Path, ts: int = 1764547200000) -> Path:
    folder = storage / "tasks" / task_id
    folder.mkdir(parents=True)
    item = {
        "id": task_id,
        "number": 1,
        "ts": ts,
        "task": "fix it",
        "tokensIn": 10,
        "tokensOut": 5,
        "totalCost": 0.01,
        "workspace": str(workspace),
        "mode": "code",
    }
    (folder / "history_item.json").write_text(json.dumps(item))
    msgs = [
        {"ts": ts, "type": "say", "say": "text", "text": "fix it"},
        {
            "ts": ts + 1,
            "type": "say",
            "say": "api_req_started",
            "text": json.dumps(
                {"apiProtocol": "anthropic", "tokensIn": 10, "tokensOut": 5, "cost": 0.01}
            ),
        },
    ]
    (folder / "ui_messages.json").write_text(json.dumps(msgs, separators=(",", ":")))
    return folder


def machine(home: Path, editor: str, layout: str, user_root: Path, **kw) -> Path:
    """A fake machine with one project workspace and aged files; returns the storage."""
    ws = home / "src" / "shop"
    storage = build_home(home, editor, layout, user_root, workspace=ws, **kw)
    add_task(storage, "0190f3c2-0000-7000-8000-00000000abcd", ws)
    age(home)
    return storage


def bucket_objects(s3, bucket: str, prefix: str) -> dict[str, bytes]:
    out = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for o in page.get("Contents", []):
            out[o["Key"][len(prefix) :]] = s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()
    return out
