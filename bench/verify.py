"""Bench: publish N bundles to the embedded S3, then verify the chain two ways on the same
downloaded data in one run — our verifier vs the spec's bash/openssl recipe per bundle.

BENCH_VERIFY_N (default 1000) sets N; BENCH_VERIFY_N=20 is a quick smoke run.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

RECIPE = r"""
set -euo pipefail
jq -r .payload attestation.dsse.json | base64 -d > "$TMP/statement.json"
T=$(jq -r .payloadType attestation.dsse.json)
jq -r '.signatures[0].sig' attestation.dsse.json | base64 -d > "$TMP/sig.der"
{ printf 'DSSEv1 %d %s %d ' "${#T}" "$T" "$(wc -c < "$TMP/statement.json")"; cat "$TMP/statement.json"; } > "$TMP/pae.bin"
openssl dgst -sha256 -verify "$PUBLIC_PEM" -signature "$TMP/sig.der" "$TMP/pae.bin" >/dev/null
jq -r '.subject[] | "\(.digest.sha256)  \(.name)"' "$TMP/statement.json" | sha256sum -c --quiet -
"""


def _files(i: int) -> dict[str, bytes]:
    body = (
        f'{{"job": "bench", "i": {i}, "findings": [' + ",".join(['{"id": "x"}'] * 50) + "]}\n"
    ).encode()
    return {
        "report.json": body,
        "report.html": b"<html><body>" + body + b"</body></html>\n",
        "findings.csv": b"id,check\n" + b"x,y\n" * 50,
    }


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    from tasks.common.embedded import EmbeddedS3
    from tasks.common.models import Period
    from tasks.common.s3 import s3_client
    from tasks.common.settings import StorageSettings
    from tasks.evidence import publish_bundle
    from tasks.evidence.bundles import download, iter_bundles
    from tasks.evidence.signer import generate_key_files, load_signer
    from tasks.evidence.verify_target import verify_target

    n = int(os.environ.get("BENCH_VERIFY_N", "1000"))
    work = Path(tempfile.mkdtemp(prefix="bench-verify-"))
    priv, pub, _ = generate_key_files(work / "keys")
    signer = load_signer(str(priv))
    server = EmbeddedS3().start()
    try:
        client = s3_client(StorageSettings(endpoint_url=server.endpoint_url))
        bucket = "bench-reports"
        client.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
        t0 = datetime(2026, 1, 1, tzinfo=UTC)
        start = time.perf_counter()
        for i in range(n):
            publish_bundle(
                client,
                bucket,
                "bench-job",
                _files(i),
                signer=signer,
                period=Period(start=t0 + timedelta(days=i), end=t0 + timedelta(days=i + 1)),
                status="pass",
                counts={"findings": 50},
                retention_days=1,
                generated_at=t0 + timedelta(days=i + 1),
            )
        publish_s = time.perf_counter() - start
        tree = work / "tree"
        download(client, bucket, list(iter_bundles(client, bucket)), tree)
    finally:
        server.stop()

    start = time.perf_counter()
    report = verify_target(str(tree), public_keys=[(str(pub), pub.read_bytes())])
    ours_s = time.perf_counter() - start
    assert report.ok and len(report.chain) == n, [f.line() for f in report.failures[:5]]

    bundles = sorted(p.parent for p in tree.rglob("attestation.dsse.json"))
    env = {"PATH": "/usr/bin:/bin", "PUBLIC_PEM": str(pub), "TMP": str(work)}
    start = time.perf_counter()
    for folder in bundles:
        subprocess.run(["bash", "-c", RECIPE], cwd=folder, env=env, check=True)
    shell_s = time.perf_counter() - start

    rows = [
        ("publish (embedded S3)", publish_s, f"{n / publish_s:8.1f} bundles/s"),
        ("verify: ours (chain + every check)", ours_s, f"{n / ours_s:8.1f} bundles/s"),
        ("verify: spec recipe (bash/openssl/jq)", shell_s, f"{n / shell_s:8.1f} bundles/s"),
    ]
    print(f"bench/verify: N={n} bundles, 3 files + envelope each, same downloaded data")
    print(f"{'step':<40} {'seconds':>9}  throughput")
    for name, secs, rate in rows:
        print(f"{name:<40} {secs:9.2f}  {rate}")
    print(f"ratio ours vs openssl recipe: {shell_s / ours_s:.1f}x faster (target >= 10x)")
    print(f"peak RSS: {_peak_rss_mb():.0f} MB")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
