"""Listing, downloading and sharing committed bundles (what `compliance reports` drives)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from tasks.common.errors import InputError
from tasks.common.s3 import iter_objects

from .chain import list_claim_versions
from .dsse import ENVELOPE_NAME, EnvelopeError, parse_envelope
from .store import KEYS
from .verify import BUNDLE_KEY_RE

MAX_PRESIGN_SECONDS = 7 * 24 * 3600  # SigV4 presigned URLs live at most 7 days


@dataclass(frozen=True)
class BundleRef:
    job: str
    run_id: str
    prefix: str
    day: date

    def envelope_uri(self, bucket: str) -> str:
        return f"s3://{bucket}/{self.prefix}{ENVELOPE_NAME}"


def iter_bundles(
    client: Any, bucket: str, job: str | None = None, since: date | None = None
) -> Iterator[BundleRef]:
    """Committed bundles (prefixes holding an envelope), oldest first per job."""
    for obj in iter_objects(client, bucket, f"reports/{job}/" if job else "reports/"):
        m = BUNDLE_KEY_RE.match(obj["Key"])
        if not m or m.group(7) != ENVELOPE_NAME:
            continue
        day = date(int(m.group(3)), int(m.group(4)), int(m.group(5)))
        if since and day < since:
            continue
        yield BundleRef(m.group(2), m.group(6), m.group(1), day)


def summary_row(client: Any, bucket: str, ref: BundleRef) -> dict[str, Any]:
    """job, run, period, status, counts, from the statement (unverified: list, not verify)."""
    body = client.get_object(Bucket=bucket, Key=ref.prefix + ENVELOPE_NAME)["Body"].read()
    try:
        pred = parse_envelope(body).predicate
    except EnvelopeError as exc:
        return {
            "job": ref.job,
            "run_id": ref.run_id,
            "period": None,
            "status": f"unreadable: {exc}",
            "counts": {},
        }
    return {
        "job": ref.job,
        "run_id": ref.run_id,
        "period": pred.get("period"),
        "status": pred.get("status"),
        "counts": pred.get("counts") or {},
        "generated_at": pred.get("generated_at"),
        "uri": ref.envelope_uri(bucket),
    }


def _download(client: Any, bucket: str, prefix: str, dest: Path) -> int:
    n = 0
    for obj in iter_objects(client, bucket, prefix):
        path = dest / obj["Key"]
        path.parent.mkdir(parents=True, exist_ok=True)
        client.download_file(bucket, obj["Key"], str(path))
        n += 1
    return n


def _download_claims(client: Any, bucket: str, job: str, dest: Path) -> int:
    """Each claim key's earliest version: that is the claim (RGW may hold losers' later ones)."""
    versions, _ = list_claim_versions(client, bucket, job)
    for key, vs in versions.items():
        body = client.get_object(Bucket=bucket, Key=key, VersionId=vs[-1]["VersionId"])[
            "Body"
        ].read()
        path = dest / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
    return len(versions)


def download(
    client: Any,
    bucket: str,
    refs: list[BundleRef],
    dest: Path,
    progress: Callable[[BundleRef], None] | None = None,
) -> dict[str, int]:
    """Same relative keys under dest: bundles, their jobs' chain claims, and keys/."""
    counts = {"bundles": 0, "objects": 0}
    for ref in refs:
        counts["objects"] += _download(client, bucket, ref.prefix, dest)
        counts["bundles"] += 1
        if progress:
            progress(ref)
    for job in sorted({r.job for r in refs}):
        counts["objects"] += _download_claims(client, bucket, job, dest)
    counts["objects"] += _download(client, bucket, KEYS, dest)
    return counts


def parse_expires(text: str) -> int:
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    try:
        seconds = int(text[:-1]) * units[text[-1]] if text[-1] in units else int(text)
    except (ValueError, IndexError):
        raise InputError(f"--expires {text!r}: use e.g. 3600s, 30m, 12h or 7d") from None
    if not 0 < seconds <= MAX_PRESIGN_SECONDS:
        raise InputError(f"--expires {text!r}: must be between 1s and 7d")
    return seconds


def share(client: Any, bucket: str, prefix: str, expires: int) -> list[dict[str, str]]:
    """Presigned GET URLs for every object of a committed bundle."""
    keys = [o["Key"] for o in iter_objects(client, bucket, prefix)]
    if prefix + ENVELOPE_NAME not in keys:
        raise InputError(f"s3://{bucket}/{prefix}: not a committed bundle (no {ENVELOPE_NAME})")
    return [
        {
            "key": key,
            "url": client.generate_presigned_url(
                "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=expires
            ),
        }
        for key in keys
    ]


def write_summary(dest: Path, summary: dict[str, Any]) -> Path:
    """Beside the downloaded tree, never inside a bundle (that would be an extra object)."""
    path = dest / "verification-summary.json"
    path.write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path
