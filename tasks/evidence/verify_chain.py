"""Verification of a job's whole chain (spec check 3) on top of per-bundle checks.

Chain rules, consistent with the claim protocol in chain.py:
* chain_link: a bundle's `previous` must name (uri and SHA-256) a committed, valid bundle;
* fork: two valid bundles with the same `previous` (or two first bundles);
* orphan: a valid bundle that is neither the newest nor anybody's `previous`;
* claim: every valid bundle is named by a claim that counts (claims.py: its envelope
  verifies under a trusted key, agrees on seq and previous, and was not written before
  the claim — the committed envelope version's time, online); a claim that does not
  count, or a key under _chain/ that is not 12 digits, is reported (checked when the job
  has claims);
* truncation: a claim names an envelope that is missing or delete-marked (online: S3
  kept a version or a delete marker of it, or nothing of the bundle at all; offline: the
  bundle is not in the tree). A claim whose files are there but whose envelope never
  existed is an incomplete run (in progress, or a crashed publisher others linked past),
  listed but not a failure;
* stale / period_gap (only with a cron schedule): the newest bundle is no older than the
  schedule allows; periods along the chain leave no gap.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from cronsim import CronSim, CronSimError

from tasks.common.errors import ConfigError
from tasks.common.models import to_utc
from tasks.common.storage import ObjectVersion, S3Store, Store

from .claims import Claim, chain_prefix, claim_seq, disagreement, parse_claim, read_winner
from .dsse import ENVELOPE_NAME
from .verify import BUNDLE_KEY_RE, BundleInfo, Failure, Trust, verify_bundle


@dataclass
class Report:
    failures: list[Failure] = field(default_factory=list)
    bundles: list[BundleInfo] = field(default_factory=list)
    chain: list[str] = field(default_factory=list)  # prefixes, oldest first
    incomplete: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "bundles": len(self.bundles),
            "chain": self.chain,
            "incomplete": self.incomplete,
            "failures": [f.as_dict() for f in self.failures],
        }


def _parse_time(value: Any) -> datetime | None:
    try:
        return to_utc(datetime.fromisoformat(str(value).replace("Z", "+00:00")))
    except ValueError:
        return None


def _read_claims(
    store: Store, job: str, fail: Any, listing: dict[str, list[ObjectVersion]] | None
) -> list[Claim]:
    """Every claim of the job (online: the earliest version of each key, delete-marked
    keys included; `listing` is the job's versions listing). Non-canonical keys and
    unreadable records are reported, never used."""
    prefix = chain_prefix(job)
    versions = {k: vs for k, vs in (listing or {}).items() if k.startswith(prefix)}
    keys = sorted(versions) if isinstance(store, S3Store) else list(store.keys(prefix))

    def one(key: str) -> Claim | str:
        if claim_seq(job, key) is None:
            return "not a chain claim key (_chain/ and 12 digits); ignored"
        try:
            if isinstance(store, S3Store):
                vs = [
                    {"VersionId": v.version_id, "LastModified": v.last_modified}
                    for v in versions.get(key, [])
                    if not v.is_delete_marker
                ]
                if not vs:
                    return "claim has no version left, only delete markers"
                return read_winner(store.client, store.bucket, key, vs)
            return parse_claim(key, store.read(key) or b"")
        except ValueError as exc:
            return f"not a valid chain claim: {exc}"

    workers = 8 if isinstance(store, S3Store) else 1
    claims = []
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for key, claim in zip(keys, pool.map(one, keys), strict=True):
            if isinstance(claim, str):
                fail(key, "claim", claim)
                continue
            claims.append(claim)
            if any(v.is_delete_marker for v in versions.get(key, [])):
                fail(key, "versions", "chain claim is delete-marked")
    return claims


def check_schedule(
    chain: list[BundleInfo], schedule: str, now: datetime, grace: timedelta | None = None
) -> list[tuple[BundleInfo | None, str, str]]:
    """Staleness of the newest bundle and gaps between consecutive periods."""
    try:
        back = CronSim(schedule, now + timedelta(seconds=1), reverse=True)
        f1, f2 = next(back), next(back)
    except (CronSimError, StopIteration, ValueError):
        raise ConfigError(f"schedule {schedule!r}: not a valid cron expression") from None
    interval = f1 - f2
    grace = grace if grace is not None else min(interval / 4, timedelta(hours=2))
    due = next(CronSim(schedule, now - grace + timedelta(seconds=1), reverse=True))
    out: list[tuple[BundleInfo | None, str, str]] = []
    newest = chain[-1] if chain else None
    gen = _parse_time(newest.predicate.get("generated_at")) if newest else None
    if gen is None or gen < due - grace:
        seen = f"newest bundle generated {gen:%Y-%m-%dT%H:%M:%SZ}" if gen else "no bundle"
        out.append(
            (
                newest,
                "stale",
                f"{seen}; schedule {schedule!r} expected one at {due:%Y-%m-%dT%H:%M:%SZ}",
            )
        )
    max_end: datetime | None = None
    for info in chain:
        period = info.predicate.get("period") or {}
        start, end = _parse_time(period.get("start")), _parse_time(period.get("end"))
        if start is None or end is None:
            continue
        if max_end is not None and start > max_end:
            out.append(
                (
                    info,
                    "period_gap",
                    f"period starts {start:%Y-%m-%dT%H:%M:%SZ}, previous ended {max_end:%Y-%m-%dT%H:%M:%SZ}",
                )
            )
        max_end = end if max_end is None else max(max_end, end)
    return out


def verify_job(
    store: Store,
    job: str,
    trust: Trust,
    *,
    schedule: str | None = None,
    now: datetime | None = None,
    retention_days: int | None = None,
) -> Report:
    """Every check of the spec for one job's reports/<job>/ tree."""
    report = Report()

    def fail(key: str, check: str, message: str) -> None:
        report.failures.append(Failure(store.uri(key), check, message))

    by_prefix: dict[str, list[str]] = {}
    for key in store.keys(f"reports/{job}/"):
        if key.startswith(chain_prefix(job)):
            continue
        m = BUNDLE_KEY_RE.match(key)
        if not m or m.group(2) != job:
            fail(key, "extra_object", "outside the bundle layout")
            continue
        by_prefix.setdefault(m.group(1), []).append(key)
    committed = []
    for prefix, keys in sorted(by_prefix.items()):
        if prefix + ENVELOPE_NAME in keys:
            committed.append((prefix, keys))
        else:
            report.incomplete.append(prefix)
    # Online: one versions listing for the whole job; bundles checked in parallel (I/O bound).
    versions = store.versions(f"reports/{job}/") if isinstance(store, S3Store) else None
    by_bundle: dict[str, dict[str, list[ObjectVersion]]] = {}
    for key, vs in (versions or {}).items():
        if m := BUNDLE_KEY_RE.match(key):
            by_bundle.setdefault(m.group(1), {})[key] = vs

    def one(item: tuple[str, list[str]]) -> tuple[BundleInfo, list[Failure]]:
        listing = by_bundle.get(item[0], {}) if versions is not None else None
        return verify_bundle(
            store, item[0], trust, retention_days=retention_days, keys=item[1], versions=listing
        )

    workers = 8 if isinstance(store, S3Store) else 1
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for info, failures in pool.map(one, committed):
            report.bundles.append(info)
            report.failures.extend(failures)
    _check_chain(store, job, report, fail)
    _check_claims(store, job, trust, report, fail, versions)
    if schedule:
        chain = [b for b in report.bundles if b.prefix in set(report.chain)]
        chain.sort(key=lambda b: report.chain.index(b.prefix))
        for info, check, message in check_schedule(
            chain, schedule, to_utc(now or datetime.now(UTC))
        ):
            obj = info.prefix + ENVELOPE_NAME if info else f"reports/{job}/"
            fail(obj, check, message)
    return report


def _check_chain(store: Store, job: str, report: Report, fail: Any) -> None:
    valid = [b for b in report.bundles if b.valid]
    by_digest = {b.digest: b for b in valid}
    children: dict[str | None, list[BundleInfo]] = {}
    for b in valid:
        prev = b.predicate.get("previous")
        if prev is None:
            children.setdefault(None, []).append(b)
            continue
        digest = (prev.get("digest") or {}).get("sha256") if isinstance(prev, dict) else None
        target = by_digest.get(digest)
        if target is None:
            fail(
                b.prefix + ENVELOPE_NAME,
                "chain_link",
                f"previous {prev.get('uri') if isinstance(prev, dict) else prev} is not a committed bundle with that digest",
            )
            continue
        if not str(prev.get("uri", "")).endswith("/" + target.prefix + ENVELOPE_NAME):
            fail(
                b.prefix + ENVELOPE_NAME,
                "chain_link",
                "previous uri does not match the bundle with that digest",
            )
        children.setdefault(digest, []).append(b)
    for parent, kids in children.items():
        if len(kids) > 1:
            what = "first bundles" if parent is None else f"bundles claim previous {parent[:16]}…"
            for b in sorted(kids, key=lambda k: k.prefix)[1:]:
                fail(b.prefix + ENVELOPE_NAME, "fork", f"{len(kids)} {what}")
    if not valid:
        return
    linked = {d for d in children if d is not None}

    def walk_back(start: BundleInfo) -> list[str]:
        walk, seen, cur = [], set(), start
        while cur is not None and cur.prefix not in seen:
            seen.add(cur.prefix)
            walk.append(cur.prefix)
            prev = cur.predicate.get("previous")
            digest = (prev.get("digest") or {}).get("sha256") if isinstance(prev, dict) else None
            cur = by_digest.get(digest)
        return walk

    # Tips: valid bundles nobody links to. The head is the tip with the longest chain;
    # every other tip is an orphan (a branch or a stranded segment).
    tips = [(walk_back(b), b) for b in valid if b.digest not in linked]
    walk, head = max(
        tips, key=lambda t: (len(t[0]), str(t[1].predicate.get("generated_at")), t[1].prefix)
    )
    for _, b in tips:
        if b is not head:
            fail(b.prefix + ENVELOPE_NAME, "orphan", "committed but not on the chain")
    report.chain = list(reversed(walk))


def _check_claims(
    store: Store,
    job: str,
    trust: Trust,
    report: Report,
    fail: Any,
    versions: dict[str, list[ObjectVersion]] | None,
) -> None:
    """Claims against envelopes (claims.py's rule) and tail truncation.

    Every valid bundle must be named by a claim that counts. A claim naming a committed
    bundle it does not agree with is reported (an earlier claim of the same run, left by a
    rerun past its fence, is not). A claim naming no committed envelope is an incomplete
    run when the run's files are there and no envelope version ever existed; otherwise
    the envelope is missing or delete-marked: truncation.
    """
    claims = _read_claims(store, job, fail, versions)
    if not claims:
        return
    bucket = store.bucket if isinstance(store, S3Store) else None
    valid = {b.prefix: b for b in report.bundles if b.valid}
    counted: dict[str, int] = {}
    for c in sorted(claims, key=lambda c: c.seq):
        b = valid.get(c.prefix)
        if b is None or b.envelope_bytes is None:
            continue
        when = _committed_at(versions, c.prefix + ENVELOPE_NAME)
        why = disagreement(c, b.envelope_bytes, trust, bucket, job, when)
        if why is None and c.prefix in counted:
            why = f"{c.prefix} is already link {counted[c.prefix]}"
        if why is None:
            counted[c.prefix] = c.seq
            continue
        seq = b.predicate.get("seq")
        if c.run_id == b.predicate.get("run_id") and isinstance(seq, int) and c.seq < seq:
            continue  # an earlier attempt of the same run (a rerun past its fence)
        fail(c.key, "claim", f"claim {c.seq} does not count: {why}")
    for prefix in sorted(valid):
        if prefix not in counted:
            fail(prefix + ENVELOPE_NAME, "claim", "no chain claim that counts names this bundle")
    committed = {b.prefix for b in report.bundles}
    for c in claims:
        if c.prefix in committed:
            continue
        problem = _missing(c, report, versions)
        if problem:
            fail(c.prefix + ENVELOPE_NAME, "truncation", f"chain claim {c.seq} {problem}")
            if c.prefix in report.incomplete:  # not a run in progress: a lost report
                report.incomplete.remove(c.prefix)
        elif c.prefix not in report.incomplete:
            report.incomplete.append(c.prefix)


def _committed_at(versions: dict[str, list[ObjectVersion]] | None, key: str) -> datetime | None:
    """LastModified of the key's first version (the committed one, which was read)."""
    real = [v for v in (versions or {}).get(key, []) if not v.is_delete_marker]
    return real[-1].last_modified if real else None


def _missing(c: Claim, report: Report, versions: dict[str, list[ObjectVersion]] | None) -> str:
    """Why the claimed envelope counts as lost ("" when the run is merely incomplete)."""
    if versions is None:  # offline: an incomplete run's files come with the download
        return "" if c.prefix in report.incomplete else "names a bundle that is not here"
    env_versions = versions.get(c.prefix + ENVELOPE_NAME, [])
    if any(v.is_delete_marker for v in env_versions):
        return "names this envelope; it is delete-marked"
    if env_versions:
        return "names this envelope; it is missing"
    if not any(k.startswith(c.prefix) for k in versions):
        return "names a bundle with no object"
    return ""
