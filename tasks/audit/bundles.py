"""Finding and reading audit-trail bundles in the reports bucket.

A bundle is trusted only after `tasks.evidence.verify` has checked it (signature by a
key the reader pinned or the job's own, subjects, no extra objects); the ledger bytes are
then checked again against the statement's digest before they are parsed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from tasks.audit.model import JOB
from tasks.common.errors import ComplianceError
from tasks.common.storage import S3Store, SpooledFile
from tasks.common.storage.spool import CHUNK
from tasks.evidence.dsse import ENVELOPE_NAME, EnvelopeError, parse_envelope
from tasks.evidence.trust import Anchors
from tasks.evidence.verify import read_capped

LEDGER_NAME = "ledger.jsonl.gz"


@dataclass(frozen=True)
class LedgerBundle:
    bucket: str
    envelope_key: str
    run_id: str
    day: date | None  # the ledger's day (a one-day predicate period), else None
    ledger_sha256: str | None
    generated_at: str
    scoped: bool = False  # a --team/--user run: a partial ledger, never the day's record

    @property
    def prefix(self) -> str:
        return self.envelope_key[: -len(ENVELOPE_NAME)]

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.envelope_key}"


def _day_of(period: Any) -> date | None:
    try:
        start = datetime.fromisoformat(str(period["start"]).replace("Z", "+00:00"))
        end = datetime.fromisoformat(str(period["end"]).replace("Z", "+00:00"))
    except (KeyError, TypeError, ValueError):
        return None
    if end - start != timedelta(days=1) or start.time() != datetime.min.time():
        return None
    return start.date()


def describe(bucket: str, key: str, envelope: bytes) -> LedgerBundle:
    """What the (not yet verified) statement says about the bundle."""
    env = parse_envelope(envelope)
    pred = env.predicate
    digests = {
        s.get("name"): (s.get("digest") or {}).get("sha256")
        for s in env.statement.get("subject") or []
        if isinstance(s, dict)
    }
    return LedgerBundle(
        bucket=bucket,
        envelope_key=key,
        run_id=str(pred.get("run_id") or ""),
        day=_day_of(pred.get("period") or {}),
        ledger_sha256=digests.get(LEDGER_NAME),
        generated_at=str(pred.get("generated_at") or ""),
        scoped=bool((pred.get("counts") or {}).get("scoped")),
    )


def list_ledger_bundles(
    client: Any, bucket: str, days: Iterable[date] | None = None, include_scoped: bool = False
) -> tuple[list[LedgerBundle], list[tuple[str, str]]]:
    """Committed audit-trail bundles (optionally only those of `days`), oldest run first;
    and (uri, problem) for envelopes that cannot even be parsed. Scoped runs (the
    statement's counts say `scoped`) are left out unless asked for. A day's ledger is made
    on or after that day, so bundles stored under an earlier date are not read."""
    from tasks.evidence.bundles import iter_bundles

    wanted = set(days) if days is not None else None
    since = min(wanted) if wanted else None
    found, broken = [], []
    for ref in iter_bundles(client, bucket, job=JOB, since=since):
        key = ref.prefix + ENVELOPE_NAME
        try:
            bundle = describe(bucket, key, read_capped(S3Store(client, bucket), key) or b"")
        except EnvelopeError as exc:
            broken.append((f"s3://{bucket}/{key}", str(exc)))
            continue
        if (wanted is None or bundle.day in wanted) and (include_scoped or not bundle.scoped):
            found.append(bundle)
    found.sort(key=lambda b: (b.day or date.min, b.run_id, b.envelope_key))
    return found, broken


class EvidenceVerifier:
    """tasks.evidence.verify's checks 1, 2 and 4 (signature by a key the anchors trust,
    subjects and their digests, no extra objects, one version, Object Lock). Trust is
    resolved once per bucket; with no anchor every bundle is a problem, never trusted."""

    def __init__(self, anchors: Anchors) -> None:
        self.anchors = anchors
        self._trust: dict[str, Any] = {}

    def __call__(self, client: Any, bundle: LedgerBundle) -> list[str]:
        from tasks.evidence.trust import resolve_trust
        from tasks.evidence.verify import verify_bundle as evidence_verify

        store = S3Store(client, bundle.bucket)
        if bundle.bucket not in self._trust:
            try:
                self._trust[bundle.bucket] = resolve_trust(store, self.anchors)[0]
            except ComplianceError as exc:  # no anchor, or a pinned PEM that is not a key
                return [f"{bundle.uri}: trust: {exc}"]
        _info, failures = evidence_verify(store, bundle.prefix, self._trust[bundle.bucket])
        return [f.line() for f in failures]


def job_verifier(settings: Any) -> EvidenceVerifier:
    """The audit-trail job's verifier: its own signing key plus the configured pins."""
    from tasks.evidence.trust import job_anchors

    return EvidenceVerifier(job_anchors(settings))


def verify_ledger_bundle(client: Any, bundle: LedgerBundle) -> list[str]:
    """Problems found by the evidence verifier (empty = trusted), trusting what the job's
    configuration (compliance.yaml / environment) names: signing key and trusted_keys."""
    from tasks.common.settings import load_config

    try:
        verifier = job_verifier(load_config().storage)
    except ComplianceError as exc:
        return [f"{bundle.uri}: trust: {exc}"]
    return verifier(client, bundle)


def download_ledger(client: Any, bundle: LedgerBundle) -> SpooledFile:
    """The bundle's ledger.jsonl.gz streamed to a temporary file (never held whole), its
    bytes checked against the statement's digest; ValueError (one line) when they differ."""
    if not bundle.ledger_sha256:
        raise ValueError(f"{bundle.uri}: the statement names no {LEDGER_NAME}")
    spooled, out = SpooledFile.create(".jsonl.gz")
    with out, contextlib.closing(S3Store(client, bundle.bucket).open(bundle.prefix + LEDGER_NAME)) as body:  # fmt: skip
        while block := body.read(CHUNK):
            out.write(block)
    if spooled.sha256() != bundle.ledger_sha256:
        raise ValueError(f"{bundle.uri}: {LEDGER_NAME} does not match its digest")
    return spooled


Verifier = Callable[[Any, LedgerBundle], list[str]]
