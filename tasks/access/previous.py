"""The previous bundle of a job: found by listing, verified before it is trusted."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tasks.common.s3 import iter_objects
from tasks.common.settings import StorageSettings

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


def trusted_keys(settings: StorageSettings, paths: list[str]) -> list[tuple[str, bytes]]:
    """Public keys given out of band; else the public half of our own signing key."""
    if paths:
        return [(p, Path(p).read_bytes()) for p in paths]
    if settings.signing_key:
        from tasks.evidence import load_signer

        signer = load_signer(settings.signing_key, password_env=settings.signing_key_password_env)
        return [(f"signing key {signer.keyid[:16]}", signer.public_pem)]
    return []


def verify_previous(
    client: Any, bucket: str, prefix: str, trusted: list[tuple[str, bytes]]
) -> None:
    """Raise PreviousBundleError unless the evidence verifier accepts the bundle."""
    from tasks.evidence.store import S3Store
    from tasks.evidence.verify import Trust, trust_from_store, verify_bundle

    store = S3Store(client, bucket)
    trust = Trust.from_pems(trusted) if trusted else trust_from_store(store)[0]
    _, failures = verify_bundle(store, prefix, trust)
    if failures:
        raise PreviousBundleError(failures[0].line()[:300])


def load_previous(
    client: Any,
    bucket: str,
    job: str,
    trusted: list[tuple[str, bytes]],
    names: tuple[str, ...] = ("report.json", "grants.json", "campaign.csv"),
) -> PreviousBundle | None:
    prefix = latest_bundle_prefix(client, bucket, job)
    if prefix is None:
        return None
    return load_previous_at(client, bucket, prefix, trusted, names)


def load_previous_at(
    client: Any, bucket: str, prefix: str, trusted: list[tuple[str, bytes]], names: tuple[str, ...]
) -> PreviousBundle:
    """The bundle at `prefix`, verified; `names` read and checked against its signature."""
    verify_previous(client, bucket, prefix, trusted)
    envelope = client.get_object(Bucket=bucket, Key=prefix + ENVELOPE)["Body"].read()
    bundle = PreviousBundle(
        prefix=prefix,
        envelope_uri=f"s3://{bucket}/{prefix}{ENVELOPE}",
        envelope_sha256=hashlib.sha256(envelope).hexdigest(),
    )
    subjects = _subjects(envelope)
    for name in names:
        if name not in subjects:
            continue
        data = client.get_object(Bucket=bucket, Key=prefix + name)["Body"].read()
        # What we read must be what the signature covers.
        if hashlib.sha256(data).hexdigest() != subjects[name]:
            raise PreviousBundleError(f"{prefix}{name}: digest does not match the attestation")
        bundle.files[name] = data
    return bundle


def _subjects(envelope: bytes) -> dict[str, str]:
    try:
        statement = json.loads(base64.b64decode(json.loads(envelope)["payload"]))
        return {s["name"]: s["digest"]["sha256"] for s in statement["subject"]}
    except (ValueError, KeyError, TypeError):
        raise PreviousBundleError("previous attestation is not a DSSE in-toto envelope") from None


def decided_items(
    client: Any,
    bucket: str,
    campaign: PreviousBundle,
    trusted: list[tuple[str, bytes]],
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
