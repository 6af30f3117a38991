"""Verification of a job's whole chain (spec check 3) on top of per-bundle checks.

Chain rules, consistent with the claim protocol in chain.py:
* chain_link: a bundle's `previous` must name (uri and SHA-256) a committed, valid bundle;
* fork: two valid bundles with the same `previous` (or two first bundles);
* orphan: a valid bundle that is neither the newest nor anybody's `previous`;
* claim: every valid bundle is named by a claim whose `previous` equals its statement's
  (checked when the job has claims); claims without an envelope are incomplete runs,
  reported but not failures (a crashed publisher that others linked past);
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

from .chain import chain_prefix, parse_claim, read_winner
from .dsse import ENVELOPE_NAME
from .store import S3Store, Store
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


def _read_claims(store: Store, job: str, fail: Any) -> list[Any]:
    keys = list(store.keys(chain_prefix(job)))
    versions = store.versions(chain_prefix(job)) if isinstance(store, S3Store) else {}

    def one(key: str) -> Any:
        try:
            if isinstance(store, S3Store):
                vs = [
                    {"VersionId": v.version_id, "LastModified": v.last_modified}
                    for v in versions.get(key, [])
                    if not v.is_delete_marker
                ]
                return read_winner(store.client, store.bucket, key, vs)
            return parse_claim(key, store.read(key) or b"")
        except (ValueError, KeyError, TypeError, IndexError):
            return key

    workers = 8 if isinstance(store, S3Store) else 1
    claims = []
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for key, claim in zip(keys, pool.map(one, keys), strict=True):
            if isinstance(claim, str):
                fail(key, "claim", "not a valid chain claim")
            else:
                claims.append(claim)
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

    def one(item: tuple[str, list[str]]) -> tuple[BundleInfo, list[Failure]]:
        return verify_bundle(
            store, item[0], trust, retention_days=retention_days, keys=item[1], versions=versions
        )

    workers = 8 if isinstance(store, S3Store) else 1
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for info, failures in pool.map(one, committed):
            report.bundles.append(info)
            report.failures.extend(failures)
    _check_chain(store, job, report, fail)
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
    claims = _read_claims(store, job, fail)
    if not claims:
        return
    committed = {b.prefix for b in report.bundles}
    for b in valid:
        mine = [c for c in claims if c.prefix == b.prefix]
        if not mine:
            fail(b.prefix + ENVELOPE_NAME, "claim", "no chain claim names this bundle")
        elif not any(c.previous == b.predicate.get("previous") for c in mine):
            fail(
                b.prefix + ENVELOPE_NAME, "claim", "no claim for this bundle has its previous link"
            )
    for c in claims:
        if c.prefix not in committed and c.prefix not in report.incomplete:
            report.incomplete.append(c.prefix)
