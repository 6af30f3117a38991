"""Redaction benchmark: our engine vs detect-secrets vs credsweeper (and gitleaks when the
OS packages it), one run, the same data, each tool in its own subprocess (peak RSS is its own).

Data sets:
- foreign: the committed foreign corpus (gitleaks' and Nosey Parker's rule-test strings in
  Roo Code task logs, tests/retention/corpus/foreign);
- fleet: many small task folders (files of a few KB);
- large: real-shaped task logs with big messages (file contents, long requests).
Beside them, the I/O floor (the same tree copied by a Python read+write loop and by
`cp -r` into the same file system) and our fleet run split by step (bench/redaction_floor).
Env: BENCH_REDACT_FLEET_TASKS (default 400), BENCH_REDACT_LARGE_MB (default 6),
BENCH_REDACT_WORKERS (our processes, default 2), BENCH_REDACT_DIR (where the data and the
outputs are written; default the system temp folder, e.g. /dev/shm for a tmpfs),
BENCH_REDACT_TOOLS (comma-separated name prefixes, e.g. `ours,floor`; default all).
Peers run single process, as they ship.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from bench.redaction_floor import FLOORS, breakdown, copy_floor, print_breakdown, print_floors

TOOLS = ("ours", *FLOORS, "detect-secrets", "credsweeper", "gitleaks")


def _peak_rss_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return round(max(own, kids) / 1024, 1)  # Linux reports KiB


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def _overlap(a: str, b: str) -> bool:
    return len(a) >= 6 and len(b) >= 6 and (a in b or b in a)


# --- what each peer reports: {relative file: [values]} ------------------------------------
def _detect_secrets(root: Path) -> dict[str, list[str]]:
    from detect_secrets import SecretsCollection
    from detect_secrets.settings import default_settings

    found: dict[str, list[str]] = defaultdict(list)
    with default_settings():
        collection = SecretsCollection()
        for p in _files(root):
            collection.scan_file(str(p))
    for filename, secret in collection:
        if secret.secret_value:
            found[str(Path(filename).relative_to(root))].append(secret.secret_value)
    return found


def _credsweeper(root: Path) -> dict[str, list[str]]:
    out = root.parent / "credsweeper.json"
    cmd = [sys.executable, "-m", "credsweeper", "--path", str(root), "--save-json", str(out)]
    subprocess.run(cmd, capture_output=True, check=True)
    found: dict[str, list[str]] = defaultdict(list)
    for cand in json.loads(out.read_text()):
        for line in cand["line_data_list"]:
            if line.get("value"):
                found[str(Path(line["path"]).relative_to(root))].append(line["value"])
    return found


def _gitleaks(root: Path) -> dict[str, list[str]]:
    out = root.parent / "gitleaks.json"
    cmd = ["gitleaks", "dir", str(root), "--report-format", "json", "--report-path", str(out), "--exit-code", "0"]  # fmt: skip
    subprocess.run(cmd, capture_output=True, check=True)
    found: dict[str, list[str]] = defaultdict(list)
    for f in json.loads(out.read_text() or "[]"):
        found[str(Path(f["File"]).resolve().relative_to(root.resolve()))].append(f["Secret"])
    return found


# --- scoring ------------------------------------------------------------------------------
def _score_reported(found: dict[str, list[str]], data: str, root: Path) -> dict[str, Any]:
    if data == "foreign":
        from tests.retention.foreign import load

        strings, plants = load(root.parent)
        by_id = {s["id"]: s for s in strings}
        hit = total = bad = benign = 0
        for plant in plants:
            item = by_id[plant["id"]]
            reported = found.get(plant["file"].removeprefix("tasks/"), [])
            if item["label"] == "positive" and not item.get("placeholder"):
                total += 1
                hit += any(_overlap(r, item["value"]) for r in reported)
            elif item["label"] == "negative" and item.get("benign"):
                benign += 1
                bad += any(len(r) >= 6 and r in item["text"] for r in reported)
        return {"recall": hit / max(total, 1), "fp_rate": bad / max(benign, 1)}
    truth = json.loads((root.parent / "truth.json").read_text())
    hit = total = 0
    for s in truth["secrets"]:
        total += 1
        hit += any(_overlap(r, s["value"]) for r in found.get(s["file"], []))
    decoys = _present_decoys(root, truth)
    lost = sum(any(r in d for rs in found.values() for r in rs if len(r) >= 6) for d in decoys)
    return {"recall": hit / max(total, 1), "fp_rate": lost / max(len(decoys), 1)}


def _ours(root: Path, out: Path, data: str, workers: int) -> dict[str, Any]:
    from tasks.retention.config import RedactionConfig
    from tasks.retention.engine import Redactor
    from tasks.retention.redact_io import redact_path

    # start-up (loading the rule source, compiling the Hyperscan database, loading the
    # phone library; once per process and inherited by forked workers) is measured apart:
    # a deployment pays it once a run
    from tasks.retention.validators import load_before_fork

    s0 = _cpu()
    Redactor(RedactionConfig(), b"bench")
    load_before_fork()  # libphonenumber, imported on first use: once per process too
    startup = _cpu() - s0
    t0, c0 = time.perf_counter(), _cpu()
    summary = redact_path(str(root), str(out), RedactionConfig(), b"bench", workers=workers)
    res: dict[str, Any] = {"seconds": time.perf_counter() - t0, "cpu": _cpu() - c0}
    res["startup_cpu"] = round(startup, 2)
    res["rule_sources"] = summary["rule_sources"]
    if data == "foreign":
        from tests.retention.foreign import score

        sc = score(out.parent, root.parent)
        return res | {"recall": sc["recall"], "fp_rate": sc["fp_rate"], "json_broken": sc["structure_broken"]}  # fmt: skip
    truth = json.loads((root.parent / "truth.json").read_text())
    missed = 0
    for s in truth["secrets"]:
        text = (out / s["file"]).read_text(errors="replace")
        missed += s["value"] in text or json.dumps(s["value"])[1:-1] in text
    blob = "".join(p.read_text(errors="replace") for p in _files(out))
    decoys = _present_decoys(root, truth)
    lost = sum(d not in blob for d in decoys)
    return res | {"recall": 1 - missed / max(len(truth["secrets"]), 1), "fp_rate": lost / max(len(decoys), 1)}  # fmt: skip


def _present_decoys(root: Path, truth: dict[str, Any]) -> set[str]:
    """Decoys the generator actually wrote (small tasks hold only some of them)."""
    raw = "".join(p.read_text(errors="replace") for p in _files(root))
    return {d for d in set(truth["decoys"]) if d in raw}


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _worker(tool: str, root: str, data: str, workers: int) -> None:
    rootp = Path(root)
    files = _files(rootp)
    res: dict[str, Any] = {"bytes": sum(p.stat().st_size for p in files), "files": len(files)}
    out = rootp.parent / "out" / "tasks"
    if tool == "breakdown":
        res = breakdown(rootp, out)
    elif tool == "ours":
        res |= _ours(rootp, out, data, workers)
    elif tool in FLOORS:
        out.parent.mkdir(parents=True)
        res |= copy_floor(tool, rootp, out)
    else:
        t0, c0 = time.perf_counter(), _cpu()
        found = {"detect-secrets": _detect_secrets, "credsweeper": _credsweeper, "gitleaks": _gitleaks}[tool](rootp)  # fmt: skip
        res |= {"seconds": time.perf_counter() - t0, "cpu": _cpu() - c0}
        res |= _score_reported(found, data, rootp)
    res["peak_rss_mb"] = _peak_rss_mb()
    print(json.dumps(res))


def _run(tool: str, root: Path, data: str, workers: int) -> dict[str, Any]:
    if tool == "gitleaks" and shutil.which("gitleaks") is None:
        return {"error": "not installed (Debian ships no gitleaks package here: apt-cache policy gitleaks is empty)"}  # fmt: skip
    if tool not in ("ours", "breakdown", *FLOORS):
        import importlib.util

        mod = {"detect-secrets": "detect_secrets", "credsweeper": "credsweeper"}.get(tool)
        if mod and importlib.util.find_spec(mod) is None:
            return {"error": f"not installed (pip install the bench extra: {tool})"}
    shutil.rmtree(root.parent / "out", ignore_errors=True)
    code = "import sys; from bench.redaction import _worker; _worker(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))"  # fmt: skip
    proc = subprocess.run(
        [sys.executable, "-c", code, tool, str(root), data, str(workers)],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
        check=False,
    )
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-1:] or ["no output"]
        return {"error": tail[0][:200]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --- data sets ----------------------------------------------------------------------------
def _datasets(base: Path, fleet_tasks: int, large_mb: float) -> dict[str, Path]:
    from bench.synth import write_storage
    from tests.retention.foreign import CORPUS

    foreign = base / "foreign"
    shutil.copytree(CORPUS, foreign)
    fleet = base / "fleet"
    truth = _fleet(fleet, fleet_tasks)
    (fleet / "truth.json").write_text(json.dumps(_rel(truth)))
    large = base / "large"
    tasks = max(1, int(large_mb * 1e6 / 1_400_000))
    truth = write_storage(large, tasks, seed=2, messages=300, pad=4000)
    (large / "truth.json").write_text(json.dumps(_rel(truth)))
    return {"foreign": foreign / "tasks", "fleet": fleet / "tasks", "large": large / "tasks"}


def _fleet(root: Path, tasks: int) -> dict[str, Any]:
    """Many small task folders (files of a few KB); like real logs, most hold no secret:
    one task in ten carries the generator's 35 planted values."""
    import random
    import uuid

    from bench.synth import write_task

    rng = random.Random(1)
    truth: dict[str, Any] = {"secrets": [], "decoys": []}
    for i in range(tasks):
        task_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        t = write_task(root / "tasks" / task_id, rng, messages=14, plant=i % 10 == 0)
        truth["secrets"] += [s | {"file": f"tasks/{task_id}/{s['file']}"} for s in t["secrets"]]
        truth["decoys"] += t["decoys"]
    return truth


def _rel(truth: dict[str, Any]) -> dict[str, Any]:
    """Truth paths relative to the scanned root (`tasks/<id>/…` -> `<id>/…`)."""
    for s in truth["secrets"]:
        s["file"] = s["file"].removeprefix("tasks/")
    return truth


def main() -> None:
    fleet_tasks = int(os.environ.get("BENCH_REDACT_FLEET_TASKS", "400"))
    large_mb = float(os.environ.get("BENCH_REDACT_LARGE_MB", "6"))
    workers = int(os.environ.get("BENCH_REDACT_WORKERS", "2"))
    where = os.environ.get("BENCH_REDACT_DIR") or None
    only = os.environ.get("BENCH_REDACT_TOOLS", "")  # e.g. "ours,floor" for a quick rerun
    tools = [t for t in TOOLS if not only or any(t.startswith(w) for w in only.split(","))]
    with tempfile.TemporaryDirectory(prefix="bench-redact-", dir=where) as tmp:
        sets = _datasets(Path(tmp), fleet_tasks, large_mb)
        rows = {(d, t): _run(t, root, d, workers) for d, root in sets.items() for t in tools}
        steps = _run("breakdown", sets["fleet"], "fleet", 1)
        fs = subprocess.run(["df", "-T", tmp], capture_output=True, text=True).stdout
    print_table(rows, workers)
    print_floors(rows)
    if "error" in steps:
        print(f"fleet by step: error: {steps['error']}")
    else:
        print_breakdown(steps)
    kind = fs.splitlines()[-1].split()[1] if fs.strip() else "?"
    print(f"data and outputs on {kind} ({where or tempfile.gettempdir()})")


def print_table(rows: dict[tuple[str, str], dict[str, Any]], workers: int) -> None:
    """MB/cpu-s (bytes over CPU seconds of the tool and its child processes) is the speed
    figure: the machine is shared, so wall-clock MB/s says more about the load than the tool.
    `x speed` and `x recall`: ours over the tool's, on the same data."""
    head = f"{'data':8} {'tool':15} {'MB':>6} {'files':>6} {'cpu s':>7} {'MB/cpu-s':>9} {'MB/s':>7} {'files/s':>8} {'recall':>7} {'FP':>6} {'RSS MB':>7} {'x speed':>8} {'x recall':>8}"  # fmt: skip
    print(head)
    print("-" * len(head))
    for (data, tool), r in rows.items():
        name = f"ours (<={workers} procs)" if tool == "ours" else tool
        if "error" in r:
            print(f"{data:8} {name:15} error: {r['error']}")
            continue
        secs, cpu = max(r["seconds"], 1e-9), max(r["cpu"], 1e-9)
        if tool in FLOORS:  # a copy: no recall, no FP, nothing to compare speed with
            print(
                f"{data:8} {name:15} {r['bytes'] / 1e6:6.1f} {r['files']:6d} {cpu:7.2f} "
                f"{r['bytes'] / 1e6 / cpu:9.1f} {r['bytes'] / 1e6 / secs:7.1f} "
                f"{r['files'] / secs:8.0f} {'-':>7} {'-':>6} {r['peak_rss_mb']:7.1f}"
            )
            continue
        ours = rows.get((data, "ours"), {})
        speed = r["bytes"] / 1e6 / cpu
        ours_speed = ours["bytes"] / 1e6 / max(ours["cpu"], 1e-9) if "cpu" in ours else 0
        x_speed = ours_speed / speed if speed else float("inf")
        x_recall = ours.get("recall", 0) / r["recall"] if r.get("recall") else float("inf")
        print(
            f"{data:8} {name:15} {r['bytes'] / 1e6:6.1f} {r['files']:6d} {cpu:7.2f} {speed:9.1f} "
            f"{r['bytes'] / 1e6 / secs:7.1f} {r['files'] / secs:8.0f} {r['recall']:7.3f} "
            f"{r['fp_rate']:6.3f} {r['peak_rss_mb']:7.1f} {x_speed:8.2f} {x_recall:8.2f}"
        )
    src = next((r.get("rule_sources") for (d, t), r in rows.items() if t == "ours" and "rule_sources" in r), None)  # fmt: skip
    startup = [r["startup_cpu"] for (d, t), r in rows.items() if t == "ours" and "startup_cpu" in r]
    print()
    print(f"our rule sources: {src}")
    print(
        f"ours: start-up (rule load, Hyperscan compile, phone library) {max(startup, default=0):.2f} cpu s per run,"
    )
    print("not in the rows above; the peers' rows include theirs.")
    print("recall = must-remove values removed (ours) or reported (peers); FP = benign negatives")
    print("(foreign) or decoys (fleet, large) destroyed/reported.")
    print(
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; MB/s and files/s are wall clock."
    )


if __name__ == "__main__":
    main()
