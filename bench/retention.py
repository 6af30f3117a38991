"""Benchmark: log-retention over BENCH_RETENTION_N expired task logs in the embedded S3.

S3 is moto's server in a process of its own on loopback (tasks/common/embedded.py). A
first step, in a separate process, writes N raw task logs (ui_messages.json and command
output, ~1-3 KB, each carrying a secret) under BENCH_RETENTION_USERS users into an
Object-Lock (versioned) data bucket, a few of them under S3 legal hold. Timed: the whole
`run_retention` call (plan, redacted copies, journal, deletions, confirmation, signed
manifest published), then the objects handled per second and this process's peak RSS.
`BENCH_RETENTION_LOCK=0` uses an unversioned bucket without Object Lock (the demo's shape).
`BENCH_RETENTION_PROFILE=1` also prints the S3 requests per operation and the connections
urllib3 opened (keep-alive reuse);
`BENCH_RETENTION_CONCURRENCY` sets retention.s3_concurrency (16).

Then the server's ceiling on the same server: a bare boto3 loop, PUT then GET of one 4 KB
object each (two requests, as the job makes per object), BENCH_RETENTION_CONCURRENCY
threads, N objects into the same versioned bucket; the job's rate is printed as a share
of it. CPU seconds of moto's process and of this one are printed for both, and the rate
they allow when each has a core of its own (the machine is shared: wall-clock rates
move with its load, CPU per object does not).
Run: `python -m bench.retention` (default N=1,000; `BENCH_RETENTION_N=10000` for more).
Target (issue 19): >= 300 objects/s.
"""

from __future__ import annotations

import logging
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

TARGET = 300.0
HOLD_EVERY = 50  # one object in 50 under S3 legal hold (kept, never deleted)


def generate(endpoint: str, bucket: str, n: int, users: int, lock: bool) -> None:
    """The separate step: N raw logs into the data bucket (run in its own process)."""
    import orjson

    from tasks.common.s3 import s3_client
    from tasks.common.settings import StorageSettings

    client = s3_client(StorageSettings(endpoint_url=endpoint))

    def put(i: int) -> None:
        user, task = f"user{i % users:04d}", f"task-{i // 2:07d}"
        secret = "ghp_" + uuid.UUID(int=i).hex[:32] + "Ab12"
        if i % 2:
            name = "command-output/cmd-1.txt"
            body = f"$ env\nGH_TOKEN={secret}\n".encode() + b"line of output\n" * 100
        else:
            name = "ui_messages.json"
            msgs = [{"ts": 1764547200000 + k, "type": "say", "say": "text",
                     "text": f"step {k}: " + "x" * 120} for k in range(12)]  # fmt: skip
            msgs.append({"ts": 1, "type": "say", "say": "text", "text": f"use {secret} now"})
            body = orjson.dumps(msgs)
        args = {"Bucket": bucket, "Key": f"raw/roo/{user}/tasks/{task}/{name}", "Body": body}
        if lock and i % HOLD_EVERY == HOLD_EVERY - 1:
            args |= {"ObjectLockLegalHoldStatus": "ON", "ChecksumAlgorithm": "SHA256"}
        client.put_object(**args)

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(put, range(n)))


class _NewConnections(logging.Handler):
    """Connections urllib3 opened (it logs each one): few means keep-alive reuse."""

    opened = 0

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("Starting new HTTP"):
            self.opened += 1


def count_requests(client) -> Counter:
    """S3 requests by operation name, counted on botocore's event bus."""
    counts: Counter = Counter()

    def seen(model, **_kw) -> None:
        counts[model.name] += 1

    client.meta.events.register("before-call.s3", seen)
    return counts


def _cpu_seconds(server) -> float:
    """CPU time (user + system) of the moto server process, from /proc."""
    with open(f"/proc/{server._proc.pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def ceiling(client, bucket: str, n: int, threads: int, server) -> dict[str, float]:
    """A bare boto3 loop against the same server: PUT then GET of a 4 KB object, n times
    on `threads` threads. Objects/s, and CPU ms per object of moto and of this process."""
    body = os.urandom(4096)

    def one(i: int) -> None:
        key = f"ceiling/{i:07d}"
        client.put_object(Bucket=bucket, Key=key, Body=body)
        client.get_object(Bucket=bucket, Key=key)["Body"].read()

    one(-1)  # connections and botocore's caches warm, as the job's are by its listings
    cpu0 = (_cpu_seconds(server), time.process_time())
    t0 = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, range(n)))
    secs = time.perf_counter() - t0
    moto, ours = _cpu_seconds(server) - cpu0[0], time.process_time() - cpu0[1]
    return {"rate": n / secs, "moto_ms": 1000 * moto / n, "client_ms": 1000 * ours / n}


def main(n: int | None = None) -> None:
    from tasks.common.embedded import EmbeddedS3
    from tasks.common.s3 import s3_client
    from tasks.common.settings import AppConfig, StorageSettings
    from tasks.evidence import ensure_buckets
    from tasks.evidence.signer import generate_key_files
    from tasks.retention.runner import run_retention

    n = n or int(os.environ.get("BENCH_RETENTION_N", "1000"))
    users = int(os.environ.get("BENCH_RETENTION_USERS", "20"))
    lock = os.environ.get("BENCH_RETENTION_LOCK", "1") != "0"
    concurrency = int(os.environ.get("BENCH_RETENTION_CONCURRENCY", "16"))
    profile = os.environ.get("BENCH_RETENTION_PROFILE") == "1"
    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):  # moto accepts any
        os.environ.setdefault(k, "bench")
    server = EmbeddedS3(separate_process=True).start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            suffix = uuid.uuid4().hex[:8]
            settings = StorageSettings(
                endpoint_url=server.endpoint_url,
                data_bucket=f"bench-data-{suffix}",
                reports_bucket=f"bench-reports-{suffix}",
            )
            client = s3_client(settings)
            if lock:
                client.create_bucket(Bucket=settings.data_bucket, ObjectLockEnabledForBucket=True)
            priv, pub, _ = generate_key_files(Path(tmp) / "keys")
            settings = settings.model_copy(update={"signing_key": str(priv)})
            ensure_buckets(client, settings, public_key_pem=pub.read_bytes())
            t0 = time.perf_counter()
            code = subprocess.call([sys.executable, "-c",
                "import sys; from bench.retention import generate; "
                "generate(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), "
                "sys.argv[5] == '1')",
                server.endpoint_url, settings.data_bucket, str(n), str(users), str(int(lock))])  # fmt: skip
            if code:
                raise SystemExit(f"generating the logs failed (exit {code})")
            print(f"generated {n} raw logs under {users} users "
                  f"({'Object Lock, versioned' if lock else 'unversioned'} bucket) "
                  f"in {time.perf_counter() - t0:.1f} s", flush=True)  # fmt: skip
            sections = {
                "retention": {"raw_days": 30, "s3_concurrency": concurrency},
                "redaction": {"key": "bench-redaction-key-" + "0" * 16},
            }
            config = AppConfig(storage=settings, sections=sections, source="bench")
            import prefect  # noqa: F401  (the flow has it loaded; its import is not the job's time)

            counts = count_requests(client)
            connections, pool_log = _NewConnections(), logging.getLogger("urllib3.connectionpool")
            if profile:  # every request then makes a log record: a little of the job's CPU
                pool_log.addHandler(connections)
                pool_log.setLevel(logging.DEBUG)
            later = datetime.now(UTC) + timedelta(days=40)
            cpu0 = (_cpu_seconds(server), time.process_time())
            t0 = time.perf_counter()
            result = run_retention(config, client, now=later)
            secs = time.perf_counter() - t0
            cpu = (_cpu_seconds(server) - cpu0[0], time.process_time() - cpu0[1])
            counts = Counter(counts)  # the job's (the ceiling below uses the same client)
            pool_log.removeHandler(connections)
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            top = ceiling(client, settings.data_bucket, n, concurrency, server)
    finally:
        server.stop()
    summary = result["summary"]
    handled = summary["objects_deleted"] + summary["legal_holds"]
    expected_held = n // HOLD_EVERY if lock else 0
    if summary["objects_deleted"] != n - expected_held or result["status"] != "pass":
        raise SystemExit(f"log-retention did not do the work: {summary} status {result['status']}")
    rate = handled / secs
    print(f"run_retention: {secs:.2f} s; {summary['objects_deleted']} deleted "
          f"({summary['versions_deleted']} versions), {summary['legal_holds']} held, "
          f"{summary['redacted_copies_created']} redacted copies", flush=True)  # fmt: skip
    if profile:
        total = sum(counts.values())
        print(f"S3 requests: {total} ({total / n:.2f} per object): "
              + ", ".join(f"{k} {v}" for k, v in counts.most_common())
              + f"; {connections.opened} connections opened")  # fmt: skip
    job_ms = (1000 * cpu[0] / handled, 1000 * cpu[1] / handled)
    print(f"CPU per object: moto {job_ms[0]:.2f} ms, log-retention {job_ms[1]:.2f} ms "
          f"({cpu[0]:.1f} s, {cpu[1]:.1f} s): {1000 / max(job_ms):,.0f} objects/s "
          "with a core each")  # fmt: skip
    print(f"ceiling (bare boto3 PUT+GET of 4 KB, {concurrency} threads, same server): "
          f"{top['rate']:,.0f} objects/s; CPU per object: moto {top['moto_ms']:.2f} ms, "
          f"boto3 {top['client_ms']:.2f} ms: {1000 / max(top['moto_ms'], top['client_ms']):,.0f} "
          f"objects/s with a core each; log-retention at {rate / top['rate']:.0%} of it")  # fmt: skip
    ok = "ok" if rate >= TARGET else "MISSED"
    print(f"log-retention: {rate:,.0f} objects/s (target >= {TARGET:.0f}: {ok}); "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")  # fmt: skip
    print(f"peak RSS: {rss:.0f} MB")


if __name__ == "__main__":
    arg = sys.argv[sys.argv.index("--n") + 1] if "--n" in sys.argv else None
    main(int(arg) if arg else None)
