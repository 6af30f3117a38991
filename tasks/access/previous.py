"""The previous bundle of a job: found by listing, verified before it is trusted.

Trusted means: signed by the job's own signing key or a key pinned in the configuration
(tasks.evidence.trust); a key the bucket's keys/ holds is never trusted for being there.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass, field
from typing import Any

from tasks.common.errors import ComplianceError
from tasks.common.settings import StorageSettings
from tasks.common.storage import iter_objects
from tasks.evidence.dsse import EnvelopeError, parse_envelope
from tasks.evidence.trust import Anchors, job_anchors

ENVELOPE = "attestation.dsse.json"


@dataclass
class PreviousBundle:
    prefix: str
    envelope_uri: str
    envelope_sha256: str
    files: dict[str, bytes] = field(default_factory=dict)

    def json(self, name: str, default: Any = None) -> Any:
        raw = self.files.get(name)
        return default if raw is None else json.loads(raw)


class PreviousBundleError(Exception):
    """The previous bundle exists but failed verification (its content is not trusted)."""


def latest_bundle_prefix(client: Any, bucket: str, job: str) -> str | None:
    """Newest committed bundle (one with an envelope): keys sort by date, then run id."""
    newest = None
    for obj in iter_objects(client, bucket, f"reports/{job}/"):
        if obj["Key"].endswith("/" + ENVELOPE) and (newest is None or obj["Key"] > newest):
            newest = obj["Key"]
    return newest[: -len(ENVELOPE)] if newest else None


Trusted = Anchors | list[tuple[str, bytes]]  # anchors, or bare (source, PEM) pairs


def trusted_keys(settings: StorageSettings, paths: list[str]) -> Anchors:
    """The job's own signing key, the configured trusted_keys, and access.trusted_public_keys."""
    return job_anchors(settings, paths)


def verify_previous(client: Any, bucket: str, prefix: str, trusted: Trusted) -> tuple[Any, Any]:
    """(store, BundleInfo) of the bundle the evidence verifier accepted, or
    PreviousBundleError. The store reads each object at the version that was verified."""
    from tasks.common.storage import S3Store
    from tasks.evidence.trust import resolve_trust
    from tasks.evidence.verify import verify_bundle

    anchors = trusted if isinstance(trusted, Anchors) else Anchors(pems=tuple(trusted))
    store = S3Store(client, bucket)
    try:
        trust, _ = resolve_trust(store, anchors)
    except ComplianceError as exc:  # no anchor at all: nothing can be trusted
        raise PreviousBundleError(str(exc)[:300]) from None
    info, failures = verify_bundle(store, prefix, trust)
    if failures:
        raise PreviousBundleError(failures[0].line()[:300])
    return store, info


def load_previous(
    client: Any,
    bucket: str,
    job: str,
    trusted: Trusted,
    names: tuple[str, ...] = ("report.json", "grants.json", "campaign.csv"),
) -> PreviousBundle | None:
    prefix = latest_bundle_prefix(client, bucket, job)
    if prefix is None:
        return None
    return load_previous_at(client, bucket, prefix, trusted, names)


def load_previous_at(
    client: Any, bucket: str, prefix: str, trusted: Trusted, names: tuple[str, ...]
) -> PreviousBundle:
    """The bundle at `prefix`, verified; `names` read and checked against its signature."""
    # The envelope that was verified and the same store (pinned to the committed versions):
    # a later version written over an object cannot be what is used.
    store, info = verify_previous(client, bucket, prefix, trusted)
    envelope = info.envelope_bytes or b""
    bundle = PreviousBundle(
        prefix=prefix,
        envelope_uri=f"s3://{bucket}/{prefix}{ENVELOPE}",
        envelope_sha256=hashlib.sha256(envelope).hexdigest(),
    )
    subjects = _subjects(envelope)
    for name in names:
        if name not in subjects:
            continue
        data = store.read(prefix + name) or b""
        # What we read must be what the signature covers.
        if hashlib.sha256(data).hexdigest() != subjects[name]:
            raise PreviousBundleError(f"{prefix}{name}: digest does not match the attestation")
        bundle.files[name] = data
    return bundle


def _subjects(envelope: bytes) -> dict[str, str]:
    try:
        statement = parse_envelope(envelope).statement
    except EnvelopeError as exc:
        raise PreviousBundleError(f"previous attestation: {exc}") from None
    return {s["name"]: s["digest"]["sha256"] for s in statement["subject"]}


def decided_items(
    client: Any,
    bucket: str,
    campaign: PreviousBundle,
    trusted: Trusted,
    job: str = "access-review-decisions",
) -> tuple[set[str], list[dict[str, Any]], list[str]]:
    """(item ids with an accepted decision on `campaign`, the decisions bundles read as
    inputs, why any bundle was not trusted).

    Decisions bundles made since the campaign are verified first; one that fails counts
    for nothing (its items stay undecided), and the failure is returned.
    """
    since = campaign.prefix.split("/")[2:5]  # reports/<job>/YYYY/MM/DD/<run>/
    decided: set[str] = set()
    inputs: list[dict[str, Any]] = []
    untrusted: list[str] = []
    envelopes = sorted(
        o["Key"]
        for o in iter_objects(client, bucket, f"reports/{job}/")
        if o["Key"].endswith("/" + ENVELOPE) and o["Key"].split("/")[2:5] >= since
    )
    for key in envelopes:
        prefix = key[: -len(ENVELOPE)]
        try:
            bundle = load_previous_at(
                client, bucket, prefix, trusted, ("report.json", "decisions.csv")
            )
        except PreviousBundleError as exc:
            untrusted.append(f"{prefix}: {exc}"[:300])
            continue
        summary = (bundle.json("report.json", {}) or {}).get("summary", {})
        if summary.get("campaign") != campaign.envelope_uri or "decisions.csv" not in bundle.files:
            continue
        rows = csv.DictReader(io.StringIO(bundle.files["decisions.csv"].decode("utf-8")))
        decided |= {r["item_id"] for r in rows if r.get("status") == "accepted"}
        inputs.append({"uri": bundle.envelope_uri, "digest": {"sha256": bundle.envelope_sha256}})
    return decided, inputs, untrusted
