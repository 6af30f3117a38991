"""Chain claims as untrusted input: canonical keys, strict records, and the one rule that
makes a claim count (shared by the writer in chain.py and the verifier in verify_chain.py).

A claim is only a hint. It counts when its key is canonical (``_chain/`` + 12 digits),
its record is well formed, and the envelope it names verifies under a trusted key and
agrees with it: same job and bucket, same `previous`, and the statement's `seq` (written
by the writer since seq entered the predicate) equal to the claim's. Anyone who can put an
object can write a claim; only the signing key can make one count.

A claim must also be tied to its envelope in time: a publisher writes its claim before
its envelope, so a claim written after the envelope it names is a copy (of an old claim,
moved to a higher number) and does not count. An envelope signed before `seq` entered the
predicate is tied to its claim by nothing else, so a claim for one counts only when both
times are known (online; a downloaded tree has no server times).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from tasks.common.storage import S3Store, Store

from .dsse import ENVELOPE_NAME
from .store import server_now
from .verify import BUNDLE_KEY_RE, Trust, verify_bundle

CLAIM_NAME_RE = re.compile(r"^[0-9]{12}$")
MAX_SEQ = 10**12 - 1
MAX_CLAIM_BYTES = 64 * 1024  # a real claim is ~400 bytes
# Server times are compared in whole seconds (a GET's Last-Modified has no fraction), with
# one second for clock skew between a server's nodes: a copy made later than that is caught.
CLOCK_SLACK = timedelta(seconds=1)


def chain_prefix(job: str) -> str:
    return f"reports/{job}/_chain/"


def claim_key(job: str, seq: int) -> str:
    return f"{chain_prefix(job)}{seq:012d}"


def claim_seq(job: str, key: str) -> int | None:
    """The seq of a canonical claim key of `job`, else None (never a claim)."""
    name = key[len(chain_prefix(job)) :] if key.startswith(chain_prefix(job)) else ""
    return int(name) if CLAIM_NAME_RE.match(name) else None


def envelope_uri(bucket: str, prefix: str) -> str:
    return f"s3://{bucket}/{prefix}{ENVELOPE_NAME}"


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


def parse_claim(key: str, data: bytes) -> Claim:
    """A claim record, or ValueError with a one-line reason (hostile bytes never crash)."""
    name = key.rsplit("/", 1)[-1]
    if not CLAIM_NAME_RE.match(name):
        raise ValueError("not a canonical claim key (12 digits)")
    if len(data) > MAX_CLAIM_BYTES:
        raise ValueError(f"claim over {MAX_CLAIM_BYTES} bytes")
    try:
        rec = json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ValueError("claim is not JSON") from None
    if not isinstance(rec, dict):
        raise ValueError("claim is not a JSON object")
    seq = int(name)
    if type(rec.get("seq")) is not int or rec["seq"] != seq:
        raise ValueError("claim seq does not match its key")
    strings = ("run_id", "prefix", "claim_id", "job")
    if any(not isinstance(rec.get(k), str) for k in strings):
        raise ValueError("claim lacks run_id, prefix, claim_id or job")
    prev = rec.get("previous")
    if prev is not None and not isinstance(prev, dict):
        raise ValueError("claim previous is neither null nor an object")
    # A claim names a bundle prefix of its own job, or nothing anyone reads: checked before
    # any reader turns it into an S3 key (an odd prefix must not reach a request).
    m = BUNDLE_KEY_RE.match(rec["prefix"] + ENVELOPE_NAME)
    if not m or m.group(1) != rec["prefix"] or f"reports/{m.group(2)}/_chain/" not in key:
        raise ValueError("claim prefix is not a bundle prefix of its job")
    return Claim(seq, key, rec["run_id"], rec["prefix"], prev, rec["claim_id"], raw=rec)


class _OneEnvelope(Store):
    """Just the envelope bytes at prefix: what verify_bundle needs to judge the signature
    and the place (subjects are not the claim's business)."""

    def __init__(self, prefix: str, data: bytes, label: str) -> None:
        self.key, self.data, self.label = prefix + ENVELOPE_NAME, data, label

    def keys(self, prefix: str) -> Iterator[str]:
        return iter(())

    def read(
        self, key: str, limit: int | None = None, version_id: str | None = None
    ) -> bytes | None:
        return self.data if key == self.key else None  # already capped when it was read


def _whole_seconds(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)


Modified = datetime | None | Callable[[], datetime | None]


def untied(claim: Claim, has_seq: bool, envelope_modified: Modified) -> str | None:
    """Why the claim cannot be tied to the envelope in time, or None (see the docstring).

    `envelope_modified` may be a callable (the writer: listing the envelope's versions to
    find the committed one costs a request, spent only when no `seq` ties the claim)."""
    if callable(envelope_modified):
        envelope_modified = None if has_seq else envelope_modified()
    if claim.last_modified is None or envelope_modified is None:
        return None if has_seq else "no seq in the envelope and no server time to tie them"
    if _whole_seconds(claim.last_modified) > _whole_seconds(envelope_modified) + CLOCK_SLACK:
        return "it was written after the envelope it names (a copy)"
    return None


def disagreement(
    claim: Claim,
    envelope: bytes,
    trust: Trust,
    bucket: str | None,
    job: str,
    envelope_modified: Modified = None,
) -> str | None:
    """Why the claim does not count for this envelope, or None when it does.
    `envelope_modified`: the committed envelope version's LastModified when known."""
    try:
        info, _ = verify_bundle(_OneEnvelope(claim.prefix, envelope, ""), claim.prefix, trust)
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError):
        return "the envelope it names is unreadable"
    if not info.valid:
        return "the envelope it names does not verify under a trusted key"
    pred = info.predicate
    if pred.get("job") != job or (bucket is not None and pred.get("bucket") != bucket):
        return "the envelope it names is of another job or bucket"
    if pred.get("previous") != claim.previous:
        return "its previous differs from the envelope's"
    if "seq" in pred and pred.get("seq") != claim.seq:
        return f"the envelope it names is link {str(pred.get('seq'))[:20]}, not {claim.seq}"
    return untied(claim, "seq" in pred, envelope_modified)


# Claim versions are immutable: cache what we read or wrote.
CLAIM_BODIES: dict[tuple[str, str, str], bytes] = {}


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
    """Versions of exactly one key, newest first (delete markers left out), every page of
    them: the first version is what counts, and 1,000 planted ones must not hide it."""
    listed = S3Store(client, bucket).versions(key).get(key, [])
    return [
        {"VersionId": v.version_id, "LastModified": v.last_modified}
        for v in listed
        if not v.is_delete_marker
    ]


def remember(cache: dict, key: Any, value: Any) -> None:
    if len(cache) > 20000:
        cache.clear()
    cache[key] = value


def capped_get(client: Any, limit: int, **params: Any) -> bytes:
    """At most limit+1 bytes of an object (a ranged GET): whatever a writer planted, a reader
    never downloads more than it will parse. Raises ClientError as get_object does."""

    try:
        body = client.get_object(Range=f"bytes=0-{limit}", **params)["Body"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "InvalidRange":  # an empty object
            return b""
        raise
    try:
        return body.read(limit + 1)
    finally:
        body.close()


def read_winner(
    client: Any, bucket: str, key: str, versions: list[dict[str, Any]], body: bytes | None = None
) -> Claim:
    """The earliest version of a claim key is the claim (see the module docstring)."""
    first = versions[-1]
    cache_key = (bucket, key, first["VersionId"])
    body = body or CLAIM_BODIES.get(cache_key)
    if body is None:
        body = capped_get(client, MAX_CLAIM_BYTES, Bucket=bucket, Key=key, VersionId=first["VersionId"])  # fmt: skip
        remember(CLAIM_BODIES, cache_key, body)
    claim = parse_claim(key, body)
    claim.last_modified = first.get("LastModified")
    claim.version_id = first["VersionId"]
    claim.versions = len(versions)
    return claim


def read_latest(client: Any, bucket: str, key: str, last_modified: Any = None) -> Claim:
    """The claim at a key that has exactly one version (IfNoneMatch enforced)."""
    cache_key = (bucket, key, "")
    body = CLAIM_BODIES.get(cache_key)
    if body is None:
        body = capped_get(client, MAX_CLAIM_BYTES, Bucket=bucket, Key=key)
        remember(CLAIM_BODIES, cache_key, body)
    claim = parse_claim(key, body)
    claim.last_modified = last_modified
    return claim


def list_claim_keys(
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
