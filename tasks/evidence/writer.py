"""The bundle writer: files first, then a chain claim, then the signed envelope (commit)."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from tasks.common.errors import ComplianceError, InputError, StorageError
from tasks.common.ids import new_run_id
from tasks.common.models import Period, iso_z, to_utc
from tasks.common.storage import Body, SpooledFile, body_sha256, put_locked, put_once

from .chain import ChainPolicy, claim_next, envelope_uri, read_envelope, remember_commit
from .claims import MAX_SEQ
from .dsse import (
    ENVELOPE_NAME,
    KMS_RAW_LIMIT,
    PAYLOAD_TYPE,
    PREDICATE_TYPE,
    ROTATION_PREDICATE_TYPE,
    STATEMENT_TYPE,
    make_envelope,
    pae,
    parse_envelope,
    sha256_hex,
    statement_bytes,
)
from .signer import Signer, fingerprint, load_public_key
from .store import require_object_lock
from .verify import Trust

JOB_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
RUN_ID_RE = re.compile(r"^(\d{8}T\d{6}Z)-[0-9a-f]{8}$")
FILE_RE = re.compile(r"^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$")
STATUSES = ("pass", "warn", "fail")
INPUTS_FILE = "inputs.json"
CONTENT_TYPES = {".json": "application/json", ".html": "text/html", ".csv": "text/csv"}


class StatementTooLarge(ComplianceError):
    """The statement would exceed what KMS signs in RAW mode (4096 bytes)."""


def tool_version() -> str:
    try:
        return version("compliance-jobs")
    except PackageNotFoundError:
        return "0.0.0"


@dataclass(frozen=True)
class PublishedBundle:
    job: str
    run_id: str
    prefix: str
    bucket: str
    envelope_uri: str
    envelope_sha256: str
    seq: int | None
    previous: dict[str, Any] | None
    statement: dict[str, Any]


def run_started(run_id: str, fallback: datetime) -> datetime:
    m = RUN_ID_RE.match(run_id)
    if m:
        return datetime.strptime(m.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    return to_utc(fallback)


def bundle_prefix(job: str, run_id: str, started: datetime) -> str:
    return f"reports/{job}/{to_utc(started):%Y/%m/%d}/{run_id}/"


def _content_type(name: str) -> str:
    dot = name.rfind(".")
    return (
        CONTENT_TYPES.get(name[dot:], "application/octet-stream")
        if dot >= 0
        else "application/octet-stream"
    )


def _validate(
    job: str, files: dict[str, Body], status: str, counts: dict[str, int], run_id: str | None
) -> None:
    if not JOB_RE.match(job or ""):
        raise InputError(f"job {job!r}: must be a lowercase slug (a-z, 0-9, -)")
    if not files:
        raise InputError(f"{job}: a bundle needs at least one file")
    for name, data in files.items():
        if not FILE_RE.match(name) or ".." in name.split("/") or name == ENVELOPE_NAME:
            raise InputError(f"{name}: invalid bundle file name")
        # or a file spooled to disk (audit-trail's ledger), streamed, never read whole
        if not isinstance(data, bytes | bytearray | SpooledFile):
            raise InputError(f"{name}: file content must be bytes or a SpooledFile")
    if status not in STATUSES:
        raise InputError(f"status {status!r}: must be one of {', '.join(STATUSES)}")
    for k, v in counts.items():
        if not isinstance(v, int) or isinstance(v, bool):
            raise InputError(f"counts.{k}: must be an integer")
    if run_id is not None and not re.match(r"^[A-Za-z0-9-]{8,64}$", run_id):
        raise InputError(f"run_id {run_id!r}: invalid")


def build_statement(
    subjects: dict[str, str], predicate: dict[str, Any], predicate_type: str = PREDICATE_TYPE
) -> dict[str, Any]:
    return {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": n, "digest": {"sha256": d}} for n, d in sorted(subjects.items())],
        "predicateType": predicate_type,
        "predicate": predicate,
    }


def signed_size(statement: dict[str, Any]) -> int:
    return len(pae(PAYLOAD_TYPE, statement_bytes(statement)))


def _fit_inputs(
    files: dict[str, Body],
    predicate: dict[str, Any],
    inputs: list[dict[str, Any]],
    bucket: str,
    prefix: str,
) -> None:
    """Put inputs in the statement, or (too many) an inputs.json subject and its digest."""
    subjects = {n: "0" * 64 for n in files}
    probe_prev = {"uri": envelope_uri(bucket, prefix), "digest": {"sha256": "0" * 64}}
    predicate["inputs"] = list(inputs)
    predicate["previous"] = probe_prev
    if signed_size(build_statement(subjects, predicate)) <= KMS_RAW_LIMIT:
        return
    if INPUTS_FILE in files:
        raise StatementTooLarge(f"{INPUTS_FILE}: name reserved for the inputs listing")
    listing = json.dumps(list(inputs), sort_keys=True, indent=1).encode() + b"\n"
    files[INPUTS_FILE] = listing
    predicate["inputs"] = [
        {
            "uri": f"s3://{bucket}/{prefix}{INPUTS_FILE}",
            "digest": {"sha256": sha256_hex(listing)},
            "count": len(inputs),
        }
    ]
    subjects[INPUTS_FILE] = "0" * 64
    size = signed_size(build_statement(subjects, predicate))
    if size > KMS_RAW_LIMIT:
        raise StatementTooLarge(
            f"statement for {prefix} would sign {size} bytes (KMS RAW limit {KMS_RAW_LIMIT}): "
            f"too many files ({len(files)}) or counts ({len(predicate['counts'])})"
        )


def publish_bundle(
    client: Any,
    bucket: str,
    job: str,
    files: dict[str, Body],
    *,
    signer: Signer,
    period: Period,
    status: str,
    counts: dict[str, int],
    inputs: list[dict] | tuple = (),
    retention_days: int,
    run_id: str | None = None,
    generated_at: datetime | None = None,
    policy: ChainPolicy | None = None,
    predicate_type: str = PREDICATE_TYPE,
    extra_predicate: dict[str, Any] | None = None,
    trust: Trust | None = None,
) -> PublishedBundle:
    """Write one bundle (files, chain claim, then attestation.dsse.json) and return it.

    `predicate_type`/`extra_predicate` make other statements of the same shape (a key
    rotation adds `key_rotation` under urn:compliance-jobs:key-rotation:v1). `trust`: keys
    besides the signer's own whose bundles may be linked to (a rotation)."""
    policy = policy or ChainPolicy()
    _validate(job, files, status, counts, run_id)
    if (job == "keys") != (predicate_type == ROTATION_PREDICATE_TYPE):
        raise InputError("job slug 'keys' is reserved for key-rotation statements (keys rotate)")
    require_object_lock(client, bucket)
    generated = to_utc(generated_at or datetime.now(UTC))
    run_id = run_id or new_run_id(generated)
    prefix = bundle_prefix(job, run_id, run_started(run_id, generated))
    # a spooled file stays on disk: its digest was taken as it was written, and the
    # storage layer streams it (bytearray becomes bytes: nothing may change it mid-publish)
    files = {n: d if isinstance(d, SpooledFile) else bytes(d) for n, d in files.items()}
    predicate: dict[str, Any] = {
        "job": job,
        "run_id": run_id,
        "bucket": bucket,
        "prefix": prefix,
        "period": period.as_json(),
        "generated_at": iso_z(generated),
        "status": status,
        "counts": dict(counts),
        "inputs": [],
        "previous": None,
        "seq": MAX_SEQ,  # sized for the largest until the claim fixes it (chain.py)
        "tool": {"name": "compliance-jobs", "version": tool_version()},
        **(extra_predicate or {}),
    }
    _fit_inputs(files, predicate, list(inputs), bucket, prefix)
    put = partial(put_locked, client, bucket, retention_days=retention_days)
    created = [put(prefix + n, files[n], content_type=_content_type(n)) for n in sorted(files)]
    subjects = {n: body_sha256(files[n]) for n in files}
    # Only a rerun (some file was already there) can find its own envelope committed.
    existing = None if all(created) else read_envelope(client, bucket, prefix)
    if existing is not None:  # a rerun of a run that did commit: nothing left to do
        env = parse_envelope(existing)
        return _result(bucket, prefix, existing, env.statement, None)

    def put_claim(key: str, body: bytes) -> None:
        put_once(client, bucket, key, body, retention_days, "application/json")

    result = claim_next(
        client, bucket, job, run_id, prefix, put_claim, policy, _writer_trust(signer, trust)
    )
    predicate["previous"] = result.claim.previous
    predicate["seq"] = result.claim.seq
    statement = build_statement(subjects, predicate, predicate_type)
    payload = statement_bytes(statement)
    message = pae(PAYLOAD_TYPE, payload)
    if len(message) > KMS_RAW_LIMIT:
        raise StatementTooLarge(f"statement for {prefix} signs {len(message)} bytes (limit 4096)")
    envelope = make_envelope(payload, signer.keyid, signer.sign(message))
    if time.monotonic() - result.started >= policy.fence_seconds:
        raise StorageError(f"{prefix}: chain claim {result.claim.seq} expired before commit; rerun")
    put(prefix + ENVELOPE_NAME, envelope, content_type="application/json")
    remember_commit(bucket, prefix, envelope, result.claim.seq, frozenset([signer.keyid]))
    return _result(bucket, prefix, envelope, statement, result.claim.seq)


def _writer_trust(signer: Signer, extra: Trust | None) -> Trust:
    """A job trusts its own signing key, plus what it was given (spec, section Trust)."""
    own = load_public_key(signer.public_pem, "signing key")
    trust = replace(extra) if extra is not None else Trust()
    trust.keys = {**trust.keys, fingerprint(own): own}
    return trust


def _result(
    bucket: str, prefix: str, envelope: bytes, statement: dict[str, Any], seq: int | None
) -> PublishedBundle:
    pred = statement.get("predicate", {})
    return PublishedBundle(
        job=pred.get("job", ""),
        run_id=pred.get("run_id", ""),
        prefix=prefix,
        bucket=bucket,
        envelope_uri=envelope_uri(bucket, prefix),
        envelope_sha256=sha256_hex(envelope),
        seq=seq,
        previous=pred.get("previous"),
        statement=statement,
    )
