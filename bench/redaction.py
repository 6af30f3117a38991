"""Redaction benchmark: our engine vs detect-secrets vs Presidio (pattern recognizers only).

Env: BENCH_REDACT_MB (corpus size, default 200), BENCH_REDACT_SAMPLE_MB (the sample the
slow peers scan, default 5), BENCH_REDACT_WORKERS (default 2). Every tool runs in its own
subprocess, so peak RSS is its own. Peers run on a sample and their throughput is
extrapolated, which the output says.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TASK_MESSAGES, TASK_PAD = 300, 4000  # ~1.4 MB per task: 35 planted values + 8 decoys


def _peak_rss_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return round(max(own, kids) / 1024, 1)  # Linux reports KiB


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def _forms(value: str) -> set[str]:
    once = json.dumps(value)[1:-1]
    return {value, once}


# --- workers (run in subprocesses) ------------------------------------------------------


def _raw(root: Path) -> dict[str, Any]:
    total = 0
    for p in _files(root):
        with open(p, "rb") as f:
            while chunk := f.read(1 << 20):
                total += len(chunk)
    return {"bytes": total}


def _ours(root: Path, out: Path, truth: dict, workers: int) -> dict[str, Any]:
    from tasks.retention.config import RedactionConfig
    from tasks.retention.redact_io import redact_path

    t0, c0 = time.perf_counter(), _cpu_seconds()
    summary = redact_path(str(root), str(out), RedactionConfig(), b"bench", workers=workers)
    seconds = time.perf_counter() - t0  # recall checking below is not redaction time
    cpu = _cpu_seconds() - c0
    by_file: dict[str, list[str]] = {}
    for s in truth["secrets"]:
        by_file.setdefault(s["file"], []).append(s["value"])
    missed = 0
    for rel, values in by_file.items():
        text = (out / rel).read_text(errors="replace")
        missed += sum(any(f in text for f in _forms(v)) for v in values)
    found = len(truth["secrets"]) - missed
    blob = "".join(p.read_text(errors="replace") for p in _files(out) if "cmd-" in p.name or p.name == "ui_messages.json")  # fmt: skip
    lost = sum(d not in blob for d in set(truth["decoys"]))
    total = len(truth["secrets"])
    return {
        "bytes": summary["bytes_in"],
        "found": found,
        "total": total,
        "found_scope": found,
        "in_scope": total,
        "fp": max(0, summary["redactions"] - found) + lost,
        "redact_seconds": seconds,
        "redact_cpu": cpu,
    }


def _overlap(a: str, b: str) -> bool:
    return len(a) >= 6 and len(b) >= 6 and (a in b or b in a)


def _score(reported: list[str], planted: list[dict], scope: set[str] | None) -> dict[str, Any]:
    found = sum(any(_overlap(r, s["value"]) for r in reported) for s in planted)
    in_scope = [s for s in planted if scope is None or s["kind"] in scope]
    found_scope = sum(any(_overlap(r, s["value"]) for r in reported) for s in in_scope)
    fp = sum(not any(_overlap(r, s["value"]) for s in planted) for r in reported)
    return {
        "found": found,
        "total": len(planted),
        "found_scope": found_scope,
        "in_scope": len(in_scope),
        "fp": fp,
    }


def _detect_secrets(root: Path, truth: dict) -> dict[str, Any]:
    from detect_secrets import SecretsCollection
    from detect_secrets.settings import default_settings

    files = _files(root)
    with default_settings():
        collection = SecretsCollection()
        for p in files:
            collection.scan_file(str(p))
    reported = [s.secret_value for _, s in collection if s.secret_value]
    pii = {"email", "phone", "ipv4", "ipv6", "card_number", "iban", "us_ssn"}
    secrets_kinds = {s["kind"] for s in truth["secrets"]} - pii
    res = _score(reported, truth["secrets"], secrets_kinds)
    return {"bytes": sum(p.stat().st_size for p in files), **res}


def _presidio(root: Path, truth: dict) -> dict[str, Any]:
    import logging

    logging.getLogger("tldextract").setLevel(logging.CRITICAL)  # no network for the suffix list
    from presidio_analyzer.predefined_recognizers import (
        CreditCardRecognizer,
        EmailRecognizer,
        IbanRecognizer,
        IpRecognizer,
        PhoneRecognizer,
        UsSsnRecognizer,
    )

    recognizers = [
        cls()
        for cls in (
            EmailRecognizer,
            CreditCardRecognizer,
            IpRecognizer,
            IbanRecognizer,
            UsSsnRecognizer,
            PhoneRecognizer,
        )  # fmt: skip
    ]
    files = _files(root)
    reported: list[str] = []
    for p in files:
        text = p.read_text(errors="replace")
        for rec in recognizers:
            for r in rec.analyze(text, entities=rec.supported_entities, nlp_artifacts=None):
                reported.append(text[r.start : r.end])
    pii = {"email", "phone", "ipv4", "ipv6", "card_number", "iban", "us_ssn"}
    res = _score(reported, truth["secrets"], pii)
    return {"bytes": sum(p.stat().st_size for p in files), **res}


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _worker(tool: str, root: str, out: str, truth_path: str, workers: int) -> None:
    truth = json.loads(Path(truth_path).read_text())
    t0 = time.perf_counter()
    c0 = _cpu_seconds()
    if tool == "raw":
        res = _raw(Path(root))
    elif tool == "ours":
        res = _ours(Path(root), Path(out), truth, workers)
    elif tool == "detect-secrets":
        res = _detect_secrets(Path(root), truth)
    else:
        res = _presidio(Path(root), truth)
    res["seconds"] = res.pop("redact_seconds", time.perf_counter() - t0)
    res["cpu"] = res.pop("redact_cpu", _cpu_seconds() - c0)
    res["peak_rss_mb"] = _peak_rss_mb()
    print(json.dumps(res))


def _run(tool: str, root: Path, out: Path, truth_path: Path, workers: int) -> dict[str, Any]:
    code = "import sys; from bench.redaction import _worker; _worker(*sys.argv[1:5], int(sys.argv[5]))"  # fmt: skip
    proc = subprocess.run(
        [sys.executable, "-c", code, tool, str(root), str(out), str(truth_path), str(workers)],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
        check=False,
    )
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-1:] or ["no output"]
        return {"error": tail[0][:200]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _write_corpus(root: Path, mb: float, seed: int) -> dict[str, Any]:
    from tasks.retention.synth import write_storage

    per_task = 1_400_000
    tasks = max(1, int(mb * 1e6 / per_task))
    return write_storage(root, tasks, seed=seed, messages=TASK_MESSAGES, pad=TASK_PAD)


def main() -> None:
    mb = float(os.environ.get("BENCH_REDACT_MB", "200"))
    sample_mb = float(os.environ.get("BENCH_REDACT_SAMPLE_MB", "5"))
    workers = int(os.environ.get("BENCH_REDACT_WORKERS", "2"))
    with tempfile.TemporaryDirectory(prefix="bench-redact-") as tmp:
        base = Path(tmp)
        t0 = time.perf_counter()
        truth = _write_corpus(base / "full", mb, seed=1)
        sample_truth = _write_corpus(base / "sample", min(sample_mb, mb), seed=2)
        for name, tr in (("full", truth), ("sample", sample_truth)):
            (base / f"{name}.json").write_text(json.dumps(tr))
        print(f"corpus: {mb:.0f} MB target, written in {time.perf_counter() - t0:.1f} s; "
              f"{len(truth['secrets'])} planted secrets/PII, {len(truth['decoys'])} decoys")  # fmt: skip
        rows = {
            "raw read (floor)": _run("raw", base / "full", base / "o", base / "full.json", 1),
            f"ours ({workers} procs)": _run(
                "ours", base / "full", base / "out-full", base / "full.json", workers
            ),  # fmt: skip
            "ours (sample)": _run("ours", base / "sample", base / "out-s", base / "sample.json", 1),
            "detect-secrets (sample)": _run(
                "detect-secrets", base / "sample", base / "o", base / "sample.json", 1
            ),  # fmt: skip
            "presidio patterns (sample)": _run(
                "presidio", base / "sample", base / "o", base / "sample.json", 1
            ),  # fmt: skip
        }
    print_table(rows, workers)


def print_table(rows: dict[str, dict[str, Any]], workers: int) -> None:
    ours = rows[f"ours ({workers} procs)"]
    ours_1 = rows["ours (sample)"]
    for r in rows.values():
        if "bytes" in r and r.get("seconds"):
            r["mbps"] = r["bytes"] / 1e6 / r["seconds"]
            r["mb_cpu"] = r["bytes"] / 1e6 / max(r["cpu"], 1e-9)
    head = f"{'tool':28} {'MB':>7} {'sec':>8} {'MB/s':>8} {'MB/cpu-s':>9} {'ours/x':>7} {'recall':>7} {'in-scope':>9} {'FP':>5} {'RSS MB':>7}"  # fmt: skip
    print(head)
    print("-" * len(head))
    for name, r in rows.items():
        if "error" in r:
            print(f"{name:28} error: {r['error']}")
            continue
        ratio = ours["mbps"] / r["mbps"] if r.get("mbps") and ours.get("mbps") else float("nan")
        recall = f"{r['found'] / r['total']:.3f}" if r.get("total") else "-"
        scope = f"{r['found_scope'] / r['in_scope']:.3f}" if r.get("in_scope") else "-"
        print(
            f"{name:28} {r['bytes'] / 1e6:7.1f} {r['seconds']:8.2f} {r.get('mbps', 0):8.1f} "
            f"{r.get('mb_cpu', 0):9.1f} "
            f"{ratio:7.1f} {recall:>7} {scope:>9} {r.get('fp', '-')!s:>5} {r['peak_rss_mb']:7.1f}"
        )
    print()
    load = os.getloadavg()[0]
    print(f"load average during the run: {load:.1f} on {os.cpu_count()} cores (MB/s is wall")
    print("clock and suffers from other load; MB/cpu-s is per CPU-second actually used).")
    print("ours/x = our wall-clock MB/s over the tool's.")
    print("recall = planted values removed (ours) or reported (peers) / all planted values;")
    print("in-scope = the same over the kinds the tool claims to cover (detect-secrets: secrets,")
    print("presidio: personal data). FP = reported values matching no planted value, plus")
    print("decoys that were redacted (ours). Peers ran on the sample only; their MB/s is")
    print("measured there and the time for the full corpus is extrapolated:")
    full_mb = ours["bytes"] / 1e6 if "bytes" in ours else 0
    for name in ("detect-secrets (sample)", "presidio patterns (sample)"):
        r = rows[name]
        if r.get("mbps"):
            print(f"  {name}: ~{full_mb / r['mbps']:.0f} s for {full_mb:.0f} MB (extrapolated) vs ours {ours.get('seconds', 0):.1f} s")  # fmt: skip
    if ours_1.get("mbps"):
        print(f"  ours single process on the sample: {ours_1['mbps']:.1f} MB/s")


if __name__ == "__main__":
    main()
