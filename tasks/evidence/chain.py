"""One hash chain per job, claimed link by link so concurrent publishers never fork it.

Protocol (writer side)
----------------------
Claims live at ``reports/<job>/_chain/<seq:012d>``. A claim is a small JSON record
``{"seq", "job", "run_id", "prefix", "previous", "claim_id"}``: "the bundle at `prefix`
will be link `seq`, and its statement's `previous` is exactly `previous`". The statement
then carries the same `seq` and `previous`, signed.

Claims are hints, not authority: anyone holding the writer role can put one (claims.py
says when one counts). Only canonical keys (12 digits) are claims, compared as numbers.

1. Find the base: walk the claims from the highest seq down.
   * a claim that counts (its envelope verifies under a key the writer trusts — its own
     signing key plus any it was given — and agrees on seq and previous): the base.
     previous = that envelope (uri + SHA-256 of its committed bytes: the oldest version
     when the latest is missing or does not verify), next seq = the smallest free seq
     above it;
   * a claim whose envelope exists but does not count (forged, another key, another
     link, a copy of an old claim): ignored, as is an unreadable record;
   * a claim without an envelope, younger than the lease (server clock: claim
     LastModified vs the Date header of the listing), naming a prefix of the job's layout
     that holds files (a publisher writes its files before its claim): a publisher is
     between claim and commit; wait (poll, jittered) until it commits or its lease runs
     out. A claim naming anything else is nobody's run: ignored at once;
   * a claim without an envelope, older than the lease: the claimer crashed; walk on
     down. The link past it takes its `previous` from the claim that counts below, never
     from the dead claim (whose record nobody signed). The dead run stays an incomplete
     folder, never a report;
   * our own run (a rerun with the same run_id and prefix) still inside the fence: adopt it.
2. Write the claim with ``IfNoneMatch="*"`` (plus Object Lock, like every object).
3. Read the claim key back with ListObjectVersions: the *earliest* version wins. On AWS and
   moto the loser already got 412 and simply reads the winner; on Ceph RGW, which ignores
   IfNoneMatch on versioned buckets, the loser's write became a later version of the same
   key, so the read-back is what decides. A loser backs off (jittered, doubling) and
   starts again at 1, at most ``max_races`` times, then fails with one StorageError line;
   it never spins. Readers of claims always take the earliest version of a claim key;
   extra versions of a *claim* key are expected race residue, not tampering. Where the
   endpoint is known to enforce IfNoneMatch (probed once, see enforces_if_none_match) a
   key has one version, a 200 means we won and a 412 means we read the winner, so the
   writer lists with ListObjectsV2 and falls back to the earliest version only when the
   latest one does not count (somebody put a later version over it).
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
   its own claim; a rerun of a run that did commit returns the committed bundle. The
   same bound is all a planted claim naming a fresh prefix with planted files can cost
   (it looks like a live publisher); any other planted claim costs nothing.

Verifier consistency (verify_chain): a claim without an envelope is an incomplete run
when its bundle's files are there and no envelope version ever existed; when the envelope
is missing or delete-marked it is tail truncation, a failure. A committed bundle must be
named by a claim that counts; a claim that does not count, or a non-canonical key under
``_chain/``, is reported. Forks and orphans are judged on committed envelopes only, so
links past dead claims are neither.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from tasks.common.errors import StorageError
from tasks.common.storage import error_code, is_not_found, is_precondition_failed

from .claims import (
    CLAIM_BODIES,
    MAX_SEQ,
    Claim,
    capped_get,
    chain_prefix,
    claim_key,
    claim_seq,
    disagreement,
    envelope_uri,
    key_versions,
    list_claim_keys,
    list_claim_versions,
    parse_claim,
    read_latest,
    read_winner,
    remember,
)
from .dsse import ENVELOPE_NAME, MAX_ENVELOPE_BYTES, sha256_hex
from .verify import BUNDLE_KEY_RE, Trust

__all__ = ["Claim", "ChainPolicy", "ClaimResult", "chain_prefix", "claim_key", "claim_next"]
__all__ += ["envelope_uri", "parse_claim", "read_envelope", "read_winner", "remember_commit"]


@dataclass(frozen=True)
class ChainPolicy:
    lease_seconds: float = 900.0
    fence_seconds: float = 300.0
    poll_initial: float = 0.05
    poll_max: float = 0.25
    max_wait_seconds: float | None = None  # default: lease + 60 s
    max_races: int = 8  # claim PUTs lost in a row before giving up (one line)


@dataclass
class ClaimResult:
    claim: Claim
    started: float  # time.monotonic() before the claim PUT was sent (fence origin)
    adopted: bool = False


# Committed envelopes are immutable: cache what we read or wrote.
_ENFORCES: dict[tuple[str, str], bool] = {}
PROBE_PREFIX = "reports/_probe/"
PROBE_KEY = PROBE_PREFIX + "if-none-match"
# (bucket, prefix) -> (seq, link, keys) of envelopes that counted (verified under `keys`,
# agreed with their claim): reused only by a writer that trusts all those keys.
_ENVELOPE_LINKS: dict[tuple[str, str], tuple[int, dict[str, Any], frozenset[str]]] = {}


def enforces_if_none_match(client: Any, bucket: str, put: Any) -> bool:
    """Does this endpoint refuse a second IfNoneMatch PUT in this (versioned) bucket?

    AWS and moto do; Ceph RGW does not. Probed once per process and bucket with at most
    two writes of one tiny object, always the same key (PROBE_KEY, outside every job):
    where the rule is enforced and an earlier process made the object, the first write
    is refused at once, so the bucket holds one probe object whatever the number of
    runs. Where it is enforced a claim key has exactly one version (unless somebody puts
    one without the condition), so the writer can skip ListObjectVersions (which moto
    answers in time and memory proportional to the whole bucket).
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


def read_envelope(
    client: Any, bucket: str, prefix: str, version_id: str | None = None
) -> bytes | None:
    extra = {"VersionId": version_id} if version_id else {}
    try:  # capped: a planted multi-GB "envelope" is never downloaded (over the cap = not one)
        return capped_get(client, MAX_ENVELOPE_BYTES, Bucket=bucket, Key=prefix + ENVELOPE_NAME, **extra)  # fmt: skip
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


def remember_commit(
    bucket: str, prefix: str, envelope: bytes, seq: int | None, keys: frozenset[str]
) -> None:
    if seq is not None:
        link = link_to(bucket, prefix, envelope)
        remember(_ENVELOPE_LINKS, (bucket, prefix), (seq, link, keys))


@dataclass
class _Chain:
    """What one walk down the claims found (see step 1 of the module docstring)."""

    client: Any
    bucket: str
    job: str
    trust: Trust
    enforced: bool

    def committed_link(self, claim: Claim, look_back: bool) -> tuple[str, dict[str, Any] | None]:
        """("counts", link) | ("none", None): no envelope | ("bad", None): one, not counting.

        The committed envelope is the oldest version: a later version (or a delete marker)
        over it is looked past, when the latest does not count or, for an old claim
        (look_back), when there is no latest at all.
        """
        cached = _ENVELOPE_LINKS.get((self.bucket, claim.prefix))
        if cached and cached[0] == claim.seq and cached[2] <= self.trust.keys.keys():
            return "counts", cached[1]
        body = read_envelope(self.client, self.bucket, claim.prefix)
        if body is not None and self._counts(claim, body, lambda: self.committed_at(claim)):
            return "counts", link_to(self.bucket, claim.prefix, body)
        if body is None and not look_back:
            return "none", None
        versions = key_versions(self.client, self.bucket, claim.prefix + ENVELOPE_NAME)
        if not versions:
            return ("none", None) if body is None else ("bad", None)
        oldest = read_envelope(self.client, self.bucket, claim.prefix, versions[-1]["VersionId"])
        when = versions[-1].get("LastModified")
        if oldest is not None and oldest != body and self._counts(claim, oldest, when):
            return "counts", link_to(self.bucket, claim.prefix, oldest)
        return "bad", None

    def committed_at(self, claim: Claim) -> datetime | None:
        """LastModified of the envelope's first (committed) version: a claim is tied to it."""
        versions = key_versions(self.client, self.bucket, claim.prefix + ENVELOPE_NAME)
        return versions[-1].get("LastModified") if versions else None

    def _counts(self, claim: Claim, envelope: bytes, modified: Any) -> bool:
        why = disagreement(claim, envelope, self.trust, self.bucket, self.job, modified)
        if why is not None:
            return False
        remember_commit(self.bucket, claim.prefix, envelope, claim.seq, frozenset(self.trust.keys))
        return True

    def reading(self, key: str, entry: Any) -> Claim | None:
        """The claim at key (latest where IfNoneMatch holds, else the earliest version)."""
        try:
            if self.enforced:
                return read_latest(self.client, self.bucket, key, entry)
            return read_winner(self.client, self.bucket, key, entry)
        except (ValueError, ClientError):
            return None

    def may_be_live(self, claim: Claim) -> bool:
        """A publisher writes its files before its claim: a claim naming a prefix outside
        the job's layout, or one holding nothing, is nobody's run in progress."""
        m = BUNDLE_KEY_RE.match(claim.prefix + ENVELOPE_NAME)
        if not m or m.group(1) != claim.prefix or m.group(2) != self.job:
            return False
        resp = self.client.list_objects_v2(Bucket=self.bucket, Prefix=claim.prefix, MaxKeys=1)
        return bool(resp.get("Contents"))

    def earliest(self, key: str) -> Claim | None:
        versions = key_versions(self.client, self.bucket, key)
        if len(versions) < 2:
            return None
        try:
            return read_winner(self.client, self.bucket, key, versions)
        except (ValueError, ClientError):
            return None


@dataclass
class _Base:
    action: str  # "link" (claim seq with previous), "wait" or "adopt" (claim)
    seq: int = 0
    previous: dict[str, Any] | None = None
    claim: Claim | None = None
    age: float = 0.0


_HINTS: dict[tuple[str, str], int] = {}  # (bucket, job) -> seq of the last base found


def _find_base(
    chain: _Chain, run_id: str, prefix: str, policy: ChainPolicy, use_hint: bool = True
) -> _Base:
    hint = _HINTS.get((chain.bucket, chain.job)) if use_hint else None
    marker = claim_key(chain.job, hint - 1) if hint else None
    lister = list_claim_keys if chain.enforced else list_claim_versions
    found, now = lister(chain.client, chain.bucket, chain.job, marker)
    entries = sorted(
        ((s, k) for k in found if (s := claim_seq(chain.job, k)) is not None), reverse=True
    )
    occupied = {s for s, _ in entries}
    floor, previous = -1, None
    for seq, key in entries:
        base = _judge(chain, chain.reading(key, found[key]), now, run_id, prefix, policy)
        if base is None and chain.enforced:  # a later version over a claim: read the first
            base = _judge(chain, chain.earliest(key), now, run_id, prefix, policy)
        if base is None:
            continue
        if base.action != "link":
            return base
        floor, previous = seq, base.previous
        break
    else:
        if marker:  # nothing above the hint counted: look at the whole chain
            return _find_base(chain, run_id, prefix, policy, use_hint=False)
    _HINTS[(chain.bucket, chain.job)] = max(floor, 0)
    nxt = floor + 1
    while nxt in occupied:
        nxt += 1
    if nxt > MAX_SEQ:
        raise StorageError(f"{chain.job}: chain claims are exhausted (seq {nxt})")
    return _Base("link", nxt, previous)


def _judge(
    chain: _Chain, claim: Claim | None, now: datetime, run_id: str, prefix: str, policy: ChainPolicy
) -> _Base | None:
    """The base this claim makes (link after it, wait for it, adopt it), or None: ignore."""
    if claim is None:
        return None
    age = (now - claim.last_modified).total_seconds() if claim.last_modified else 0.0
    status, link = chain.committed_link(claim, look_back=age >= policy.lease_seconds)
    if status == "counts":
        return _Base("link", previous=link, claim=claim)
    if status == "bad":
        return None
    if claim.prefix == prefix and claim.run_id == run_id and age < policy.fence_seconds:
        return _Base("adopt", claim=claim, age=age)  # our own earlier claim (a rerun)
    if age < policy.lease_seconds and chain.may_be_live(claim):
        return _Base("wait", claim=claim, age=age)
    return None  # dead, or never a publisher's: linked past, lending nothing


def claim_next(
    client: Any,
    bucket: str,
    job: str,
    run_id: str,
    prefix: str,
    put: Any,
    policy: ChainPolicy,
    trust: Trust | None = None,
) -> ClaimResult:
    """Claim the next link of the job's chain for the bundle at `prefix` (see docstring).

    `put(key, body)` writes one locked object with IfNoneMatch="*" and lets a 412 ClientError
    through; the caller owns retention settings. `trust`: the keys whose envelopes make a
    claim count (the writer's own signing key at least; none = no earlier link counts).
    """
    claim_id = uuid.uuid4().hex
    max_wait = policy.max_wait_seconds or policy.lease_seconds + 60
    waited_since: float | None = None
    delay = policy.poll_initial
    races = 0
    enforced = enforces_if_none_match(client, bucket, put)
    chain = _Chain(client, bucket, job, trust or Trust(), enforced)
    while True:
        base = _find_base(chain, run_id, prefix, policy)
        if base.action == "adopt" and base.claim is not None:
            return ClaimResult(base.claim, time.monotonic() - max(base.age, 0.0), adopted=True)
        if base.action == "wait" and base.claim is not None:
            waited_since = waited_since or time.monotonic()
            if time.monotonic() - waited_since > max_wait:
                raise StorageError(
                    f"{job}: chain held by claim {base.claim.seq} (run {base.claim.run_id[:64]!r}); retry later"
                )
            time.sleep(delay * (0.5 + random.random()))
            delay = min(policy.poll_max, delay * 2)
            continue
        seq = base.seq
        key = claim_key(job, seq)
        record = {
            "seq": seq,
            "job": job,
            "run_id": run_id,
            "prefix": prefix,
            "previous": base.previous,
            "claim_id": claim_id,
        }
        started = time.monotonic()
        body = json.dumps(record, sort_keys=True).encode()
        created = _put_claim(client, bucket, key, body, put)
        if enforced:  # one version per key: a 200 means we won, a 412 means someone did
            if created:
                remember(CLAIM_BODIES, (bucket, key, ""), body)
                return ClaimResult(parse_claim(key, body), started)
            try:  # someone else's claim may be garbage: that is a lost race, not a crash
                theirs = read_latest(client, bucket, key)
            except ValueError:
                theirs = None
            if theirs is not None and theirs.claim_id == claim_id:  # our retried PUT
                return ClaimResult(theirs, started)
        else:
            mine = key_versions(client, bucket, key)
            if not mine:
                raise StorageError(f"s3://{bucket}/{key}: claim not visible after write")
            # Our PUT succeeded and it is the only version: it is ours, no need to read it back.
            try:
                winner = read_winner(
                    client, bucket, key, mine, body if created and len(mine) == 1 else None
                )
            except ValueError:
                winner = None
            if winner is not None and winner.claim_id == claim_id:
                return ClaimResult(winner, started)
        # Lost the race for this link: back off (jittered, doubling), then look again.
        races += 1
        if races >= policy.max_races:
            raise StorageError(
                f"{job}: lost the race for a chain link {races} times in a row; retry later"
            )
        time.sleep(
            random.uniform(0.5, 1.0) * min(policy.poll_max * 4, policy.poll_initial * 2**races)
        )
