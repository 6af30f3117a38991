"""Helpers for the chain, download and truncation attacks: a signer, its trust, a daily
publisher, and the attacker's raw writes (writer credentials, no signing key)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tasks.common.models import Period
from tasks.common.s3 import s3_client
from tasks.common.settings import StorageSettings

T0 = datetime(2026, 11, 1, 6, 0, 0, tzinfo=UTC)
JOB = "access-review"


def client_for(server):
    return s3_client(StorageSettings(endpoint_url=server.endpoint_url))


def new_lock_bucket(client) -> str:
    name = f"reports-{uuid.uuid4().hex[:10]}"
    client.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    return name


def make_signer(folder: Path):
    from tasks.evidence import load_signer
    from tasks.evidence.signer import generate_key_files

    priv, _pub, _fp = generate_key_files(folder)
    return load_signer(str(priv))


def trust_of(*signers):
    from tasks.evidence.verify import Trust

    return Trust.from_pems([(s.keyid, s.public_pem) for s in signers])


def period(i: int) -> Period:
    start = T0.replace(hour=0) + timedelta(days=i - 1)
    return Period(start=start, end=start + timedelta(days=1))


def publish_day(client, bucket: str, signer, i: int, job: str = JOB, **kw):
    from tasks.evidence import publish_bundle

    return publish_bundle(
        client,
        bucket,
        job,
        {
            "report.json": json.dumps({"job": job, "i": i}).encode() + b"\n",
            "report.html": b"<html><body>report %d</body></html>\n" % i,
        },
        signer=signer,
        period=period(i),
        status="pass",
        counts={"findings": i},
        retention_days=1,
        generated_at=T0 + timedelta(days=i),
        **kw,
    )


def plant(client, bucket: str, key: str, body: bytes) -> None:
    """What the writer role can do to any key: a plain PutObject (no condition, no lock)."""
    client.put_object(Bucket=bucket, Key=key, Body=body)


def claim_body(seq: int, prefix: str, previous, job: str = JOB, run_id: str = "forged") -> bytes:
    return json.dumps(
        {
            "seq": seq,
            "job": job,
            "run_id": run_id,
            "prefix": prefix,
            "previous": previous,
            "claim_id": uuid.uuid4().hex,
        },
        sort_keys=True,
    ).encode()


def fresh_process(monkeypatch) -> None:
    """The next publish runs in a new process: nothing cached of claims or envelopes."""
    from tasks.evidence import chain, claims

    monkeypatch.setattr(claims, "CLAIM_BODIES", {})
    monkeypatch.setattr(chain, "CLAIM_BODIES", claims.CLAIM_BODIES)
    monkeypatch.setattr(chain, "_ENVELOPE_LINKS", {})
    monkeypatch.setattr(chain, "_HINTS", {})


def without_seq(monkeypatch) -> None:
    """The writer as it was before claims carried `seq`: the statement has no `seq`."""
    from tasks.evidence import writer

    build = writer.build_statement

    def old_build(subjects, predicate, *args, **kwargs):
        return build(subjects, {k: v for k, v in predicate.items() if k != "seq"}, *args, **kwargs)

    monkeypatch.setattr(writer, "build_statement", old_build)
