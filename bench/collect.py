"""Benchmark: `compliance collect` of BENCH_COLLECT_TASKS tasks, first run and unchanged rerun.

A fake home with a VS Code layout: N task folders of Roo Code's four files (ui_messages,
api_conversation_history, history_item, task_metadata; ~2-6 KB each), tasks/_index.json,
MCP settings and a real state.vscdb. S3 is moto in a process of its own on loopback.
Timed: the whole collect() call, a first run then three unchanged reruns (the best counts) (discovery, planning against the ledger, snapshot, uploads).
Target: an unchanged rerun of 10,000 tasks in < 2 s.

Floor for the rerun: os.walk + lstat of the same files (what any incremental tool must at
least do), so the ratio shows what planning costs beyond looking at the files.
Run: `python -m bench.collect --tasks 10000` (default BENCH_COLLECT_TASKS=500).
"""

from __future__ import annotations

import json
import os
import resource
import sqlite3
import sys
import tempfile
import time
import uuid
from pathlib import Path

TARGET_RERUN_S = 2.0


def build_home(home: Path, n: int) -> int:
    storage = home / ".config/Code/User/globalStorage/rooveterinaryinc.roo-cline"
    tasks = storage / "tasks"
    entries = []
    ts = 1764547200000
    for i in range(n):
        tid = str(uuid.UUID(int=i + 1, version=4))
        d = tasks / tid
        d.mkdir(parents=True)
        item = {
            "id": tid,
            "number": i + 1,
            "ts": ts + i,
            "task": f"task {i}",
            "tokensIn": 1000,
            "tokensOut": 200,
            "totalCost": 0.01,
            "workspace": str(home / "src" / f"p{i % 5}"),
        }
        msgs = [{"ts": ts + i, "type": "say", "say": "text", "text": f"task {i} " + "x" * 200}]
        msgs += [{"ts": ts + i + k, "type": "say", "say": "api_req_started",
                  "text": json.dumps({"tokensIn": 1000, "tokensOut": 200, "cost": 0.001})}
                 for k in range(1, 10)]  # fmt: skip
        (d / "ui_messages.json").write_text(json.dumps(msgs, separators=(",", ":")))
        (d / "api_conversation_history.json").write_text(
            json.dumps([{"role": "user", "content": [{"type": "text", "text": "y" * 3000}]}])
        )
        (d / "history_item.json").write_text(json.dumps(item))
        (d / "task_metadata.json").write_text('{"files_in_context":[]}')
        entries.append(item)
    (tasks / "_index.json").write_text(
        json.dumps({"version": 1, "updatedAt": ts, "entries": entries})
    )
    (storage / "settings").mkdir()
    (storage / "settings/mcp_settings.json").write_text('{"mcpServers": {"a": {"command": "x"}}}')
    db = home / ".config/Code/User/globalStorage/state.vscdb"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE ItemTable (key TEXT UNIQUE ON CONFLICT REPLACE, value BLOB)")
    con.execute("INSERT INTO ItemTable VALUES (?, ?)",
                ("RooVeterinaryInc.roo-cline", json.dumps({"alwaysAllowExecute": True})))  # fmt: skip
    con.commit()
    con.close()
    old = time.time() - 3600
    files = 0
    for root, _, names in os.walk(home):
        for name in names:
            os.utime(os.path.join(root, name), (old, old))
            files += 1
    return files


def floor(home: Path) -> float:
    t0 = time.perf_counter()
    for root, _, names in os.walk(home):
        for name in names:
            os.lstat(os.path.join(root, name))
    return time.perf_counter() - t0


def main(n: int | None = None) -> None:
    from tasks.collect.run import collect
    from tasks.common.embedded import EmbeddedS3
    from tasks.common.s3 import S3Uri, s3_client
    from tasks.common.settings import StorageSettings

    n = n or int(os.environ.get("BENCH_COLLECT_TASKS", "500"))
    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):  # moto accepts any
        os.environ.setdefault(k, "bench")
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        t0 = time.perf_counter()
        files = build_home(home, n)
        print(f"built {n} tasks ({files} files) in {time.perf_counter() - t0:.1f} s", flush=True)
        server = EmbeddedS3(separate_process=True).start()
        try:
            client = s3_client(StorageSettings(endpoint_url=server.endpoint_url))
            client.create_bucket(Bucket="bench")
            ledger = Path(tmp) / "ledger.json"
            runs = []
            for label in ("first run", "unchanged rerun", "unchanged rerun", "unchanged rerun"):
                t0 = time.perf_counter()
                res = collect(home, "bench", S3Uri("bench", "raw/"), client, ledger, key=b"k")
                secs = time.perf_counter() - t0
                runs.append(secs)
                rate = res.uploaded / secs if secs else 0
                print(f"{label}: {secs:.2f} s, uploaded {res.uploaded} ({rate:,.0f} objects/s), "
                      f"unchanged {res.unchanged}, {res.bytes / 1e6:.1f} MB, errors {res.errors}",
                      flush=True)  # fmt: skip
        finally:
            server.stop()
        fl = floor(home)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        best = min(runs[1:])
        ok = "ok" if best < TARGET_RERUN_S or n < 10000 else "MISSED"
        print(f"rerun floor (os.walk + lstat): {fl:.2f} s; best rerun / floor {best / fl:.1f}x")
        print(f"peak RSS {rss:.0f} MB; target rerun of 10,000 tasks < {TARGET_RERUN_S} s: {ok}")


if __name__ == "__main__":
    arg = sys.argv[sys.argv.index("--tasks") + 1] if "--tasks" in sys.argv else None
    main(int(arg) if arg else None)
