"""Review items, counted on the real client (moto over HTTP): policy-drift lists raw/roo/
once and names every settings file it read in its inputs; it verifies only the applied
policy versions, not the proposals and approvals behind them; readiness verifies each
bundle once (drills included)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from tasks.common.models import Period
from tasks.common.s3 import s3_client
from tasks.evidence.verify import Trust
from tasks.policy.chain import sha256
from tasks.policy_drift.collect import collect
from tasks.policy_drift.config import PolicyDriftConfig
from tests.governance.test_policy_drift import fleet  # noqa: F401  (the fixture)
from tests.governance.test_readiness import _complete_run, env  # noqa: F401


def _spy_verify(monkeypatch):
    """Count verify_bundle per bundle prefix (the real function still runs)."""
    import tasks.evidence.verify as verify

    calls, real = Counter(), verify.verify_bundle

    def counted(store, prefix, *a, **k):
        calls[prefix] += 1
        return real(store, prefix, *a, **k)

    monkeypatch.setattr(verify, "verify_bundle", counted)
    return calls


def _listings(client):
    prefixes = []
    client.meta.events.register(
        "before-parameter-build.s3.ListObjectsV2",
        lambda params, **_: prefixes.append(params.get("Prefix", "")),
    )
    return prefixes


def test_policy_drift_lists_settings_once_and_names_them_in_its_inputs(fleet, monkeypatch):  # noqa: F811
    settings, _, _ = fleet
    client = s3_client(settings)
    prefixes, verified = _listings(client), _spy_verify(monkeypatch)
    from tasks.evidence import load_signer

    trust = Trust.from_pems([("k", load_signer(settings.signing_key).public_pem)])
    period = Period(start=datetime(2026, 11, 1, tzinfo=UTC), end=datetime(2026, 11, 3, tzinfo=UTC))
    inputs = collect(client, settings.data_bucket, settings.reports_bucket, trust, period,
                     PolicyDriftConfig(), lambda s: s)  # fmt: skip
    raw = [p for p in prefixes if p.startswith("raw/roo/")]
    assert raw == ["raw/roo/"]  # was once more per user (raw/roo/<user>/settings/)
    assert len(inputs.settings) >= 3
    named = {i["uri"]: i["digest"]["sha256"] for i in inputs.inputs}
    files = [f"raw/roo/{u}/settings/{f}" for u in inputs.settings
             for f in ("roo-code-settings.json", "mcp_settings.json")]  # fmt: skip
    for key in files:
        body = client.get_object(Bucket=settings.data_bucket, Key=key)["Body"].read()
        assert named[f"s3://{settings.data_bucket}/{key}"] == sha256(body)
        assert f"s3://{settings.data_bucket}/{key}" in inputs.settings_seen
    # only the applied version is verified: the proposal and approval are not read at all
    assert [p for p in verified if p.startswith("reports/policy-change/")] == []
    assert [n for p, n in verified.items() if p.startswith("reports/policy/")] == [1]
    assert inputs.policy_version == 1 and inputs.problems == []


def test_readiness_verifies_each_bundle_once_drills_included(s3, env, monkeypatch):  # noqa: F811
    from tasks.readiness import job

    settings, signer = env
    _complete_run(s3, settings, signer)
    verified = _spy_verify(monkeypatch)
    inputs = job.collect_inputs(settings)
    drills = [p for p in verified if p.startswith("reports/runbook-drill/")]
    assert len(drills) == len(inputs.runbooks) and len(inputs.drills) == len(drills)
    assert set(verified.values()) == {1}, [p for p, n in verified.items() if n > 1]
    # the newest drill still stands in the manifest, with the digest that verified
    manifest = {m["uri"]: m["digest"]["sha256"] for m in job.inputs_manifest(inputs)}
    assert inputs.latest["runbook-drill"].uri in manifest
    assert all(len(d) == 64 for d in manifest.values())
