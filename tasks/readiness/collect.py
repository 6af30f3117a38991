"""The latest VERIFIED bundle of every job (trusted keys only), and the runbook drills."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

JOB = "readiness"
# Why readiness takes no --team/--user: every criterion grades the organisation, not a group
# of people. The policy and its approval chain are central, runbooks and drills are the
# organisation's, and each job's bundle is one fleet-wide record whose counts are not per
# team (grading a team would mean re-reading every bundle's findings, and the maturity stage
# is an organisation's). Refused rather than silently ignored.
SCOPE_REFUSED = (
    "readiness grades the whole organisation (central policy, approval chain, runbook "
    "drills, each job's fleet-wide bundle): {opt} does not apply; run policy-drift or "
    "access-review with {opt} for one scope's findings"
)
# Besides the scheduled jobs: the policy chain is evidence too. The drills are as well, but
# load_drills verifies every drill bundle already: they are not verified a second time here.
OTHER_EVIDENCE = ("policy", "policy-change")
DRILL_JOB = "runbook-drill"


def refuse_scope(team: str | None, user: str | None) -> None:
    """One line (InputError) when --team or --user is given; nothing otherwise."""
    from tasks.common.errors import InputError

    given = [f"--{n}" for n, v in (("team", team), ("user", user)) if v]
    if given:
        raise InputError(SCOPE_REFUSED.format(opt="/".join(given)))


@dataclass
class Latest:
    job: str
    uri: str
    generated_at: datetime
    status: str
    counts: dict[str, int]
    sha256: str | None = None  # of the envelope that verified


@dataclass
class Inputs:
    now: datetime
    schedules: dict[str, list[str]]  # job -> its crons (what "inside its schedule" means)
    latest: dict[str, Latest] = field(default_factory=dict)
    rejected: list[str] = field(default_factory=list)  # newer bundles that did not verify
    runbooks: list[str] = field(default_factory=list)
    undrilled: list[str] = field(default_factory=list)  # runbook ids without a recent passing drill
    drills: list[str] = field(default_factory=list)  # drill bundle URIs that verified


def latest_verified(
    client: Any, bucket: str, job: str, trust: Any
) -> tuple[Latest | None, list[str]]:
    """Newest first, the first bundle that verifies; every newer one that did not, as a line."""
    from tasks.common.storage import S3Store
    from tasks.evidence.bundles import iter_bundles
    from tasks.evidence.verify import verify_bundle

    store, rejected = S3Store(client, bucket), []
    refs = sorted(iter_bundles(client, bucket, job=job), key=lambda r: r.run_id, reverse=True)
    for ref in refs:
        info, failures = verify_bundle(store, ref.prefix, trust)
        uri = ref.envelope_uri(bucket)
        if failures:
            rejected.append(f"{uri}: does not verify ({failures[0].check}), not counted")
            continue
        p = info.predicate
        try:
            when = datetime.fromisoformat(str(p["generated_at"]).replace("Z", "+00:00"))
        except (KeyError, ValueError):
            rejected.append(f"{uri}: no generated_at, not counted")
            continue
        counts = {k: v for k, v in (p.get("counts") or {}).items() if isinstance(v, int)}
        return Latest(job, uri, when, str(p.get("status")), counts, info.digest), rejected
    return None, rejected


def collect(client: Any, bucket: str, trust: Any, schedules: dict[str, list[str]],
            now: datetime, anchors: Any) -> Inputs:  # fmt: skip
    from tasks.runbooks.catalog import load_runbooks
    from tasks.runbooks.drills import load_drills, undrilled

    inputs = Inputs(now=now, schedules=schedules)
    for job in [*schedules, *OTHER_EVIDENCE]:
        got, rejected = latest_verified(client, bucket, job, trust)
        inputs.rejected += rejected
        if got:
            inputs.latest[job] = got
    books = load_runbooks()
    drills, problems = load_drills(client, bucket, anchors)
    inputs.rejected += problems
    inputs.runbooks = sorted(books)
    inputs.drills = sorted(d["bundle"] for d in drills)
    if drills:  # the newest drill stands in the inputs manifest like every job's latest bundle
        d = max(drills, key=lambda r: r["run_id"])
        when = datetime.fromisoformat(d["drilled_at"])
        inputs.latest[DRILL_JOB] = Latest(DRILL_JOB, d["bundle"], when, d["result"],
                                          {"drills": len(drills)}, d["sha256"])  # fmt: skip
    inputs.undrilled = sorted(f.resource.split("/", 1)[1] for f in undrilled(books, drills, now))
    return inputs
