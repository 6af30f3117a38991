"""One hash chain per job, claimed link by link so concurrent publishers never fork it.

Protocol (writer side)
----------------------
Claims live at ``reports/<job>/_chain/<seq:012d>``. A claim is a small JSON record
``{"seq", "job", "run_id", "prefix", "previous", "claim_id"}``: "the bundle at `prefix`
will be link `seq`, and its statement's `previous` is exactly `previous`".

1. Find the head: the claim with the highest seq.
   * head committed (its prefix holds attestation.dsse.json): previous = that envelope
     (uri + SHA-256 of its bytes), seq = head.seq + 1;
   * head uncommitted and younger than the lease (server clock: claim LastModified vs the
     Date header of the listing): a publisher is between claim and commit; wait (poll)
     until it commits or its lease runs out;
   * head uncommitted and older than the lease: the claimer crashed. Link *past* it:
     previous = the dead claim's own `previous` (the newest committed bundle when it
     claimed), seq = head.seq + 1. The dead run stays an incomplete folder, never a report;
   * head is our own run (a rerun with the same run_id) and still inside the fence: adopt it.
2. Write the claim with ``IfNoneMatch="*"`` (plus Object Lock, like every object).
3. Read the claim key back with ListObjectVersions: the *earliest* version wins. On AWS and
   moto the loser already got 412 and simply reads the winner; on Ceph RGW, which ignores
   IfNoneMatch on versioned buckets, the loser's write became a later version of the same
   key, so the read-back is what decides. A loser re-reads the head and retries (this loop
   is race logic, not I/O retry; I/O retries are botocore's). Readers of claims therefore
   always take the earliest version of a claim key; extra versions of a *claim* key are
   expected race residue, not tampering. Where the endpoint is known to enforce IfNoneMatch
   (probed once, see enforces_if_none_match) a key has one version, a 200 means we won and
   a 412 means we read the winner, so the writer lists with ListObjectsV2 only.
4. Fence: the winner commits (writes its envelope) only if less than ``fence_seconds`` have
   passed (monotonic clock, started before the claim PUT was sent) since its claim. Others
   link past it only after ``lease_seconds`` (server clock). With lease > fence + the
   longest an envelope PUT can take under the client's bounded retries, a claim that was
   linked past can never commit afterwards, so no fork appears. Defaults: lease 900 s,
   fence 300 s; tasks.common.s3.client_config bounds one PUT to 8 attempts x (5 s connect +
   30 s read) + at most 7 x 20 s backoff = 420 s < 600 s. If the bound were ever broken the
   result is still visible: two bundles with the same `previous` = a fork, which the
   verifier reports.
5. Cost of a crash: the next publisher of that job waits until the dead claim's lease runs
   out (at most ``lease_seconds``; ``max_wait_seconds`` then gives up with a one-line
   StorageError) and links past it. A rerun with the same run_id inside the fence adopts
   its own claim; a rerun of a run that did commit returns the committed bundle.

Verifier consistency: a claim without an envelope is an incomplete run (listed, not a
failure); a committed bundle must be named by a claim whose `previous` equals its
statement's; forks and orphans are judged on committed envelopes only, so links past dead
claims are neither.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from tasks.common.errors import StorageError

from .dsse import ENVELOPE_NAME, sha256_hex
from .store import error_code, is_not_found, is_precondition_failed, server_now


@dataclass(frozen=True)
class ChainPolicy:
    lease_seconds: float = 900.0
    fence_seconds: float = 300.0
    poll_initial: float = 0.05
    poll_max: float = 0.25
    max_wait_seconds: float | None = None  # default: lease + 60 s


@dataclass
class Claim:
    seq: int
    key: str
    run_id: str
    prefix: str
    previous: dict[str, Any] | None
    claim_id: str
    last_modified: datetime | None = None
    version_id: str | None = None
    versions: int = 1
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass
class ClaimResult:
    claim: Claim
    started: float  # time.monotonic() before the claim PUT was sent (fence origin)
    adopted: bool = False


def chain_prefix(job: str) -> str:
    return f"reports/{job}/_chain/"


def claim_key(job: str, seq: int) -> str:
    return f"{chain_prefix(job)}{seq:012d}"


def envelope_uri(bucket: str, prefix: str) -> str:
    return f"s3://{bucket}/{prefix}{ENVELOPE_NAME}"


def parse_claim(key: str, data: bytes) -> Claim:
    rec = json.loads(data)
    if not isinstance(rec, dict):
        raise ValueError("claim is not a JSON object")
    seq = int(key.rsplit("/", 1)[1])
    if rec.get("seq") != seq:
        raise ValueError("claim seq does not match its key")
    return Claim(
        seq=seq,
        key=key,
        run_id=str(rec["run_id"]),
        prefix=str(rec["prefix"]),
        previous=rec.get("previous"),
        claim_id=str(rec["claim_id"]),
        raw=rec,
    )


def list_claim_versions(
    client: Any, bucket: str, job: str, key_marker: str | None = None
) -> tuple[dict[str, list[dict[str, Any]]], datetime]:
    """{claim key: versions, newest first (S3's order)} and the server's clock."""
    out: dict[str, list[dict[str, Any]]] = {}
    kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": chain_prefix(job)}
    if key_marker:
        kwargs["KeyMarker"] = key_marker
    now = None
    while True:
        resp = client.list_object_versions(**kwargs)
        now = now or server_now(resp)
        for v in resp.get("Versions", []):
            out.setdefault(v["Key"], []).append(v)
        if not resp.get("IsTruncated"):
            return out, now
        kwargs["KeyMarker"] = resp.get("NextKeyMarker")
        kwargs["VersionIdMarker"] = resp.get("NextVersionIdMarker")


def key_versions(client: Any, bucket: str, key: str) -> list[dict[str, Any]]:
    """Versions of exactly one key, newest first."""
    resp = client.list_object_versions(Bucket=bucket, Prefix=key)
    return [v for v in resp.get("Versions", []) if v["Key"] == key]


# Claim versions and committed envelopes are immutable: cache what we read or wrote.
_CLAIM_BODIES: dict[tuple[str, str, str], bytes] = {}
_ENFORCES: dict[tuple[str, str], bool] = {}
PROBE_PREFIX = "reports/_probe/"
PROBE_KEY = PROBE_PREFIX + "if-none-match"
_ENVELOPE_LINKS: dict[tuple[str, str], dict[str, Any]] = {}


def _remember(cache: dict, key: Any, value: Any) -> None:
    if len(cache) > 20000:
        cache.clear()
    cache[key] = value


def read_winner(
    client: Any, bucket: str, key: str, versions: list[dict[str, Any]], body: bytes | None = None
) -> Claim:
    """The earliest version of a claim key is the claim (see the module docstring)."""
    first = versions[-1]
    cache_key = (bucket, key, first["VersionId"])
    body = body or _CLAIM_BODIES.get(cache_key)
    if body is None:
        body = client.get_object(Bucket=bucket, Key=key, VersionId=first["VersionId"])[
            "Body"
        ].read()
        _remember(_CLAIM_BODIES, cache_key, body)
    claim = parse_claim(key, body)
    claim.last_modified = first.get("LastModified")
    claim.version_id = first["VersionId"]
    claim.versions = len(versions)
    return claim


def enforces_if_none_match(client: Any, bucket: str, put: Any) -> bool:
    """Does this endpoint refuse a second IfNoneMatch PUT in this (versioned) bucket?

    AWS and moto do; Ceph RGW does not. Probed once per process and bucket with at most
    two writes of one tiny object, always the same key (PROBE_KEY, outside every job):
    where the rule is enforced and an earlier process made the object, the first write
    is refused at once, so the bucket holds one probe object whatever the number of
    runs. Where it is enforced a claim key has exactly one version, so the writer can
    skip ListObjectVersions (which moto answers in time and memory proportional to the
    whole bucket).
    """
    where = (str(client.meta.endpoint_url), bucket)
    if where not in _ENFORCES:
        enforced = False
        for body in (b"1", b"2"):
            if not _put_claim(client, bucket, PROBE_KEY, body, put):
                enforced = True  # a 412: enforced (even if it met our own retried write)
                break
        _ENFORCES[where] = enforced
    return _ENFORCES[where]


def read_latest(client: Any, bucket: str, key: str, last_modified: Any = None) -> Claim:
    """The claim at a key that has exactly one version (IfNoneMatch enforced)."""
    cache_key = (bucket, key, "")
    body = _CLAIM_BODIES.get(cache_key)
    if body is None:
        body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
        _remember(_CLAIM_BODIES, cache_key, body)
    claim = parse_claim(key, body)
    claim.last_modified = last_modified
    return claim


class ChainHead:
    """Finds a job's head claim; remembers the last seq seen to list only newer keys."""

    def __init__(self) -> None:
        self._hint: dict[tuple[str, str], int] = {}

    def head(
        self, client: Any, bucket: str, job: str, enforced: bool = False
    ) -> tuple[Claim | None, datetime]:
        hint = self._hint.get((bucket, job))
        marker = claim_key(job, hint - 1) if hint else None
        lister = _list_claim_keys if enforced else list_claim_versions
        found, now = lister(client, bucket, job, marker)
        if not found and marker:
            found, now = lister(client, bucket, job)
        keys = sorted(k for k in found if k[len(chain_prefix(job)) :].isdigit())
        if not keys:
            return None, now
        if enforced:
            claim = read_latest(client, bucket, keys[-1], found[keys[-1]])
        else:
            claim = read_winner(client, bucket, keys[-1], found[keys[-1]])
        self._hint[(bucket, job)] = claim.seq
        return claim, now


def _list_claim_keys(
    client: Any, bucket: str, job: str, start_after: str | None = None
) -> tuple[dict[str, Any], datetime]:
    """{claim key: LastModified} from ListObjectsV2, and the server's clock."""
    kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": chain_prefix(job)}
    if start_after:
        kwargs["StartAfter"] = start_after
    out: dict[str, Any] = {}
    now = None
    while True:
        resp = client.list_objects_v2(**kwargs)
        now = now or server_now(resp)
        out.update({o["Key"]: o.get("LastModified") for o in resp.get("Contents", [])})
        if not resp.get("IsTruncated"):
            return out, now
        kwargs["ContinuationToken"] = resp["NextContinuationToken"]


_HEADS = ChainHead()


def read_envelope(client: Any, bucket: str, prefix: str) -> bytes | None:
    try:
        return client.get_object(Bucket=bucket, Key=prefix + ENVELOPE_NAME)["Body"].read()
    except ClientError as exc:
        if is_not_found(exc):
            return None
        raise StorageError(
            f"s3://{bucket}/{prefix}: cannot read envelope ({error_code(exc)})"
        ) from None


def link_to(bucket: str, prefix: str, envelope: bytes) -> dict[str, Any]:
    return {"uri": envelope_uri(bucket, prefix), "digest": {"sha256": sha256_hex(envelope)}}


def _put_claim(client: Any, bucket: str, key: str, body: bytes, put: Any) -> bool:
    try:
        put(key, body)
    except ClientError as exc:
        if not is_precondition_failed(exc):
            raise StorageError(f"s3://{bucket}/{key}: claim failed ({error_code(exc)})") from None
        return False
    return True


def remember_commit(bucket: str, prefix: str, envelope: bytes) -> None:
    _remember(_ENVELOPE_LINKS, (bucket, prefix), link_to(bucket, prefix, envelope))


def claim_next(
    client: Any,
    bucket: str,
    job: str,
    run_id: str,
    prefix: str,
    put: Any,
    policy: ChainPolicy,
) -> ClaimResult:
    """Claim the next link of the job's chain for the bundle at `prefix` (see docstring).

    `put(key, body)` writes one locked object with IfNoneMatch="*" and lets a 412 ClientError
    through; the caller owns retention settings.
    """
    claim_id = uuid.uuid4().hex
    max_wait = policy.max_wait_seconds or policy.lease_seconds + 60
    waited_since: float | None = None
    delay = policy.poll_initial
    enforced = enforces_if_none_match(client, bucket, put)
    while True:
        head, now = _HEADS.head(client, bucket, job, enforced)
        if head is None:
            seq, previous = 0, None
        else:
            age = (now - head.last_modified).total_seconds() if head.last_modified else 0.0
            link = _ENVELOPE_LINKS.get((bucket, head.prefix))
            if link is None:
                env = read_envelope(client, bucket, head.prefix)
                link = link_to(bucket, head.prefix, env) if env is not None else None
                if link is not None:
                    _remember(_ENVELOPE_LINKS, (bucket, head.prefix), link)
            if link is not None:
                seq, previous = head.seq + 1, link
            elif head.prefix == prefix and age < policy.fence_seconds:
                # Our own run claimed this link earlier (a rerun after a failure): adopt it.
                return ClaimResult(head, time.monotonic() - max(age, 0.0), adopted=True)
            elif age >= policy.lease_seconds:
                seq, previous = head.seq + 1, head.previous  # link past a dead claim
            else:
                waited_since = waited_since or time.monotonic()
                if time.monotonic() - waited_since > max_wait:
                    raise StorageError(
                        f"{job}: chain held by claim {head.seq} (run {head.run_id}); retry later"
                    )
                time.sleep(delay * (0.5 + random.random()))
                delay = min(policy.poll_max, delay * 2)
                continue
        key = claim_key(job, seq)
        record = {
            "seq": seq,
            "job": job,
            "run_id": run_id,
            "prefix": prefix,
            "previous": previous,
            "claim_id": claim_id,
        }
        started = time.monotonic()
        body = json.dumps(record, sort_keys=True).encode()
        created = _put_claim(client, bucket, key, body, put)
        if enforced:  # one version per key: a 200 means we won, a 412 means someone did
            if created:
                _remember(_CLAIM_BODIES, (bucket, key, ""), body)
                return ClaimResult(parse_claim(key, body), started)
            if read_latest(client, bucket, key).claim_id == claim_id:  # our retried PUT
                return ClaimResult(read_latest(client, bucket, key), started)
            continue
        mine = key_versions(client, bucket, key)
        if not mine:
            raise StorageError(f"s3://{bucket}/{key}: claim not visible after write")
        # Our PUT succeeded and it is the only version: it is ours, no need to read it back.
        winner = read_winner(
            client, bucket, key, mine, body if created and len(mine) == 1 else None
        )
        if winner.claim_id == claim_id:
            return ClaimResult(winner, started)
        # Lost the race for this seq: re-read the head and try the next link.
