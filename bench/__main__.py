"""`make bench`: every benchmark, each in its own process (so peak RSS is its own).

BENCH_ONLY=ingest,verify runs a subset. Each benchmark reads its own size variable
(BENCH_INGEST_MB, BENCH_VERIFY_N, BENCH_QUALITY_ROWS, BENCH_BUDGET_ROWS, BENCH_ACCESS_N,
BENCH_REDACT_MB, BENCH_AUDIT_ROWS, BENCH_RETENTION_N); the defaults are the sizes the issues
ask for.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

BENCHMARKS = ["ingest", "redaction", "verify", "quality", "budget", "access", "audit", "collect", "retention"]  # fmt: skip


def main() -> int:
    only = [b for b in os.environ.get("BENCH_ONLY", "").split(",") if b]
    chosen = [b for b in BENCHMARKS if not only or b in only]
    failed = []
    for name in chosen:
        print(f"\n=== bench/{name}.py ===", flush=True)
        t0 = time.perf_counter()
        code = subprocess.call([sys.executable, "-c", f"from bench.{name} import main; main()"])
        print(f"--- {name}: exit {code}, {time.perf_counter() - t0:.1f} s wall", flush=True)
        if code:
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
