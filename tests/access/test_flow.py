"""The whole review over real HTTP: S3 data bucket and IAM on moto servers, signed bundles,
a second run diffing against the verified first one, and the Prefect flow smoke test."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import pytest
import yaml

from tasks.access.config import parse_access_config
from tasks.access.demo_seed import seed_iam
from tasks.access.job import collect_for_settings, previous_for_settings, tables_for
from tasks.access.run import JOB, review
from tasks.common.contract import JobResult
from tasks.common.ids import new_run_id
from tasks.common.jobrun import finish_job
from tasks.common.models import FindingStatus, Period
from tasks.evidence.signer import generate_key_files

ROSTER = "user,email,team,manager,status,aws_user\n" + "\n".join(
    [
        "ana,ana@x.io,core,lead,active,ana",
        "ben,ben@x.io,core,lead,active,ben",
        "cy,cy@x.io,web,lead,active,cy",
        "dee,dee@x.io,web,lead,active,dee",
        "eve,eve@x.io,web,lead,active,eve",
        "fay,fay@x.io,web,lead,active,fay",
        "lead,lead@x.io,core,ceo,active,",
        "gus,gus@x.io,web,lead,terminated,",
    ]
)
GOD = {
    "providerProfiles": {},
    "globalSettings": {
        "autoApprovalEnabled": True,
        "alwaysAllowExecute": True,
        "allowedCommands": ["*"],
    },
}


def _seed(s3, bucket, iam) -> dict:
    s3.put_object(Bucket=bucket, Key="raw/org/roster.csv", Body=ROSTER.encode())
    s3.put_object(
        Bucket=bucket,
        Key="raw/org/organization-settings.json",
        Body=b'{"allowList": {"allowAll": false}, "cloudSettings": {"allowPublicTaskSharing": false}}',
    )
    s3.put_object(
        Bucket=bucket,
        Key="raw/roo/ana/settings/roo-code-settings.json",
        Body=json.dumps(GOD).encode(),
    )
    s3.put_object(Bucket=bucket, Key="raw/roo/ben/settings/mcp_settings.json", Body=b"{broken")
    s3.put_object(
        Bucket=bucket,
        Key="raw/roo/gus/settings/roo-code-settings.json",
        Body=b'{"providerProfiles": {}, "globalSettings": {}}',
    )
    roster = list(csv.DictReader(io.StringIO(ROSTER)))
    return seed_iam(iam, roster, {})


def _settings(buckets, tmp_path):
    priv, _, _ = generate_key_files(tmp_path / "keys")
    return buckets.model_copy(update={"signing_key": str(priv)})


def test_review_publish_then_diff(buckets, s3, tmp_path, default_account_iam):
    settings = _settings(buckets, tmp_path)
    iam = default_account_iam
    truth = _seed(s3, settings.data_bucket, iam)
    cfg = parse_access_config({"campaign": {"team_owners": {"core": "lead"}}})
    period = Period.last_days(7)

    def run_once():
        now = datetime.now(UTC)
        run_id = new_run_id(now)
        snapshot, inputs = collect_for_settings(settings, cfg, now)
        previous, err = previous_for_settings(settings, cfg)
        result = review(
            snapshot, cfg, run_id=run_id, now=now, previous=previous, previous_error=err
        )
        done = JobResult(result.findings, result.summary, inputs=inputs, files=result.files,
                         tables=tables_for(result))  # fmt: skip
        out = finish_job(JOB, period, done, settings, run_id=run_id)
        return result, out, previous, err

    first, out1, prev1, err1 = run_once()
    assert prev1 is None and err1 is None and out1["bundle"].endswith("attestation.dsse.json")
    fails = {(f.check, f.resource) for f in first.findings if f.status == FindingStatus.fail}
    for planted in truth["iam_planted"]:
        for check in planted["checks"]:
            assert (check, f"iam:user/{planted['aws_user']}") in fails
    assert ("roo_god_mode_auto_approve", "roo:ana") in fails
    assert ("roster_terminated_or_unknown_access", "roo:gus") in fails
    errors = [f for f in first.findings if f.status == FindingStatus.error]
    assert [f.resource for f in errors if f.check == "access_inputs_readable"] == [
        f"s3://{settings.data_bucket}/raw/roo/ben/settings/mcp_settings.json"
    ]
    campaign = list(csv.DictReader(io.StringIO(first.files["campaign.csv"].decode())))
    assert campaign and all(r["reviewer"] and r["reviewer"] != r["subject"] for r in campaign)
    ocsf = [json.loads(line) for line in first.files["findings.ocsf.jsonl"].splitlines()]
    assert len(ocsf) == len(first.findings) and {o["class_uid"] for o in ocsf} == {2003}
    prefix = out1["bundle"].split(f"s3://{settings.reports_bucket}/", 1)[1].rsplit("/", 1)[0]
    keys = {
        o["Key"].rsplit("/", 1)[1]
        for o in s3.list_objects_v2(Bucket=settings.reports_bucket, Prefix=prefix)["Contents"]
    }
    assert {
        "report.json",
        "report.html",
        "findings.csv",
        "findings.ocsf.jsonl",
        "campaign.csv",
        "grants.json",
    } <= keys

    # the fix of one problem and a new key show up in the diff against the verified bundle
    s3.put_object(
        Bucket=settings.data_bucket,
        Key="raw/roo/ana/settings/roo-code-settings.json",
        Body=b'{"providerProfiles": {}, "globalSettings": {}}',
    )
    iam.create_access_key(UserName="fay")
    second, out2, prev2, err2 = run_once()
    assert err2 is None and prev2.envelope_uri == out1["bundle"]
    diff = json.loads(second.files["diff.json"])
    assert {r["check"] for r in diff["findings"]["removed"]} >= {"roo_god_mode_auto_approve"}
    assert any(g["resource"].startswith("iam:user/fay/access_key_2") for g in diff["grants"]["new"])
    assert second.summary["grants_new"] >= 1 and second.summary["findings_removed"] >= 1

    # a previous bundle that does not verify (signed by a key this job neither holds nor
    # pins) is never diffed against; pinning the signer's public key makes it trusted again
    other, _, _ = generate_key_files(tmp_path / "other")
    rotated = settings.model_copy(update={"signing_key": str(other)})
    prev3, err3 = previous_for_settings(rotated, parse_access_config({}))
    assert prev3 is None and "unknown_key" in err3
    from tasks.evidence import load_signer

    pub = tmp_path / "previous-signer.pub.pem"
    pub.write_bytes(load_signer(settings.signing_key).public_pem)
    pinned = parse_access_config({"trusted_public_keys": [str(pub)]})
    prev4, err4 = previous_for_settings(rotated, pinned)
    assert err4 is None and prev4.envelope_uri == out2["bundle"]


@pytest.mark.prefect
def test_flow_smoke(prefect_harness, buckets, s3, tmp_path, default_account_iam):
    from flows.jobs import access_review

    settings = _settings(buckets, tmp_path)
    s3.put_object(Bucket=settings.data_bucket, Key="raw/org/roster.csv", Body=ROSTER.encode())
    s3.put_object(
        Bucket=settings.data_bucket,
        Key="raw/roo/cy/settings/roo-code-settings.json",
        Body=json.dumps(GOD).encode(),
    )
    s3.put_object(
        Bucket=settings.data_bucket,
        Key="raw/roo/ana/settings/roo-code-settings.json",
        Body=json.dumps(GOD).encode(),
    )
    config = tmp_path / "compliance.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "storage": settings.model_dump(exclude_none=True),
                "access": {
                    "collect_iam": False,
                    "mutes": [
                        {
                            "check": "org_*",
                            "resource": "*",
                            "justification": "org settings not exported yet",
                            "owner": "secops",
                            "expires": "2099-01-01",
                        }
                    ],
                },
            }
        )
    )
    result = access_review(team="web", config_path=str(config))
    assert result["job"] == "access-review" and result["status"] == "fail" and result["bundle"]
    report = json.loads(
        s3.get_object(
            Bucket=settings.reports_bucket,
            Key=result["bundle"]
            .split(settings.reports_bucket + "/", 1)[1]
            .replace("attestation.dsse.json", "report.json"),
        )["Body"].read()
    )
    god = [
        f
        for f in report["findings"]
        if f["check"] == "roo_god_mode_auto_approve" and f["status"] == "fail"
    ]
    assert [f["resource"] for f in god] == ["roo:cy"]  # team scope: ana (core) is out
    iam_errors = [f for f in report["findings"] if f["check"].startswith("iam_")]
    assert iam_errors and all(f["status"] == "error" for f in iam_errors)


def test_decide_cli_links_campaign_rejects_self_review_and_applies(
    buckets, s3, tmp_path, default_account_iam, monkeypatch
):
    from click.testing import CliRunner

    from cli.access import access_review as group

    settings = _settings(buckets, tmp_path)
    iam = default_account_iam
    _seed(s3, settings.data_bucket, iam)
    access = {
        "campaign": {"team_owners": {"core": "lead"}},
    }
    cfg = parse_access_config(access)
    now = datetime.now(UTC)
    snapshot, inputs = collect_for_settings(settings, cfg, now)
    result = review(snapshot, cfg, run_id="20990101T000000Z-0000abcd", now=now)
    published = finish_job(
        JOB,
        Period.last_days(7),
        JobResult(result.findings, result.summary, inputs=inputs, files=result.files),
        settings,
        run_id="20990101T000000Z-0000abcd",
    )
    items = list(csv.DictReader(io.StringIO(result.files["campaign.csv"].decode())))
    key_item = next(i for i in items if i["kind"] == "iam_access_key")
    other = next(i for i in items if i["item_id"] != key_item["item_id"] and i["subject"])
    decisions = tmp_path / "decisions.csv"
    decisions.write_text(
        "item_id,reviewer,decision,justification\n"
        f"{key_item['item_id']},{key_item['reviewer']},revoke,no longer needed\n"
        f"{other['item_id']},{other['subject']},certify,mine\n"
    )
    config = tmp_path / "compliance.yaml"
    config.write_text(
        yaml.safe_dump({"storage": settings.model_dump(exclude_none=True), "access": access})
    )
    monkeypatch.setenv("COMPLIANCE_CONFIG", str(config))
    dry = CliRunner().invoke(group, ["decide", "--decisions", str(decisions), "--json"])
    assert dry.exit_code == 0, dry.output
    out = json.loads(dry.output)
    assert out["summary"]["campaign"] == published["bundle"]  # linked to the verified campaign
    assert out["summary"]["decisions_accepted"] == 1 and out["summary"]["decisions_rejected"] == 1
    assert out["bundle"] and out["job"] == "access-review-decisions"
    key_id = json.loads(key_item["detail"])["key_id"]
    status = {
        k["AccessKeyId"]: k["Status"]
        for k in iam.list_access_keys(UserName=key_item["aws_user"])["AccessKeyMetadata"]
    }
    assert status[key_id] == "Active"  # dry run by default
    applied = CliRunner().invoke(group, ["decide", "--decisions", str(decisions), "--apply"])
    assert applied.exit_code == 0, applied.output
    assert f"{key_item['aws_user']}/{key_id} [deactivated]" in applied.output
    status = {
        k["AccessKeyId"]: k["Status"]
        for k in iam.list_access_keys(UserName=key_item["aws_user"])["AccessKeyMetadata"]
    }
    assert status[key_id] == "Inactive"
    bad = CliRunner().invoke(group, ["decide", "--decisions", str(tmp_path / "missing.csv")])
    assert bad.exit_code != 0 and "missing.csv" in bad.output and "Traceback" not in bad.output


def test_next_review_reports_overdue_items_of_the_last_campaign(
    buckets, s3, tmp_path, default_account_iam
):
    from datetime import timedelta

    from tasks.access.decide import run_decide
    from tasks.access.job import decided_for_previous
    from tasks.access.previous import decided_items, trusted_keys

    settings = _settings(buckets, tmp_path)
    _seed(s3, settings.data_bucket, default_account_iam)
    cfg = parse_access_config({"campaign": {"team_owners": {"core": "lead"}}})

    def publish_review(now):
        run_id = new_run_id(now)
        snapshot, inputs = collect_for_settings(settings, cfg, now)
        previous, err = previous_for_settings(settings, cfg)
        decided, _, untrusted = decided_for_previous(settings, cfg, previous)
        result = review(snapshot, cfg, run_id=run_id, now=now, previous=previous,
                        previous_error=err, decided=decided, untrusted_decisions=untrusted)  # fmt: skip
        done = JobResult(result.findings, result.summary, inputs=inputs, files=result.files)
        finish_job(JOB, Period.last_days(7), done, settings, run_id=run_id)
        return result

    now = datetime.now(UTC)
    first = publish_review(now)
    assert first.summary["previous_campaign_overdue"] is None  # no campaign before it
    items = list(csv.DictReader(io.StringIO(first.files["campaign.csv"].decode())))
    done = next(i for i in items if i["reviewer"])
    sheet = tmp_path / "decisions.csv"
    sheet.write_text(
        "item_id,reviewer,decision,justification\n"
        f"{done['item_id']},{done['reviewer']},certify,still needed\n"
    )
    decided = run_decide(str(sheet), settings, cfg, now=now)
    assert decided["summary"]["decisions_accepted"] == 1
    campaign, _ = previous_for_settings(settings, cfg)
    ids, used, untrusted = decided_items(
        s3, settings.reports_bucket, campaign, trusted_keys(settings, [])
    )
    assert ids == {done["item_id"]} and [u["uri"] for u in used] == [decided["bundle"]]
    assert untrusted == []
    # decisions signed by a key we do not trust count for nothing, and say so
    _, other_pub, _ = generate_key_files(tmp_path / "other")
    ids, used, untrusted = decided_items(
        s3, settings.reports_bucket, campaign, [("other", other_pub.read_bytes())]
    )
    assert (ids, used) == (set(), []) and len(untrusted) == 1

    later = now + timedelta(days=cfg.campaign.due_days + 1)
    second = publish_review(later)
    overdue = {
        f.details["item_id"]
        for f in second.findings
        if f.check == "access_review_overdue" and f.status == FindingStatus.fail
    }
    assert overdue == {i["item_id"] for i in items} - {done["item_id"]}
    assert second.summary["previous_campaign_overdue"] == len(items) - 1


@pytest.mark.prefect
def test_the_flow_tells_each_reviewer_of_their_items(
    prefect_harness, buckets, s3, tmp_path, default_account_iam
):
    """The contract's after_publish: a published review's campaign reaches each reviewer
    at their roster address (aiosmtpd on loopback), with the run's own notifications."""
    from flows.jobs import access_review
    from tests.ops.webhook import SmtpSink

    settings = _settings(buckets, tmp_path)
    s3.put_object(Bucket=settings.data_bucket, Key="raw/org/roster.csv", Body=ROSTER.encode())
    for user in ("cy", "ana"):
        s3.put_object(Bucket=settings.data_bucket, Body=json.dumps(GOD).encode(),
                      Key=f"raw/roo/{user}/settings/roo-code-settings.json")  # fmt: skip
    with SmtpSink() as smtp:
        config = tmp_path / "compliance.yaml"
        url = f"mailto://127.0.0.1:{smtp.port}?from=access@example.org&mode=insecure"
        config.write_text(yaml.safe_dump({
            "storage": settings.model_dump(exclude_none=True),
            "access": {"collect_iam": False, "campaign": {"team_owners": {"core": "lead"}}},
            "notifications": {"reviewers": {"email_url": url}},
        }))  # fmt: skip
        result = access_review(config_path=str(config))
        key = result["bundle"].split(settings.reports_bucket + "/", 1)[1]
        campaign = s3.get_object(Bucket=settings.reports_bucket,
                                 Key=key.replace("attestation.dsse.json", "campaign.csv"))  # fmt: skip
        items = list(csv.DictReader(io.StringIO(campaign["Body"].read().decode())))
        reviewers = {r["reviewer"] for r in items}
        assert items and reviewers
        sent = {rcpt[0].lower() for _, rcpt, _ in smtp.messages}
        assert sent == {f"{r}@x.io" for r in reviewers}
        again = access_review(dry_run=True, config_path=str(config))  # a dry run tells no one
        assert again["status"] and len(smtp.messages) == len(sent)


@pytest.mark.prefect
def test_the_daily_reminders_flow_reaches_reviewers_of_the_latest_campaign(
    prefect_harness, buckets, s3, tmp_path, default_account_iam
):
    """access-review-reminders (HOUSEKEEPING, scheduled daily): the latest verified
    campaign's open items reach their reviewers; it publishes no bundle."""
    from flows.jobs import access_review
    from flows.on_demand import access_review_reminders
    from tests.ops.webhook import SmtpSink

    settings = _settings(buckets, tmp_path)
    s3.put_object(Bucket=settings.data_bucket, Key="raw/org/roster.csv", Body=ROSTER.encode())
    s3.put_object(Bucket=settings.data_bucket, Body=json.dumps(GOD).encode(),
                  Key="raw/roo/cy/settings/roo-code-settings.json")  # fmt: skip
    base = {"storage": settings.model_dump(exclude_none=True),
            "access": {"collect_iam": False, "campaign": {"team_owners": {"core": "lead"}}}}  # fmt: skip
    quiet = tmp_path / "quiet.yaml"  # the review itself tells no one
    quiet.write_text(yaml.safe_dump(base))
    assert access_review(config_path=str(quiet))["bundle"]
    bundles = {o["Key"] for o in s3.list_objects_v2(Bucket=settings.reports_bucket)["Contents"]}
    with SmtpSink() as smtp:
        url = f"mailto://127.0.0.1:{smtp.port}?from=access@example.org&mode=insecure"
        config = tmp_path / "compliance.yaml"
        config.write_text(
            yaml.safe_dump({**base, "notifications": {"reviewers": {"email_url": url}}})
        )
        out = access_review_reminders(config_path=str(config))
        assert out["reviewers"] >= 1 and out["items"] >= 1, out
        assert len(smtp.messages) == out["reviewers"]
        assert all(rcpt[0].endswith("@x.io") for _, rcpt, _ in smtp.messages)
        again = access_review_reminders(config_path=str(config))  # the cooldown holds
        assert again["reviewers"] == 0 and len(smtp.messages) == out["reviewers"]
    after = {o["Key"] for o in s3.list_objects_v2(Bucket=settings.reports_bucket)["Contents"]}
    assert after == bundles  # no bundle of its own
