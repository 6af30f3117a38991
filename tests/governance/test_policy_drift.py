"""policy-drift on a generated fleet over real HTTP (moto): nothing on a clean fleet that
follows the approved policy; each planted deviation, and an organisation settings file
changed without a proposal, found — one finding per user and deviation."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from tasks.common.models import Period
from tasks.evidence import load_signer
from tasks.evidence.signer import generate_key_files
from tasks.evidence.verify import Trust
from tasks.policy.chain import Ctx, apply, approve, propose
from tasks.policy.config import PolicyConfig
from tasks.policy.schema import validate_policy
from tasks.policy_drift import job
from tasks.policy_drift.config import PolicyDriftConfig
from tasks.policy_drift.evaluate import evaluate as find_drift
from tasks.policy_drift.fleet_policy import fleet_policy

T0 = datetime(2026, 12, 1, 9, tzinfo=UTC)
START = date(2026, 11, 1)
TOKEN = "ghp_" + "R2d2C3po" * 4 + "Bb8x"  # a GitHub token's shape: the redactor must drop it


@pytest.fixture
def fleet(s3, buckets, tmp_path):
    """A clean generated fleet, ingested into validated/events, and an applied policy."""
    from tasks.telemetry.generator import generate_fleet
    from tasks.telemetry.ingest import ingest

    truth = generate_fleet(f"s3://{buckets.data_bucket}/", users=4, days=2, seed=11, start=START,
                           clean=True, s3_client=s3)  # fmt: skip
    events = ingest(f"s3://{buckets.data_bucket}/", s3_client=s3).events
    day_of = pc.strftime(events["ts"], format="%Y-%m-%d")
    for day in sorted(set(day_of.to_pylist())):
        _put_parquet(s3, buckets.data_bucket, f"validated/events/date={day}/r.parquet",
                     events.filter(pc.equal(day_of, day)))  # fmt: skip
    private, _, _ = generate_key_files(tmp_path / "keys")
    settings = buckets.model_copy(update={"signing_key": str(private)})
    signer = load_signer(str(private))
    ctx = Ctx(s3, buckets.reports_bucket, signer, Trust.from_pems([("k", signer.public_pem)]), 1,
              PolicyConfig(approvers=["ann", "ben"]))  # fmt: skip
    pid, _ = propose(ctx, fleet_policy(), "ann", "the fleet's policy", T0)
    approve(ctx, pid, "ben", T0)
    apply(ctx, pid, T0)
    return settings, truth, events


def _put_parquet(s3, bucket, key, table):
    buf = io.BytesIO()
    pq.write_table(table, buf)
    s3.put_object(Bucket=bucket, Key=key, Body=buf.getvalue())


def _run(settings, users=None):
    period = Period(start=datetime(2026, 11, 1, tzinfo=UTC), end=datetime(2026, 11, 3, tzinfo=UTC))
    cfg = PolicyDriftConfig()
    inputs = job.collect_inputs(settings, period, cfg, {})
    return find_drift(inputs, cfg, users)


def _drifts(findings):
    return {
        (f.details["user"], f.details["setting"]) for f in findings if f.check == "policy.drift"
    }


def test_a_clean_fleet_that_follows_the_approved_policy_has_no_finding(fleet, s3):
    settings, truth, _ = fleet
    # the approved baseline, distributed with other whitespace and key order: not a change
    baseline = dict(reversed(list(fleet_policy()["baseline"].items())))
    _put_json(s3, settings.data_bucket, "policy/roo-code-settings.json", json.dumps(baseline, indent=4).encode())  # fmt: skip
    findings, summary = _run(settings)
    assert [f"{f.check} {f.message}" for f in findings] == []
    assert summary["policy_version"] == 1 and summary["users_checked"] == 4
    assert summary["deviations"] == 0 and summary["unapproved_files"] == 0


def test_each_planted_deviation_is_found_once_and_nothing_else(fleet, s3):
    settings, truth, events = fleet
    bucket = settings.data_bucket
    a, b = truth["users"][0]["user"], truth["users"][1]["user"]
    key = f"raw/roo/{a}/settings/roo-code-settings.json"
    doc = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    g = doc["globalSettings"]
    g.update(autoApprovalEnabled=True, alwaysAllowWriteOutsideWorkspace=True, allowedMaxCost=50)
    g["allowedCommands"] = [*g["allowedCommands"], "curl"]
    g["deniedCommands"] = [d for d in g["deniedCommands"] if d != "sudo"]
    doc["providerProfiles"]["apiConfigs"]["rogue"] = {"apiProvider": "openai-native",
                                                      "apiModelId": "gpt-4o"}  # fmt: skip
    s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(doc).encode())
    mkey = f"raw/roo/{b}/settings/mcp_settings.json"
    mcp = json.loads(s3.get_object(Bucket=bucket, Key=mkey)["Body"].read())
    mcp["mcpServers"]["pastebin"] = {"command": "npx", "args": ["pastebin-mcp"]}
    s3.put_object(Bucket=bucket, Key=mkey, Body=json.dumps(mcp).encode())
    # behaviour: b ran a denied command, called an unlisted server, used an unknown mode
    # and a model the allow-list does not name
    ts = pa.array([datetime(2026, 11, 2, 10, tzinfo=UTC)] * 4, pa.timestamp("ms", tz="UTC"))
    extra = pa.table({
        "user": [b] * 4, "ts": ts, "category": ["command", "mcp_call", "api_request", "prompt"],
        "command": [f"cd /tmp && SUDO env GH={TOKEN} apt-get install x", None, None, None],
        "mcp_server": [None, "shady", None, None], "mode": ["code", "code", "code", "yolo"],
        "provider": [None, None, "openrouter", None], "model": [None, None, "x-ai/grok-4", None],
    })  # fmt: skip
    from tasks.telemetry.schema import EVENTS_SCHEMA

    extra = pa.table([extra[f.name] if f.name in extra.column_names else pa.nulls(4, f.type)
                      for f in EVENTS_SCHEMA], schema=EVENTS_SCHEMA)  # fmt: skip
    _put_parquet(s3, bucket, "validated/events/date=2026-11-02/planted.parquet", extra)
    # the organisation settings changed without a proposal
    org = json.loads(s3.get_object(Bucket=bucket, Key="raw/org/organization-settings.json")["Body"].read())  # fmt: skip
    org["allowList"]["allowAll"] = True
    s3.put_object(Bucket=bucket, Key="raw/org/organization-settings.json", Body=json.dumps(org).encode())  # fmt: skip

    # and the distributed baseline was edited in place
    baseline = fleet_policy()["baseline"]
    baseline["globalSettings"]["alwaysAllowExecute"] = True
    _put_json(s3, bucket, "policy/roo-code-settings.json", baseline)

    findings, summary = _run(settings)
    assert _drifts(findings) == {
        (a, "globalSettings.alwaysAllowWriteOutsideWorkspace"),
        (a, "globalSettings.allowedMaxCost"),
        (a, "globalSettings.allowedCommands"),
        (a, "globalSettings.deniedCommands"),
        (a, "providerProfiles.apiConfigs.rogue"),
        (b, "mcpServers.pastebin"),
        (b, "behaviour.command_denied"),
        (b, "behaviour.mcp_server"),
        (b, "behaviour.mode"),
        (b, "behaviour.provider_model"),
    }
    assert len([f for f in findings if f.check == "policy.drift"]) == 10  # one per deviation
    by = {
        (f.details["user"], f.details["setting"]): f for f in findings if f.check == "policy.drift"
    }
    cmd = by[(b, "behaviour.command_denied")].details
    assert cmd["denied_prefix"] == "sudo" and cmd["first_seen"] == "2026-11-02T10:00:00+00:00"
    assert TOKEN not in json.dumps(cmd) and "apt-get" in cmd["actual"]  # secrets redacted
    assert by[(a, "globalSettings.allowedCommands")].details["actual"] == ["curl"]
    assert by[(a, "globalSettings.allowedMaxCost")].details["first_seen"]  # the snapshot's time
    unapproved = {f.details["section"]: f.resource for f in findings
                  if f.check == "policy.unapproved_change"}  # fmt: skip
    assert unapproved == {
        "organization": f"s3://{bucket}/raw/org/organization-settings.json",
        "baseline": f"s3://{bucket}/policy/roo-code-settings.json",
    }
    assert summary["users_with_drift"] == 2
    # --user / --team narrow the users judged; files in effect are always checked
    only_a, _ = _run(settings, users={a})
    assert {u for u, _ in _drifts(only_a)} == {a} and len(_drifts(only_a)) == 5


def test_no_approved_version_is_one_high_finding(s3, buckets, tmp_path):
    s3.put_object(Bucket=buckets.data_bucket, Key="raw/org/organization-settings.json", Body=b"{}")
    private, _, _ = generate_key_files(tmp_path / "keys")
    findings, _ = _run(buckets.model_copy(update={"signing_key": str(private)}))
    assert {f.check for f in findings} >= {"policy.none_applied", "policy.unapproved_change"}


@pytest.mark.parametrize(
    ("doc", "problem"),
    [
        ({"rules": {"allowedModes": ["code"], "autoApprov": {}}}, "rules.autoApprov: Extra inputs are not permitted"),
        ({"rules": {"autoApprove": {"allowedMaxRequests": "50"}}}, "rules.autoApprove.allowedMaxRequests: Input should be a valid integer"),
        ({"rules": {"autoApprove": {"allowedMaxCost": -1}}}, "allowedMaxCost: Input should be greater than 0"),
        ({"organization": {"allowList": {"allowAll": "no"}}}, "organization.allowList.allowAll: Input should be a valid boolean"),
        ({"baseline": {"globalSettings": {"alwaysAllowExecute": "yes"}}}, "globalSettings.alwaysAllowExecute must be true or false"),
        ({"baseline": {"globalSettings": {"autoApprovalEnabled": True, "alwaysAllowExecute": True}},
          "rules": {"autoApprove": {"execute": False}}}, "alwaysAllowExecute is on but rules.autoApprove forbids it"),
        ({"version": 2}, "version 2: only version 1 is known"),
        ({"baseline": {"providerProfiles": {}, "globalSettings": {}, "apiKey": "sk-ant-secret"}}, "baseline.apiKey: Extra inputs"),
    ],
)  # fmt: skip
def test_a_bad_policy_is_one_line_per_problem_naming_the_key(doc, problem):
    from tasks.common.errors import InputError

    with pytest.raises(InputError) as exc:
        validate_policy(doc, "p.yaml")
    assert problem in str(exc.value) and "sk-ant-secret" not in str(exc.value)
    assert all(line.startswith("p.yaml: ") for line in str(exc.value).splitlines())


def test_two_problems_are_two_lines():
    from tasks.common.errors import InputError

    with pytest.raises(InputError) as exc:
        validate_policy({"rules": {"x": 1, "mcpServers": "github"}}, "p.yaml")
    assert len(str(exc.value).splitlines()) == 2


def test_the_fleet_policy_is_valid_and_strict():
    assert validate_policy(fleet_policy(), "fleet").rules.autoApprove.writeOutsideWorkspace is False
    assert validate_policy(fleet_policy(execute=False), "f").rules.autoApprove.execute is False


def _put_json(s3, bucket, key, doc):
    body = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    s3.put_object(Bucket=bucket, Key=key, Body=body)


def test_hostile_settings_are_one_finding_each_and_the_others_still_checked(fleet, s3):
    settings, truth, _ = fleet
    bucket = settings.data_bucket
    users = [u["user"] for u in truth["users"] if u["has_data"]]
    _put_json(
        s3, bucket, f"raw/roo/{users[0]}/settings/roo-code-settings.json", b'{"globalSettings": {'
    )
    odd = {"providerProfiles": {"apiConfigs": ["not", "a", "map"]},
           "globalSettings": {"autoApprovalEnabled": True, "allowedCommands": "*",
                              "deniedCommands": {"rm -rf": 1}, "mode": ["code"],
                              "allowedMaxRequests": "lots", "alwaysAllowExecute": "yes"}}  # fmt: skip
    _put_json(s3, bucket, f"raw/roo/{users[1]}/settings/roo-code-settings.json", odd)
    _put_json(s3, bucket, "raw/org/organization-settings.json", b"\xff not json")
    findings, summary = _run(settings)
    unreadable = [f for f in findings if f.check == "policy.snapshot_unreadable"]
    assert len(unreadable) == 1 and users[0] in unreadable[0].resource
    assert "invalid JSON" in unreadable[0].message
    org = [f for f in findings if f.check == "policy.unapproved_change"]
    assert len(org) == 1 and org[0].status == "error" and "not JSON" in org[0].message
    odd_user = _drifts(f for f in findings if f.details.get("user") == users[1])
    assert odd_user == {
        (users[1], "globalSettings.allowedCommands"),  # "*" as a bare string still counts
        (users[1], "globalSettings.deniedCommands"),
        (users[1], "globalSettings.allowedMaxRequests"),  # "lots": no limit
        (users[1], "globalSettings.allowedMaxCost"),  # absent: no limit
        (users[1], "globalSettings.mode"),
    }
    assert summary["users_with_drift"] == 1


def test_a_version_signed_by_an_untrusted_key_is_not_the_policy(fleet, s3, tmp_path):
    settings, truth, _ = fleet
    other, _, _ = generate_key_files(tmp_path / "other")
    forger = load_signer(str(other))
    ctx = Ctx(s3, settings.reports_bucket, forger, Trust.from_pems([("f", forger.public_pem)]), 1,
              PolicyConfig(approvers=["eve", "mal"]))  # fmt: skip
    loose = fleet_policy()
    loose["rules"]["mcpServers"] = []  # would make every configured server a deviation
    pid, _ = propose(ctx, loose, "eve", "nobody approved this", T0)
    approve(ctx, pid, "mal", T0)
    apply(ctx, pid, T0)
    findings, summary = _run(settings)
    assert findings == [] and summary["policy_version"] == 1
    assert any("does not verify" in p for p in summary["problems"])


def test_the_flow_publishes_the_drift_report(prefect_harness, fleet, s3, tmp_path):
    import yaml

    from flows.jobs import policy_drift
    from tasks.common.storage import get_bytes

    settings, truth, _ = fleet
    config = tmp_path / "compliance.yaml"
    config.write_text(yaml.safe_dump({"storage": settings.model_dump(exclude_none=True)}))
    out = policy_drift(since="2026-11-01", until="2026-11-03", config_path=str(config))
    assert out["status"] == "pass" and out["counts"]["findings"] == 0
    prefix = out["bundle"].split("/", 3)[3].removesuffix("attestation.dsse.json")
    html = get_bytes(s3, settings.reports_bucket, prefix + "report.html").decode()
    assert "Deviations from the approved policy" in html
    statement = json.loads(get_bytes(s3, settings.reports_bucket, prefix + "report.json"))
    assert statement["summary"]["policy_version"] == 1


# Roo Code's own organisation settings shape (third-party: RooCodeInc/Roo-Code,
# packages/types/src/cloud.ts at commit 23ee83051491912cf43bd3f7158fb645d1ca6161, Apache-2.0):
# the keys of organizationSettingsSchema, and ORGANIZATION_DEFAULT transcribed to JSON.
ROO_ORG_KEYS = ["version", "cloudSettings", "defaultSettings", "allowList", "features",
                "hiddenMcps", "hideMarketplaceMcps", "mcps", "providerProfiles"]  # fmt: skip
ROO_ORGANIZATION_DEFAULT = {
    "version": 0,
    "cloudSettings": {"recordTaskMessages": True, "enableTaskSharing": True,
                      "allowPublicTaskSharing": True, "taskShareExpirationDays": 30,
                      "allowMembersViewAllTasks": True, "llmEnhancedFeaturesEnabled": False},
    "defaultSettings": {},
    "allowList": {"allowAll": True, "providers": {}},
}  # fmt: skip


def test_roo_codes_own_organisation_settings_are_accepted():
    from tasks.policy.schema import Organization

    assert set(ROO_ORG_KEYS) <= set(Organization.model_fields)
    every = ROO_ORGANIZATION_DEFAULT | {
        "features": {"roomoteControlEnabled": False}, "hiddenMcps": ["x"],
        "hideMarketplaceMcps": True, "mcps": [],
        "providerProfiles": {"org": {"id": "p1", "apiProvider": "anthropic"}},
    }  # fmt: skip
    for org in (ROO_ORGANIZATION_DEFAULT, every):
        assert validate_policy({"organization": org}, "org").organization is not None


def test_propose_reads_and_validates_the_file_one_line_per_problem():
    from tasks.common.errors import InputError
    from tasks.policy.chain import parse_policy_file

    with pytest.raises(InputError) as exc:
        parse_policy_file(b"rules:\n  autoApprov: {}\n  mcpServers: github\n", "p.yaml")
    assert str(exc.value).splitlines() == [
        "p.yaml: rules.mcpServers: Input should be a valid list",
        "p.yaml: rules.autoApprov: Extra inputs are not permitted",
    ]
