"""What the machine allows, printed beside the redaction rows.

- The I/O floor: the same tree copied into the same file system by a plain Python
  read+write loop and by `cp -r` (no scan at all). Redaction cannot be faster than copying;
  when the floor itself is below a target, the file system bounds it, not the engine.
- The breakdown of our own fleet run by step, one process: listing, reading, the Hyperscan
  scan, confirming (the engine on files with a hit), writing (temp name + rename). CPU ms
  and wall ms each, with the library's own functions, so it shows where the time goes.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

FLOORS = ("floor: py copy", "floor: cp -r")


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _python_copy(root: Path, out: Path) -> None:
    """The plainest per-file loop: open, read, open, write (what any copier pays per file)."""
    base = str(root)
    for here, _dirs, files in os.walk(base):
        target = str(out) + here[len(base) :]
        os.makedirs(target, exist_ok=True)
        for name in files:
            with open(os.path.join(here, name), "rb") as fin:
                data = fin.read()
            with open(os.path.join(target, name), "wb") as fout:
                fout.write(data)


def copy_floor(tool: str, root: Path, out: Path) -> dict[str, Any]:
    """Seconds and CPU seconds to copy root to out (out must not exist)."""
    t0, c0 = time.perf_counter(), _cpu()
    if tool == "floor: cp -r":
        subprocess.run(["cp", "-r", str(root), str(out)], check=True)
    else:
        _python_copy(root, out)
    return {"seconds": time.perf_counter() - t0, "cpu": _cpu() - c0}


def breakdown(root: Path, out: Path) -> dict[str, Any]:
    """Our fleet run split by step (one process, one batch scan per BATCH_BYTES)."""
    from bisect import bisect_right

    from tasks.retention import batch
    from tasks.retention.config import RedactionConfig
    from tasks.retention.engine import Redactor
    from tasks.retention.stream import is_json_name
    from tasks.retention.tree import list_tree
    from tasks.retention.validators import load_before_fork

    red = Redactor(RedactionConfig(), b"bench")
    load_before_fork()  # start-up, as in the ours row: not a step of the run
    steps: dict[str, list[float]] = {}

    def timed(name: str, work):
        t0, c0 = time.perf_counter(), time.process_time()
        result = work()
        cpu, wall = time.process_time() - c0, time.perf_counter() - t0
        steps[name] = [a + b for a, b in zip(steps.get(name, [0, 0]), [cpu, wall], strict=True)]
        return result

    pairs, size, _ = timed("list", lambda: list_tree(str(root), str(out)))
    small = [p for p in pairs if p[2] <= batch.SMALL]
    datas = timed("read", lambda: [batch._read_small(s, n) for s, _, n in small])
    blob = timed("scan", lambda: b"\n".join(datas))
    hits = timed("scan", lambda: red.scan(blob))
    starts, pos = [], 0
    for d in datas:
        starts.append(pos)
        pos += len(d) + 1
    per_file: dict[int, list[tuple[int, int]]] = {}
    for end, rid in hits:
        i = bisect_right(starts, end - 1) - 1
        per_file.setdefault(i, []).append((end - starts[i], rid))

    def confirm() -> list[bytes]:
        return [
            batch.redact_bytes(red, d, is_json_name(small[i][0]), per_file[i])
            if i in per_file
            else d
            for i, d in enumerate(datas)
        ]

    outs = timed("confirm", confirm)
    made: set[str] = set()
    timed(
        "write",
        lambda: [batch._write(dst, o, made) for (_, dst, _), o in zip(small, outs, strict=True)],
    )
    return {
        "files": len(small),
        "files_with_hit": len(per_file),
        "bytes": sum(map(len, datas)),
        "steps": {k: [round(v[0] * 1000), round(v[1] * 1000)] for k, v in steps.items()},
    }


def print_floors(rows: dict[tuple[str, str], dict[str, Any]]) -> None:
    """Ours over each floor, wall clock, per data set (1.0 = as fast as a plain copy)."""
    for data in dict.fromkeys(d for d, _ in rows):
        ours = rows.get((data, "ours"), {})
        if "seconds" not in ours:
            continue
        mbs = ours["bytes"] / 1e6 / max(ours["seconds"], 1e-9)
        parts = []
        for floor in FLOORS:
            r = rows.get((data, floor), {})
            if "seconds" in r:
                f = r["bytes"] / 1e6 / max(r["seconds"], 1e-9)
                parts.append(f"{mbs / f:.2f} of {floor[7:]} ({f:.1f} MB/s)")
        print(f"{data}: ours {mbs:.1f} MB/s wall = " + ", ".join(parts))


def print_breakdown(result: dict[str, Any]) -> None:
    steps = result["steps"]
    cpu = sum(v[0] for v in steps.values())
    mb = result["bytes"] / 1e6
    cells = ", ".join(f"{k} {v[0]}/{v[1]}" for k, v in steps.items())
    print(
        f"fleet by step, 1 process, CPU ms/wall ms: {cells}; {result['files']} files, "
        f"{result['files_with_hit']} with a prefilter hit; {mb / max(cpu, 1) * 1000:.0f} MB/cpu-s"
    )


def remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
