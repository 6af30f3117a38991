"""Run one benchmark step in a child process, so the peak RSS printed is that step's own
(data generation and the other steps' memory never count)."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def run(module: str, func: str, *args: Any) -> dict[str, Any]:
    """`module.func(*args)` in a fresh interpreter; its dict result plus `rss_mb`."""
    code = f"from bench.child import _main; _main({module!r}, {func!r}, {json.dumps(args)!r})"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    if out.returncode:
        raise RuntimeError(f"{module}.{func} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _main(module: str, func: str, args_json: str) -> None:
    import importlib

    result = getattr(importlib.import_module(module), func)(*json.loads(args_json))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result["rss_mb"] = usage.ru_maxrss / 1024
    result["cpu_s"] = usage.ru_utime + usage.ru_stime  # whole process, imports included
    print(json.dumps(result, default=str))
