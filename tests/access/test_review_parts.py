"""Mutes, secrets fingerprints, diff, campaign, decisions, OCSF and the docs table."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta

import pytest

from tasks.access.campaign import build_campaign, campaign_csv_bytes, parse_campaign
from tasks.access.config import AccessConfig, CampaignConfig, Mute, parse_access_config
from tasks.access.decisions import apply_decisions, execute_remediation, parse_decisions
from tasks.access.diff import diff_review
from tasks.access.docs import render_checks_markdown
from tasks.access.grants import collect_grants
from tasks.access.ocsf import ocsf_jsonl_bytes
from tasks.access.registry import discover
from tasks.access.review import apply_mutes, evaluate_checks, scope_snapshot
from tasks.common.errors import ConfigError, InputError
from tasks.common.models import FindingStatus

from .builders import ADMIN_DOC, NOW, key, person, policy, roo, server, snap, user

SECRET = "sk-ant-api03-SUPERSECRETVALUE1234567890"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def fleet():
    return snap(
        [
            user(
                "ana",
                policies=[policy("a", ADMIN_DOC, via="user")],
                access_keys=[key(age=120, key_id="AKIAANAKEY0000000001")],
            ),
            user("ben", access_keys=[key()]),
        ],
        settings=[
            roo(
                "ana",
                profiles={
                    "apiConfigs": {
                        "bedrock": {
                            "apiProvider": "bedrock",
                            "awsAccessKey": "AKIAANAKEY0000000001",
                            "awsSecretKey": AWS_SECRET,
                        }
                    }
                },
            ),
            roo(
                "ben",
                autoApprovalEnabled=True,
                alwaysAllowExecute=True,
                allowedCommands=["*"],
                mcp={"gh": server("gh", always_allow=["push_files"], env={"GITHUB_TOKEN": SECRET})},
            ),
        ],
        roster=[
            person("ana", manager="boss"),
            person("ben", manager="ana"),
            person("boss", manager="ceo", aws_user=""),
            person("ceo", manager="ceo", aws_user=""),
        ],
    )


def test_no_secret_anywhere_and_iam_cross_check():
    findings = evaluate_checks(fleet(), AccessConfig())
    blob = json.dumps([f.model_dump(mode="json") for f in findings])
    blob += ocsf_jsonl_bytes(findings, run_id="r1", generated_at=NOW).decode()
    assert SECRET not in blob and AWS_SECRET not in blob and SECRET[-8:] not in blob
    creds = [f for f in findings if f.check == "roo_credentials_in_settings"]
    aws = next(f for f in creds if f.details["kind"] == "aws_access_key")
    assert aws.details["iam_user"] == "ana" and aws.details["key_age_days"] == 120
    assert aws.severity.value == "critical"  # active, unrotated IAM key in a settings file
    assert {f.details["kind"] for f in creds} == {"aws_access_key", "aws_secret_key", "mcp_env"}
    assert all(f.details["fingerprint"].startswith("…") for f in creds)


def test_mutes_mark_never_hide_and_expire():
    findings = evaluate_checks(fleet(), AccessConfig())
    before = len(findings)
    mutes = [
        Mute(
            check="roo_god_mode_*",
            resource="roo:ben",
            justification="sandbox VM",
            owner="sec",
            expires=date(2027, 1, 1),
        ),
        Mute(
            check="iam_administrator_policy_attached",
            resource="iam:user/*",
            justification="break-glass",
            owner="sec",
            expires=date(2026, 1, 1),
        ),
    ]
    stats = apply_mutes(findings, mutes, NOW.date())
    assert len(findings) == before and stats == {"muted": 1, "expired_mutes": 1}
    god = next(f for f in findings if f.check == "roo_god_mode_auto_approve")
    assert god.details["muted"] is True and god.details["mute"]["owner"] == "sec"
    admin = next(f for f in findings if f.check == "iam_administrator_policy_attached")
    assert (
        "muted" not in admin.details
        and admin.details["expired_mute"]["justification"] == "break-glass"
    )


def test_config_errors_are_one_line():
    with pytest.raises(ConfigError, match=r"access\.mutes\.0\.justification"):
        parse_access_config({"mutes": [{"check": "x", "owner": "o", "expires": "2027-01-01"}]})
    with pytest.raises(ConfigError, match=r"access\.thresholds\.key_unused_days"):
        parse_access_config({"thresholds": {"key_unused_days": 0}})


def test_scope_by_team_and_user():
    s = fleet()
    s.roster["ben"].team = "web"
    scoped = scope_snapshot(s, team="web")
    assert set(scoped.settings) == {"ben"} and set(scoped.iam.users) == {"ben"}
    assert set(scope_snapshot(s, user="ana").iam.users) == {"ana"}


def test_campaign_reviewers_never_the_subject():
    s = fleet()
    grants = collect_grants(s)
    kinds = {(g.kind, g.subject) for g in grants}
    assert (
        ("iam_admin", "ana") in kinds
        and ("roo_auto_execute", "ben") in kinds
        and ("roo_mcp_always_allow", "ben") in kinds
    )
    cfg = CampaignConfig(team_owners={"core": "boss"})
    items, findings = build_campaign(grants, s.roster, cfg, "run1", NOW)
    assert len(items) == len(grants) and not findings
    by = {(i.kind, i.subject): i for i in items}
    assert (
        by[("iam_admin", "ana")].reviewer == "boss"
        and by[("roo_auto_execute", "ben")].reviewer == "ana"
    )
    assert all(i.reviewer != i.subject for i in items)
    # ceo manages themselves and has no owner: never self-assigned
    s.roster["ana"].manager = "ana"
    items, _ = build_campaign(collect_grants(s), s.roster, CampaignConfig(), "run1", NOW)
    admin = next(i for i in items if i.kind == "iam_admin")
    assert admin.reviewer == "" and admin.reviewer_source == "none"
    items2, findings2 = build_campaign(collect_grants(s), s.roster, CampaignConfig(), "run1", NOW)
    assert any(f.check == "access_campaign" and f.resource == "iam:user/ana" for f in findings2)
    assert parse_campaign(campaign_csv_bytes(items2)) == items2


def _decisions(rows):
    buf = io.StringIO()
    w = csv.DictWriter(buf, ["item_id", "reviewer", "decision", "justification"])
    w.writeheader()
    w.writerows(rows)
    return parse_decisions(buf.getvalue().encode(), "d.csv")


def test_decisions_self_review_rejected_overdue_and_revoke():
    s = fleet()
    items, _ = build_campaign(
        collect_grants(s), s.roster, CampaignConfig(team_owners={"core": "boss"}), "run1", NOW
    )
    key_item = next(i for i in items if i.kind == "iam_access_key" and i.subject == "ana")
    ben_exec = next(i for i in items if i.kind == "roo_auto_execute")
    rows = [
        {
            "item_id": key_item.item_id,
            "reviewer": "boss",
            "decision": "revoke",
            "justification": "key in settings file",
        },
        {
            "item_id": ben_exec.item_id,
            "reviewer": "ben",
            "decision": "certify",
            "justification": "I need it",
        },
        {"item_id": ben_exec.item_id, "reviewer": "ana", "decision": "maybe", "justification": "x"},
        {"item_id": "nope", "reviewer": "ana", "decision": "certify", "justification": "x"},
        {
            "item_id": key_item.item_id,
            "reviewer": "boss",
            "decision": "certify",
            "justification": "again",
        },
    ]
    out = apply_decisions(items, _decisions(rows), NOW + timedelta(days=30))
    assert [r["reason"] for r in out.rejected] == [
        "self-review: a person cannot review their own access",
        "decision must be certify or revoke",
        "unknown item_id",
        "duplicate decision for this item",
    ]
    assert len(out.accepted) == 1 and out.remediation[0]["action"] == "deactivate_access_key"
    overdue = [f for f in out.findings if f.check == "access_review_overdue"]
    assert len(overdue) == len(items) - 1 and all(f.status == FindingStatus.fail for f in overdue)
    assert not [f for f in apply_decisions(items, [], NOW).findings]  # nothing due yet


def test_remediation_dry_run_by_default():
    calls = []

    class Iam:
        def update_access_key(self, **kw):
            calls.append(kw)

    rem = [
        {
            "automatic": True,
            "aws_user": "ana",
            "key_id": "AKIA1",
            "action": "deactivate_access_key",
        },
        {"automatic": False},
    ]
    assert [r["result"] for r in execute_remediation(Iam(), rem)] == ["dry-run", "manual"]
    assert not calls
    assert execute_remediation(Iam(), rem, apply=True)[0]["result"] == "deactivated"
    assert calls == [{"UserName": "ana", "AccessKeyId": "AKIA1", "Status": "Inactive"}]


def test_decisions_bad_file():
    with pytest.raises(InputError, match="missing columns"):
        parse_decisions(b"item_id,decision\n", "d.csv")


def test_diff_new_removed_changed():
    s = fleet()
    prev_findings = evaluate_checks(s, AccessConfig())
    prev_grants = collect_grants(s)
    s.settings["ben"].global_settings["deniedCommands"] = ["rm"]  # god mode gone
    s.iam.users["ben"].access_keys.append(key(2))  # new grant + new finding
    s.settings["ben"].global_settings["allowedCommands"] = ["*", "ls"]  # changed grant detail
    cur = evaluate_checks(s, AccessConfig())
    d = diff_review(
        [f.model_dump(mode="json") for f in prev_findings],
        [g.model_dump(mode="json") for g in prev_grants],
        cur,
        collect_grants(s),
    )
    assert {n["check"] for n in d["findings"]["new"]} >= {"iam_user_two_active_access_keys"}
    assert {r["check"] for r in d["findings"]["removed"]} == {"roo_god_mode_auto_approve"}
    assert [g["check"] for g in d["grants"]["new"]] == ["iam_access_key"]
    assert [c["resource"] for c in d["grants"]["changed"]] == ["roo:ben"]
    two = next(f for f in cur if f.check == "iam_user_two_active_access_keys")
    assert two.details["new_since_last_review"] is True


def test_docs_table_lists_every_check():
    md = render_checks_markdown()
    for check_id, cls in discover().items():
        assert f"`{check_id}`" in md and cls.metadata.title in md


def test_findings_csv_has_prowler_columns_and_mappings():
    from tasks.access.csvout import COLUMNS, findings_csv

    findings = evaluate_checks(fleet(), AccessConfig())
    apply_mutes(
        findings,
        [
            Mute(
                check="roo_god_mode_auto_approve",
                justification="lab",
                owner="sec",
                expires=date(2099, 1, 1),
            )
        ],
        NOW.date(),
    )
    rows = list(csv.DictReader(io.StringIO(findings_csv(findings, NOW).decode())))
    assert list(rows[0]) == COLUMNS and len(rows) == len(findings)
    admin = next(r for r in rows if r["CHECK_ID"] == "iam_administrator_policy_attached")
    assert (
        admin["STATUS"] == "FAIL"
        and "CIS-AWS: 1.16" in admin["COMPLIANCE"]
        and "SOC2: CC6.1" in admin["COMPLIANCE"]
    )
    assert admin["RESOURCE_TYPE"] == "AwsIamUser" and admin["REMEDIATION_RECOMMENDATION_TEXT"]
    god = next(r for r in rows if r["CHECK_ID"] == "roo_god_mode_auto_approve")
    assert god["MUTED"] == "true" and json.loads(god["DETAILS"])["mute"]["owner"] == "sec"
    assert SECRET not in findings_csv(findings, NOW).decode()
