"""Listing, downloading and sharing committed bundles (what `compliance reports` drives).

The bucket is hostile input here: object keys become local paths only through
tasks.common.safepath, downloads take each object's first version (the committed one),
and an envelope that `reports list` cannot read is a row status, never a crash.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from tasks.common.errors import InputError, StorageError
from tasks.common.safepath import UnsafeKeyError, safe_join
from tasks.common.storage import S3Store, iter_objects, iter_version_pages

from .claims import MAX_CLAIM_BYTES, chain_prefix, claim_seq, parse_claim
from .dsse import ENVELOPE_NAME
from .store import KEYS
from .verify import BUNDLE_KEY_RE, Failure
from .verify_chain import Report

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


@dataclass
class _Download:
    """Objects written, and what was refused or looked past (verification failures)."""

    client: Any
    bucket: str
    dest: Path
    objects: int = 0
    failures: list[Failure] = field(default_factory=list)

    @property
    def store(self) -> S3Store:
        return S3Store(self.client, self.bucket)

    def fail(self, key: str, check: str, message: str) -> None:
        self.failures.append(Failure(f"s3://{self.bucket}/{key[:300]!r}"[:400], check, message))

    def versions(self, prefix: str) -> dict[str, list[dict[str, Any]]]:
        """{key: versions (S3's order: newest first), then delete markers} under prefix."""
        out: dict[str, list[dict[str, Any]]] = {}
        for page in iter_version_pages(self.client, self.bucket, prefix):
            for v, marker in page:
                out.setdefault(v["Key"], []).append({**v, "marker": marker})
        return out

    def fetch(self, key: str, versions: list[dict[str, Any]], residue_ok: bool = False) -> None:
        """The first version of key, at the same relative path; never outside dest."""
        real = [v for v in versions if not v["marker"]]
        if not real:
            return
        try:
            path = safe_join(self.dest, key)
        except UnsafeKeyError as exc:
            self.fail(key, "unsafe_key", str(exc).split(": ", 1)[-1] + "; not downloaded")
            return
        later, markers = len(real) - 1, len(versions) - len(real)
        if markers or (later and not residue_ok):
            self.fail(
                key,
                "versions",
                f"{later} later versions and {markers} delete markers over the committed "
                "object; downloaded the first version",
            )
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.parent.resolve() != safe_join(self.dest, key).parent:
                raise OSError("a folder on the way changed")
            body = self.store.open(key, version_id=real[-1]["VersionId"])
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
            with os.fdopen(fd, "wb") as fh, contextlib.closing(body):
                while chunk := body.read(1 << 20):
                    fh.write(chunk)
        except (OSError, UnsafeKeyError) as exc:
            self.fail(
                key, "unsafe_key", f"cannot write {path.name!r} safely ({exc.__class__.__name__})"
            )
            return
        self.objects += 1

    def tree(self, listing: dict[str, list[dict[str, Any]]]) -> None:
        for key, vs in sorted(listing.items()):
            self.fetch(key, vs)


def _by_bundle(listing: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, list]]:
    """A job's listing split by bundle prefix (any key under one, odd keys included)."""
    out: dict[str, dict[str, list]] = {}
    for key, vs in listing.items():
        m = BUNDLE_KEY_RE.match(key)
        if m:
            out.setdefault(m.group(1), {})[key] = vs
    return out


def _claims(
    dl: _Download, job: str, listing: dict[str, list[dict[str, Any]]]
) -> list[tuple[str, list[dict[str, Any]], str | None]]:
    """(key, versions, the bundle prefix its first version names or None) per claim key."""
    out = []
    for key, vs in sorted(listing.items()):
        if not key.startswith(chain_prefix(job)):
            continue
        real = [v for v in vs if not v["marker"]]
        named = None
        if real and claim_seq(job, key) is not None:
            try:
                data = dl.store.read(key, MAX_CLAIM_BYTES, real[-1]["VersionId"])
                named = parse_claim(key, data).prefix if data is not None else None
            except (ValueError, StorageError):
                named = None
        m = BUNDLE_KEY_RE.match((named or "") + ENVELOPE_NAME)
        out.append((key, vs, named if m and m.group(1) == named and m.group(2) == job else None))
    return out


def _hidden(listing: dict[str, list[dict[str, Any]]], prefix: str) -> bool:
    """No envelope in a plain listing: never written (a run in progress or crashed), or
    delete-marked (truncation). A visible envelope left out of refs was filtered out."""
    vs = listing.get(prefix + ENVELOPE_NAME, [])
    return not vs or any(v["marker"] for v in vs)


def download(
    client: Any,
    bucket: str,
    refs: list[BundleRef],
    dest: Path,
    progress: Callable[[BundleRef], None] | None = None,
    since: date | None = None,
) -> dict[str, Any]:
    """Same relative keys under dest: bundles, their jobs' chain claims, and keys/.

    Every object is taken at its first version (what was committed; later versions and
    delete markers are reported, not downloaded), every key is checked before it becomes
    a path, and nothing is written through a symlink. Prefixes that a claim names but
    that hold no listed envelope (a run in progress, a crashed one, an envelope hidden by
    a delete marker) come along too, so the offline verifier can tell them apart. The
    result's "failures" (Failure list) belong in the verification: with_download_failures.
    One versions listing per job (moto answers each in time proportional to the bucket).
    """
    dl = _Download(client, bucket, dest)
    listed = {r.prefix for r in refs}
    for job in sorted({r.job for r in refs}):
        listing = dl.versions(f"reports/{job}/")
        bundles = _by_bundle(listing)
        for ref in (r for r in refs if r.job == job):
            dl.tree(bundles.get(ref.prefix, {}))
            if progress:
                progress(ref)
        claims = _claims(dl, job, listing)
        extra = {
            p
            for _k, _v, p in claims
            if p and p not in listed and _hidden(listing, p) and (not since or _day(p) >= since)
        }
        for prefix in sorted(extra):
            dl.tree(bundles.get(prefix, {}))
        for key, vs, named in claims:  # junk claims come along: the verifier reports them
            if named is None or named in listed or named in extra:
                dl.fetch(key, vs, residue_ok=True)  # later versions of a claim: race residue
    dl.tree(dl.versions(KEYS))
    return {"bundles": len(refs), "objects": dl.objects, "failures": dl.failures}


def _day(prefix: str) -> date:
    m = BUNDLE_KEY_RE.match(prefix + ENVELOPE_NAME)
    return date(int(m.group(3)), int(m.group(4)), int(m.group(5))) if m else date.min


def with_download_failures(report: Report | None, counts: dict[str, Any]) -> Report | None:
    """Move download()'s failures into the verification report (first, as found)."""
    failures = counts.pop("failures", [])
    if not failures:
        return report
    report = report or Report()
    report.failures[:0] = failures
    return report


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
    """Presigned GET URLs for a committed bundle and what checking it needs without
    credentials: its objects (role `bundle`), the signer's public key from keys/ (`key` —
    the auditor still compares its fingerprint with the one received out of band), the
    previous envelope of the chain (`previous`) and the bundle's chain claim (`claim`)."""
    keys = [o["Key"] for o in iter_objects(client, bucket, prefix)]
    if prefix + ENVELOPE_NAME not in keys:
        raise InputError(f"s3://{bucket}/{prefix}: not a committed bundle (no {ENVELOPE_NAME})")
    wanted = [("bundle", key) for key in keys] + _verification_aids(client, bucket, prefix)
    return [
        {
            "role": role,
            "key": key,
            "url": client.generate_presigned_url(
                "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=expires
            ),
        }
        for role, key in wanted
    ]


def _verification_aids(client: Any, bucket: str, prefix: str) -> list[tuple[str, str]]:
    """(role, key) of the signer's key, the previous envelope and the claim, where they exist.

    The envelope is hostile input: read capped, parsed strictly; anything odd adds nothing.
    """
    from tasks.common.safepath import key_problem

    from .dsse import EnvelopeError, parse_envelope
    from .verify import read_capped

    store = S3Store(client, bucket)
    try:
        env = parse_envelope(read_capped(store, prefix + ENVELOPE_NAME) or b"")
    except EnvelopeError:
        return []
    pred = env.predicate
    candidates: list[tuple[str, str]] = []
    if env.signatures:
        candidates.append(("key", f"{KEYS}{env.signatures[0][0]}.pem"))
    previous = pred.get("previous")
    uri = previous.get("uri") if isinstance(previous, dict) else None
    if isinstance(uri, str) and uri.startswith(f"s3://{bucket}/"):
        candidates.append(("previous", uri.removeprefix(f"s3://{bucket}/")))
    m = BUNDLE_KEY_RE.match(prefix + ENVELOPE_NAME)
    seq = pred.get("seq")
    if m and type(seq) is int and seq >= 0:
        candidates.append(("claim", f"{chain_prefix(m.group(2))}{seq:012d}"))
    found = []
    for role, key in candidates:
        if key_problem(key) or (role == "previous" and not BUNDLE_KEY_RE.match(key)):
            continue
        if store.head(key) is not None:  # absent: nothing to share
            found.append((role, key))
    return found


def write_summary(dest: Path, summary: dict[str, Any]) -> Path:
    """Beside the downloaded tree, never inside a bundle (that would be an extra object),
    never through a symlink."""
    path = dest / "verification-summary.json"
    data = (json.dumps(summary, indent=2, sort_keys=True) + "\n").encode()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
    except OSError:
        raise InputError(f"{path}: cannot write the summary (a symlink?)") from None
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    return path
