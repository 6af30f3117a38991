"""IAM collector: moto (in-process) for the API calls, AWS-shaped CSV fixtures for the report."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tasks.access.demo_seed import seed_iam
from tasks.access.iam import (
    collect_iam,
    fetch_credential_report,
    parse_credential_report,
)
from tasks.access.registry import discover
from tasks.access.snapshot import AccessSnapshot, RosterEntry
from tasks.common.errors import InputError
from tasks.common.models import FindingStatus

FIXTURES = Path(__file__).parent / "fixtures"
ROSTER = [
    RosterEntry(
        user=f"p{i}",
        email=f"p{i}@example.com",
        team="core",
        manager="boss",
        status="active",
        aws_user=f"p{i}",
    )
    for i in range(7)
] + [RosterEntry(user="boss", email="boss@example.com", team="core", manager="ceo", aws_user="")]


def test_parse_real_report_root_row_and_na_values():
    users, root = parse_credential_report((FIXTURES / "credential_report.csv").read_bytes())
    assert root is not None and root.access_key_1_active and not root.mfa_active
    assert "<root_account>" not in users
    bob = users["bob"]
    assert bob.password_enabled and bob.password_last_used is None  # no_information
    assert [k.last_used for k in bob.access_keys][0] is None  # N/A = never used
    assert bob.access_keys[1].last_used == datetime(2026, 11, 19, 10, tzinfo=UTC)
    carol = users["carol"]
    assert not carol.password_enabled and carol.password_last_used is None  # N/A
    assert (
        len(carol.access_keys) == 1 and not carol.access_keys[0].active
    )  # inactive but rotated once
    assert users["svc-deploy"].arn.endswith("user/ci/svc-deploy")


def test_report_fixtures_drive_checks():
    users, root = parse_credential_report((FIXTURES / "credential_report.csv").read_bytes())
    from tasks.access.snapshot import IamSnapshot

    s = AccessSnapshot(
        now=datetime(2026, 11, 21, tzinfo=UTC), iam=IamSnapshot(users=users, root=root)
    )
    fails = {
        c: [f.resource for f in discover()[c]().run(s) if f.status == FindingStatus.fail]
        for c in discover()
    }
    assert fails["iam_root_access_keys_present"] == ["iam:root"]
    assert fails["iam_root_mfa_disabled"] == ["iam:root"]
    # bob's key 1 was never used in 3 years: Prowler would miss it
    assert "iam:user/bob/access_key_1" in fails["iam_user_access_key_unused_45_days"]
    assert fails["iam_user_console_password_without_mfa"] == ["iam:user/bob"]
    assert fails["iam_user_two_active_access_keys"] == ["iam:user/bob"]
    assert "iam:user/bob" in fails["iam_user_console_password_unused_45_days"]
    assert "iam:user/alice" not in fails["iam_user_console_password_unused_45_days"]


def test_report_without_root_row_passes_root_checks():
    users, root = parse_credential_report((FIXTURES / "credential_report_root_ok.csv").read_bytes())
    assert root is not None and root.mfa_active and users["dave"].access_keys == []


def test_bad_report_is_one_line_error():
    with pytest.raises(InputError, match="missing columns"):
        parse_credential_report(
            (FIXTURES / "credential_report_bad_columns.csv").read_bytes(), "fixture.csv"
        )
    bad = (
        (FIXTURES / "credential_report.csv")
        .read_text()
        .replace("2024-02-01T09:00:00+00:00", "yesterday", 1)
    )
    with pytest.raises(InputError, match=r"line 3: bad date"):
        parse_credential_report(bad)


def test_credential_report_is_polled_until_complete():
    class Fake:
        calls = 0

        def generate_credential_report(self):
            self.calls += 1
            return {"State": "COMPLETE" if self.calls >= 3 else "STARTED"}

        def get_credential_report(self):
            return {"Content": b"user,arn\n", "GeneratedTime": None}

    slept: list[float] = []
    fake = Fake()
    content, _ = fetch_credential_report(fake, poll_seconds=0.5, sleep=slept.append)
    assert fake.calls == 3 and slept == [0.5, 1.0] and content == b"user,arn\n"
    with pytest.raises(InputError, match="still STARTED"):
        Fake.calls = -100
        fetch_credential_report(Fake(), poll_seconds=1, timeout=2, sleep=lambda s: None)


def test_collect_from_moto_with_seeded_problems(iam):
    truth = seed_iam(iam, ROSTER, {})
    snap = collect_iam(iam, sleep=lambda s: None)
    assert snap.root is None  # moto's report has no <root_account> row
    assert set(snap.users) == {f"p{i}" for i in range(7)}
    p0 = snap.users["p0"]
    assert p0.password_enabled and not p0.mfa_active
    assert any(p.name == "org-admin" and p.document for p in p0.policies)
    assert all(
        k.key_id and k.key_id.startswith("AKIA") for u in snap.users.values() for k in u.access_keys
    )
    assert snap.users["p6"].mfa_devices  # clean users have MFA
    s = AccessSnapshot(now=datetime.now(UTC), iam=snap, roster={r.user: r for r in ROSTER})
    fired: dict[str, set[str]] = {}
    for cid, cls in discover().items():
        for f in cls().run(s):
            if f.status == FindingStatus.fail:
                fired.setdefault(cid, set()).add(f.resource)
    for planted in truth["iam_planted"]:
        for cid in planted["checks"]:
            assert f"iam:user/{planted['aws_user']}" in fired.get(cid, set()), (planted, cid)
    # the clean users (p5, p6) appear in no IAM finding
    flagged = {r for res in fired.values() for r in res}
    assert not {r for r in flagged if r.startswith(("iam:user/p5", "iam:user/p6"))}


def test_aws_managed_policy_documents_fetched_once():
    """AWS managed policies are not in LocalManagedPolicy: fetched by ARN, once each."""
    from tasks.access.iam import _managed_documents

    arn = "arn:aws:iam::aws:policy/AdministratorAccess"
    calls: list[str] = []

    class Fake:
        class exceptions:
            NoSuchEntityException = KeyError

        def get_policy(self, PolicyArn):
            calls.append(PolicyArn)
            return {"Policy": {"DefaultVersionId": "v1"}}

        def get_policy_version(self, PolicyArn, VersionId):
            return {"PolicyVersion": {"Document": "%7B%22Statement%22%3A%5B%5D%7D"}}  # URL-encoded

    details = {
        "users": [{"AttachedManagedPolicies": [{"PolicyArn": arn}]}],
        "groups": [{"AttachedManagedPolicies": [{"PolicyArn": arn}]}],
        "policies": [],
    }
    docs = _managed_documents(Fake(), details)
    assert docs == {arn: {"Statement": []}} and calls == [arn]


def test_key_ids_matched_to_report_rows_by_creation_time():
    """After key 1 is deleted the remaining key can sit in report slot 2: match by time."""
    from tasks.access.iam import _keys_detail
    from tasks.access.snapshot import AccessKey, IamUser

    created = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    user = IamUser(name="u", access_keys=[AccessKey(slot=2, active=True, last_rotated=created)])

    class Pager:
        def paginate(self, UserName):
            return [
                {
                    "AccessKeyMetadata": [
                        {"AccessKeyId": "AKIAKEY2", "Status": "Active", "CreateDate": created}
                    ]
                }
            ]

    class Fake:
        def get_paginator(self, name):
            return Pager()

        def get_access_key_last_used(self, AccessKeyId):
            return {"AccessKeyLastUsed": {"ServiceName": "N/A", "Region": "N/A"}}

    _keys_detail(Fake(), user)
    [k] = user.access_keys
    assert (k.key_id, k.slot, k.last_used, k.last_used_service) == ("AKIAKEY2", 2, None, None)


def test_short_or_long_report_row_is_an_error_naming_the_line():
    text = (FIXTURES / "credential_report.csv").read_text().splitlines()
    short = "\n".join([text[0], text[1], "eve,arn:aws:iam::1:user/eve,2024-01-01T00:00:00+00:00"])
    with pytest.raises(InputError, match="line 3: wrong number of columns"):
        parse_credential_report(short)
    long = "\n".join([text[0], text[2] + ",extra"])
    with pytest.raises(InputError, match="line 2: wrong number of columns"):
        parse_credential_report(long)
