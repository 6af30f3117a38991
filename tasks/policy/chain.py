"""The policy approval chain, every step its own signed, chained, Object-Locked bundle.

- propose: reports/policy-change/… with record.json (who, why, expiry, the version it is
  based on), policy.json (the proposal, canonical JSON) and diff.txt (against that version).
  Its id is the bundle's run id.
- approve / reject: reports/policy-change/… with record.json naming the proposal and the
  digest of its envelope (and the proposal's envelope among the statement's inputs).
- apply: reports/policy/… version N: policy.json and record.json linking the proposal and
  every approval that counted; the evidence chain links it to version N-1.

Rules: approvers are `policy.approvers`; the proposer never approves their own change;
`policy.required_approvals` distinct approvers besides the proposer; a rejection closes the
proposal; a proposal expires `policy.proposal_expiry_days` after it was made; apply is
refused until approved, and refused when another version was applied since the proposal was
made (its diff would be stale). The state is rebuilt from bundles that verify against the
trusted keys — nothing else in the bucket counts.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tasks.common.errors import ComplianceError, InputError
from tasks.common.ids import new_run_id
from tasks.common.models import Period
from tasks.policy.config import USER_PATTERN, PolicyConfig
from tasks.policy.schema import validate_policy

CHANGE_JOB = "policy-change"
POLICY_JOB = "policy"


class PolicyRefused(ComplianceError):
    """A step the rules do not allow (one line, non-zero exit)."""


def canonical(doc: dict[str, Any]) -> bytes:
    return (json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def parse_policy_file(data: bytes, source: str) -> dict[str, Any]:
    """A policy file: JSON or YAML, a mapping. One line naming the file when it is not."""
    import yaml

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{source}: not UTF-8") from None
    try:
        doc = json.loads(text)
    except ValueError:
        try:
            doc = yaml.safe_load(text)
        except yaml.YAMLError:
            raise InputError(f"{source}: neither JSON nor YAML") from None
    if not isinstance(doc, dict) or not doc:
        raise InputError(f"{source}: a policy must be a non-empty mapping")
    validate_policy(doc, source)  # tasks/policy/schema.py: one line per problem
    return doc


@dataclass
class Proposal:
    id: str
    by: str
    reason: str
    created_at: datetime
    expires_at: datetime
    base_version: int
    policy: dict[str, Any]
    bundle: str
    envelope_sha256: str
    # approver -> {"bundle": envelope URI, "sha256": envelope digest}
    approvals: dict[str, dict[str, str]] = field(default_factory=dict)
    rejections: dict[str, dict[str, str]] = field(default_factory=dict)
    applied_version: int | None = None

    def counted(self, cfg: PolicyConfig) -> list[str]:
        return sorted(a for a in self.approvals if a in cfg.approvers and a != self.by)

    def status(self, cfg: PolicyConfig, now: datetime) -> str:
        if self.applied_version is not None:
            return "applied"
        if self.rejections:
            return "rejected"
        if now > self.expires_at:
            return "expired"
        return "approved" if len(self.counted(cfg)) >= cfg.required_approvals else "pending"


@dataclass
class History:
    proposals: dict[str, Proposal] = field(default_factory=dict)
    versions: list[dict[str, Any]] = field(default_factory=list)  # applied records, oldest first
    problems: list[str] = field(default_factory=list)

    @property
    def current(self) -> dict[str, Any] | None:
        return self.versions[-1] if self.versions else None

    @property
    def version(self) -> int:
        return self.current["version"] if self.current else 0


def _verified_records(client: Any, bucket: str, job: str, trust: Any, hist: History):
    from tasks.common.storage import S3Store
    from tasks.evidence.bundles import iter_bundles
    from tasks.evidence.verify import verify_bundle

    store = S3Store(client, bucket)
    for ref in iter_bundles(client, bucket, job=job):
        uri = ref.envelope_uri(bucket)
        info, failures = verify_bundle(store, ref.prefix, trust)
        if failures:
            hist.problems.append(f"{uri}: does not verify ({failures[0].check}), ignored")
            continue
        try:
            record = json.loads(store.read(ref.prefix + "record.json") or b"")
            policy = store.read(ref.prefix + "policy.json")
            doc = json.loads(policy) if policy else None
        except ValueError:
            hist.problems.append(f"{uri}: record.json unreadable, ignored")
            continue
        yield ref, uri, sha256(info.envelope_bytes or b""), record, doc


def applied_versions(client: Any, bucket: str, trust: Any, hist: History | None = None) -> History:
    """Only the applied versions (what is approved, and what policy-drift needs): the
    proposals and approvals behind them were verified when each version was applied."""
    hist = hist if hist is not None else History()
    for _, uri, _, rec, doc in _verified_records(client, bucket, POLICY_JOB, trust, hist):
        if rec.get("type") == "applied" and isinstance(doc, dict):
            hist.versions.append(rec | {"bundle": uri, "policy": doc})
    hist.versions.sort(key=lambda r: r["version"])
    return hist


def load_history(client: Any, bucket: str, trust: Any) -> History:
    hist = History()
    pending: list[tuple[str, str, dict[str, Any]]] = []
    for ref, uri, env_sha, rec, doc in _verified_records(client, bucket, CHANGE_JOB, trust, hist):
        if rec.get("type") == "proposal" and isinstance(doc, dict):
            hist.proposals[ref.run_id] = Proposal(
                ref.run_id, rec["by"], rec["reason"], datetime.fromisoformat(rec["created_at"]),
                datetime.fromisoformat(rec["expires_at"]), int(rec["base_version"]), doc, uri,
                env_sha,
            )  # fmt: skip
        elif rec.get("type") in ("approval", "rejection"):
            pending.append((uri, env_sha, rec))
    for uri, env_sha, rec in pending:
        p = hist.proposals.get(rec.get("proposal"))
        if p is None or rec.get("proposal_sha256") != p.envelope_sha256:
            hist.problems.append(f"{uri}: names no verified proposal, ignored")
            continue
        marks = p.approvals if rec["type"] == "approval" else p.rejections
        marks.setdefault(rec["by"], {"bundle": uri, "sha256": env_sha})
    applied_versions(client, bucket, trust, hist)
    for v in hist.versions:
        if v.get("proposal") in hist.proposals:
            hist.proposals[v["proposal"]].applied_version = v["version"]
    return hist


def _report(job: str, run_id: str, now: datetime, summary: dict[str, Any]) -> bytes:
    from tasks.reports import build_report, report_json_bytes

    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    period = Period(start=day, end=day + timedelta(days=1))
    return report_json_bytes(build_report(job, run_id, period, now, "pass", summary, []))


def _publish(ctx: Any, job: str, files: dict[str, bytes], counts: dict[str, int],
             inputs: list[dict[str, Any]], now: datetime, summary: dict[str, Any]) -> Any:  # fmt: skip
    from tasks.evidence import publish_bundle

    run_id = new_run_id(now)
    files = {**files, "report.json": _report(job, run_id, now, summary)}
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return publish_bundle(
        ctx.client, ctx.bucket, job, files, signer=ctx.signer,
        period=Period(start=day, end=day + timedelta(days=1)), status="pass", counts=counts,
        inputs=inputs, retention_days=ctx.retention_days, run_id=run_id, generated_at=now,
        trust=ctx.trust,  # the chain links across key rotations the trusted keys signed
    )  # fmt: skip


@dataclass
class Ctx:
    """Where the chain lives and who signs: the reports bucket, the signer, the trusted keys."""

    client: Any
    bucket: str
    signer: Any
    trust: Any
    retention_days: int
    cfg: PolicyConfig
    active_users: set[str] | None = None  # the roster's active users; None: not checked


def _in_roster(ctx: Ctx, by: str) -> None:
    if ctx.active_users is not None and by not in ctx.active_users:
        raise PolicyRefused(f"{by} is not an active user in the roster")


def _user(name: str, flag: str = "--by") -> str:
    if not re.match(USER_PATTERN, name or ""):
        raise InputError(f"{flag} {name!r}: not a user name")
    return name


def propose(ctx: Ctx, doc: dict[str, Any], by: str, reason: str, now: datetime | None = None):
    """Publish a proposal; returns (proposal id, bundle URI)."""
    now = now or datetime.now(UTC)
    _user(by)
    _in_roster(ctx, by)
    if not (reason or "").strip():
        raise InputError("--reason: say why the policy changes")
    validate_policy(doc, "the proposal")
    hist = load_history(ctx.client, ctx.bucket, ctx.trust)
    current = hist.current["policy"] if hist.current else None
    new = canonical(doc)
    if current is not None and canonical(current) == new:
        raise PolicyRefused(f"the proposal is identical to the approved version {hist.version}")
    old_lines = canonical(current).decode().splitlines(True) if current is not None else []
    diff = "".join(difflib.unified_diff(old_lines, new.decode().splitlines(True),
                                        f"approved/v{hist.version}", "proposed"))  # fmt: skip
    record = {
        "type": "proposal", "by": by, "reason": reason.strip()[:2000],
        "created_at": now.isoformat(),
        "expires_at": (now + timedelta(days=ctx.cfg.proposal_expiry_days)).isoformat(),
        "base_version": hist.version, "base_sha256": sha256(canonical(current)) if current else None,
        "policy_sha256": sha256(new),
    }  # fmt: skip
    files = {"record.json": canonical(record), "policy.json": new, "diff.txt": diff.encode()}
    published = _publish(ctx, CHANGE_JOB, files, {"proposals": 1}, [], now,
                         {"type": "proposal", "by": by, "base_version": hist.version})  # fmt: skip
    return published.run_id, published.envelope_uri


def _find(hist: History, proposal_id: str) -> Proposal:
    p = hist.proposals.get(proposal_id)
    if p is None:
        raise PolicyRefused(f"{proposal_id}: no verified proposal with this id")
    return p


def _decide(ctx: Ctx, kind: str, proposal_id: str, by: str, now: datetime | None) -> str:
    now = now or datetime.now(UTC)
    _user(by)
    hist = load_history(ctx.client, ctx.bucket, ctx.trust)
    p = _find(hist, proposal_id)
    if kind == "approval" and by == p.by:
        raise PolicyRefused(f"{by} proposed {proposal_id} and cannot approve their own change")
    if by not in ctx.cfg.approvers and not (kind == "rejection" and by == p.by):
        raise PolicyRefused(f"{by} is not in policy.approvers")
    _in_roster(ctx, by)
    status = p.status(ctx.cfg, now)
    if status not in ("pending", "approved"):
        raise PolicyRefused(f"{proposal_id} is {status}")
    if by in (p.approvals if kind == "approval" else p.rejections):
        done = "approved" if kind == "approval" else "rejected"
        raise PolicyRefused(f"{by} already {done} {proposal_id}")
    record = {"type": kind, "proposal": p.id, "proposal_bundle": p.bundle,
              "proposal_sha256": p.envelope_sha256, "by": by, "at": now.isoformat()}  # fmt: skip
    link = [{"uri": p.bundle, "digest": {"sha256": p.envelope_sha256}}]
    published = _publish(ctx, CHANGE_JOB, {"record.json": canonical(record)}, {kind + "s": 1},
                         link, now, {"type": kind, "proposal": p.id, "by": by})  # fmt: skip
    return published.envelope_uri


def approve(ctx: Ctx, proposal_id: str, by: str, now: datetime | None = None) -> str:
    return _decide(ctx, "approval", proposal_id, by, now)


def reject(ctx: Ctx, proposal_id: str, by: str, now: datetime | None = None) -> str:
    return _decide(ctx, "rejection", proposal_id, by, now)


def apply(ctx: Ctx, proposal_id: str, now: datetime | None = None):
    """Publish the approved version; returns (bundle URI, version, the policy document)."""
    now = now or datetime.now(UTC)
    hist = load_history(ctx.client, ctx.bucket, ctx.trust)
    p = _find(hist, proposal_id)
    status = p.status(ctx.cfg, now)
    if status != "approved":
        have, need = len(p.counted(ctx.cfg)), ctx.cfg.required_approvals
        extra = f" ({have} of {need} approvals)" if status == "pending" else ""
        raise PolicyRefused(f"{proposal_id} is {status}{extra}: not applied")
    if p.base_version != hist.version:
        raise PolicyRefused(
            f"{proposal_id} was based on version {p.base_version} but version {hist.version} is "
            "in effect: propose again against it"
        )
    version = hist.version + 1
    approvals = [{"by": a, **p.approvals[a]} for a in p.counted(ctx.cfg)]
    body = canonical(p.policy)
    record = {
        "type": "applied", "version": version, "proposal": p.id, "proposal_bundle": p.bundle,
        "proposed_by": p.by, "reason": p.reason, "approvals": approvals,
        "policy_sha256": sha256(body), "applied_at": now.isoformat(),
        "previous_version": hist.version or None,
        "previous_sha256": hist.current["policy_sha256"] if hist.current else None,
    }  # fmt: skip
    links = [{"uri": p.bundle, "digest": {"sha256": p.envelope_sha256}}]
    links += [{"uri": a["bundle"], "digest": {"sha256": a["sha256"]}} for a in approvals]
    published = _publish(ctx, POLICY_JOB, {"record.json": canonical(record), "policy.json": body},
                         {"version": version, "approvals": len(approvals)}, links, now,
                         {"type": "applied", "version": version, "proposal": p.id})  # fmt: skip
    return published.envelope_uri, version, p.policy
