"""The access-review-decisions flow for real: a published, verified campaign on the S3 server,
the reviewers' CSV, a signed decisions bundle linked to the campaign, the UI artifacts."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import UTC, datetime

import pytest
import yaml

from tasks.access.config import parse_access_config
from tasks.access.job import collect_for_settings
from tasks.access.run import JOB, review
from tasks.common.contract import JobResult
from tasks.common.jobrun import finish_job
from tasks.common.models import Period
from tasks.common.s3 import S3Uri
from tasks.common.storage import get_bytes
from tasks.evidence.dsse import parse_envelope
from tests.access.test_flow import _seed, _settings

ACCESS = {"campaign": {"team_owners": {"core": "lead"}}}
RUN_ID = "20990101T000000Z-0000dec1"


def _publish_campaign(settings, s3, iam) -> tuple[str, list[dict]]:
    """An access-review bundle with a campaign.csv, as the weekly job publishes it."""
    _seed(s3, settings.data_bucket, iam)
    cfg = parse_access_config(ACCESS)
    now = datetime.now(UTC)
    snapshot, inputs = collect_for_settings(settings, cfg, now)
    result = review(snapshot, cfg, run_id=RUN_ID, now=now)
    published = JobResult(result.findings, result.summary, inputs=inputs, files=result.files)
    out = finish_job(JOB, Period.last_days(7), published, settings, run_id=RUN_ID)
    return out["bundle"], list(csv.DictReader(io.StringIO(result.files["campaign.csv"].decode())))


def _artifacts(flow_run_id) -> dict[str, object]:
    from prefect import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
        )
    return {a.key: a.data for a in found}


@pytest.mark.prefect
def test_flow_records_decisions_in_a_verified_bundle_linked_to_the_campaign(
    prefect_harness, buckets, s3, tmp_path, default_account_iam
):
    from flows.on_demand import access_review_decisions
    from tasks.evidence.verify_target import verify_target

    settings = _settings(buckets, tmp_path)
    iam = default_account_iam
    campaign_uri, items = _publish_campaign(settings, s3, iam)
    key_item = next(i for i in items if i["kind"] == "iam_access_key")
    own = next(i for i in items if i["item_id"] != key_item["item_id"] and i["subject"])
    decisions = tmp_path / "decisions.csv"
    decisions.write_text(
        "item_id,reviewer,decision,justification\n"
        f"{key_item['item_id']},{key_item['reviewer']},revoke,no longer needed\n"
        f"{own['item_id']},{own['subject']},certify,mine\n"  # self-review: rejected
    )
    config = tmp_path / "compliance.yaml"
    config.write_text(
        yaml.safe_dump({"storage": settings.model_dump(exclude_none=True), "access": ACCESS})
    )

    state = access_review_decisions(
        decisions=str(decisions), apply=True, config_path=str(config), return_state=True
    )
    result = state.result()

    assert result["job"] == "access-review-decisions" and result["run_id"]
    # the rejected decision is a medium error finding; nothing is overdue yet
    assert result["status"] == "warn" and result["counts"]["medium"] == 1
    summary = result["summary"]
    assert summary["campaign"] == campaign_uri  # linked to the verified campaign envelope
    assert (summary["decisions_accepted"], summary["decisions_rejected"]) == (1, 1)
    assert summary["undecided"] == len(items) - 1 and summary["keys_deactivated"] == 1

    # the bundle verifies with the signer's public key, and its inputs pin the campaign
    public = tmp_path / "keys" / "signing-key.pub.pem"
    report = verify_target(result["bundle"], client=s3, public_keys=[(str(public), public.read_bytes())])  # fmt: skip
    assert report.ok, [f.line() for f in report.failures]
    uri = S3Uri.parse(result["bundle"])
    predicate = parse_envelope(get_bytes(s3, uri.bucket, uri.key)).predicate
    campaign = S3Uri.parse(campaign_uri)
    campaign_sha = hashlib.sha256(get_bytes(s3, campaign.bucket, campaign.key))
    assert {"uri": campaign_uri, "digest": {"sha256": campaign_sha.hexdigest()}} in predicate["inputs"]  # fmt: skip
    prefix = uri.key.rsplit("/", 1)[0]
    rows = list(csv.DictReader(io.StringIO(get_bytes(s3, uri.bucket, f"{prefix}/decisions.csv").decode())))  # fmt: skip
    by_status = {r["status"]: r for r in rows}
    assert by_status["accepted"]["item_id"] == key_item["item_id"]
    assert by_status["rejected"]["item_id"] == own["item_id"]
    assert by_status["rejected"]["reason"].startswith("self-review")

    # apply=True reached the flow: the revoked key is inactive in IAM
    key_id = json.loads(key_item["detail"])["key_id"]
    keys = iam.list_access_keys(UserName=key_item["aws_user"])["AccessKeyMetadata"]
    assert {k["AccessKeyId"]: k["Status"] for k in keys}[key_id] == "Inactive"

    # the Prefect UI shows the summary, the bundle link and what each revocation did
    artifacts = _artifacts(state.state_details.flow_run_id)
    assert "**WARN**" in artifacts["access-review-decisions-summary"]
    assert result["bundle"] in artifacts["access-review-decisions-bundle"]
    table = artifacts["access-review-decisions-remediation"]
    table = json.loads(table) if isinstance(table, str) else table
    assert [(r["target"], r["result"]) for r in table] == [
        (f"{key_item['aws_user']}/{key_id}", "deactivated")
    ]
