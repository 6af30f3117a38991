"""Shared helpers for the evidence tests: build a chain, download it, mutate files."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import timedelta
from pathlib import Path

from tasks.common.models import Period
from tasks.common.s3 import s3_client
from tasks.common.settings import StorageSettings
from tasks.common.storage import put_locked
from tasks.evidence import publish_bundle
from tasks.evidence.bundles import download, iter_bundles
from tasks.evidence.dsse import PAYLOAD_TYPE, make_envelope, pae, parse_envelope, statement_bytes

from .conftest import T0, day_period

SCHEDULE = "0 6 * * *"  # the daily job publishes at 06:00 UTC


def client_for(server) -> object:
    return s3_client(StorageSettings(endpoint_url=server.endpoint_url))


def new_lock_bucket(client) -> str:
    name = f"reports-{uuid.uuid4().hex[:10]}"
    client.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    return name


def daily_files(job: str, i: int) -> dict[str, bytes]:
    return {
        "report.json": json.dumps({"job": job, "i": i}).encode() + b"\n",
        "report.html": b"<html><body>report %d</body></html>\n" % i,
        "findings.csv": b"id,check\n%d,x\n" % i,
    }


def publish_day(client, bucket: str, job: str, signer, i: int, trust=None):
    """Day i's bundle of `job` (T0 + i days), signed by `signer`."""
    return publish_bundle(
        client,
        bucket,
        job,
        daily_files(job, i),
        signer=signer,
        period=day_period(i),
        status="pass",
        counts={"findings": i},
        retention_days=1,
        generated_at=T0 + timedelta(days=i),
        trust=trust,
    )


def publish_chain(client, bucket: str, job: str, n: int, signer, public_pem: bytes | None = None):
    if public_pem:
        from tasks.evidence.signer import fingerprint, load_public_key

        fp = fingerprint(load_public_key(public_pem))
        put_locked(client, bucket, f"keys/{fp}.pem", public_pem, 1, "application/x-pem-file")
    return [publish_day(client, bucket, job, signer, i) for i in range(1, n + 1)]


def download_all(client, bucket: str, dest: Path) -> Path:
    download(client, bucket, list(iter_bundles(client, bucket)), dest)
    return dest


def flip_byte(path: Path, offset: int | None = None) -> None:
    data = bytearray(path.read_bytes())
    i = len(data) // 2 if offset is None else offset
    data[i] ^= 0x01
    path.write_bytes(bytes(data))


def forge_bundle(
    root: Path, template_prefix: str, new_run: str, signer, previous_from: str | None = None
) -> str:
    """A correctly signed bundle at a new prefix reusing a template's statement (fork maker)."""
    env = parse_envelope((root / template_prefix / "attestation.dsse.json").read_bytes())
    stmt = json.loads(env.payload)
    prefix = template_prefix.rsplit("/", 2)[0] + f"/{new_run}/"
    stmt["predicate"].update(run_id=new_run, prefix=prefix)
    if previous_from is not None:
        prev_env = parse_envelope((root / previous_from / "attestation.dsse.json").read_bytes())
        stmt["predicate"]["previous"] = prev_env.predicate["previous"]
    (root / prefix).mkdir(parents=True)
    for s in stmt["subject"]:
        (root / prefix / s["name"]).write_bytes((root / template_prefix / s["name"]).read_bytes())
    payload = statement_bytes(stmt)
    sig = signer.sign(pae(PAYLOAD_TYPE, payload))
    (root / prefix / "attestation.dsse.json").write_bytes(make_envelope(payload, signer.keyid, sig))
    return prefix


def period(i: int) -> Period:
    return day_period(i)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def race_lost_claim(client, bucket: str, job: str) -> tuple[object, int]:
    """B's claim PUT meets a rival's claim for the same seq that landed just before it.

    Returns (B's ClaimResult, number of versions of the contested claim key). On AWS/moto
    B's PUT gets 412; on RGW it silently becomes a second version; either way the earliest
    version (the rival's) wins and B moves on to the next link.
    """
    from tasks.evidence import ChainPolicy
    from tasks.evidence.chain import claim_key, claim_next

    policy = ChainPolicy(lease_seconds=2.0, fence_seconds=1.0, poll_initial=0.05)
    rival = json.dumps(
        {
            "seq": 0,
            "job": job,
            "run_id": "rival",
            "prefix": f"reports/{job}/2026/11/02/rival-000000000/",
            "previous": None,
            "claim_id": "rival",
        },
        sort_keys=True,
    ).encode()
    state = {"first": True}

    def put(key, body):
        if key == claim_key(job, 0) and state.pop("first", False):
            put_once_raw(client, bucket, claim_key(job, 0), rival)
        put_once_raw(client, bucket, key, body)

    result = claim_next(
        client, bucket, job, "b-run", f"reports/{job}/2026/11/02/b-run-00000000/", put, policy
    )
    versions = client.list_object_versions(Bucket=bucket, Prefix=claim_key(job, 0))["Versions"]
    return result, len(versions)


def put_once_raw(client, bucket, key, body):
    from tasks.common.storage import put_once

    put_once(client, bucket, key, body, 1, "application/json")
