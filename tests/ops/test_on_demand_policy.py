"""The policy steps as on-demand flows: real Prefect flow runs (the test harness), the
chain over HTTP against moto, the same rules as `compliance policy …`."""

from __future__ import annotations

import json

import pytest
import yaml

from tasks.common.s3 import s3_client
from tasks.common.storage import get_bytes
from tasks.evidence.signer import generate_key_files

ROSTER = "user,email,team,manager,status,aws_user\nann,ann@x.org,gov,,active,\nben,ben@x.org,gov,,active,\n"  # fmt: skip


@pytest.fixture
def policy_config(buckets, tmp_path):
    priv, _, _ = generate_key_files(tmp_path / "keys")
    s3_client(buckets).put_object(
        Bucket=buckets.data_bucket, Key="raw/org/roster.csv", Body=ROSTER.encode()
    )
    storage = buckets.model_dump(exclude_none=True) | {"signing_key": str(priv)}
    cfg = tmp_path / "compliance.yaml"
    cfg.write_text(yaml.safe_dump({"storage": storage, "policy": {"approvers": ["ann", "ben"]}}))
    return str(cfg)


def test_propose_approve_apply_as_flow_runs(prefect_harness, buckets, policy_config, tmp_path):

    from flows.on_demand import policy_apply, policy_approve, policy_propose
    from tasks.policy.chain import PolicyRefused

    doc = tmp_path / "policy.yaml"
    doc.write_text("rules:\n  allowedModes: [code, ask]\n")
    proposed = policy_propose(str(doc), "ann", "baseline", config_path=policy_config)
    pid = proposed["proposal"]
    assert proposed["bundle"].startswith(f"s3://{buckets.reports_bucket}/")
    with pytest.raises(PolicyRefused, match="pending"):  # the flow run fails, nothing applied
        policy_apply(pid, config_path=policy_config)
    with pytest.raises(PolicyRefused, match="cannot approve their own change"):
        policy_approve(pid, "ann", config_path=policy_config)
    approved = policy_approve(pid, "ben", config_path=policy_config)
    assert approved["approve"] == "ben" and approved["bundle"] != proposed["bundle"]
    applied = policy_apply(pid, config_path=policy_config)
    assert applied["version"] == 1
    key = applied["bundle"].split("/", 3)[3]
    envelope = json.loads(get_bytes(s3_client(buckets), buckets.reports_bucket, key))
    assert envelope["payloadType"] == "application/vnd.in-toto+json"
