"""Seed IAM (moto in the demo) with users for the roster, some with planted problems."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from tasks.access.snapshot import RosterEntry

READ_ONLY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": "*"}
    ],
}
ADMIN = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}
PRIVESC = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": ["iam:PassRole", "ec2:RunInstances"], "Resource": "*"}
    ],
}

# (problem, checks that must fire for it)
PROBLEMS: list[tuple[str, list[str]]] = [
    (
        "admin_policy",
        [
            "iam_administrator_policy_attached",
            "iam_policy_attached_directly_to_user",
            "roster_admin_without_mfa",
            "iam_user_console_password_without_mfa",  # password, no MFA: the commonest case
        ],
    ),
    ("console_without_mfa", ["iam_user_console_password_without_mfa"]),
    ("two_active_keys", ["iam_user_two_active_access_keys"]),
    (
        "privesc_inline",
        ["iam_privilege_escalation_actions", "iam_policy_attached_directly_to_user"],
    ),
    ("direct_policy", ["iam_policy_attached_directly_to_user"]),
]


def _entries(roster: Iterable[RosterEntry | Mapping[str, Any]]) -> list[RosterEntry]:
    return [
        r if isinstance(r, RosterEntry) else RosterEntry(**{k: str(v or "") for k, v in r.items()})
        for r in roster
    ]


def _mfa(iam: Any, name: str) -> None:
    serial = iam.create_virtual_mfa_device(VirtualMFADeviceName=f"{name}-mfa")["VirtualMFADevice"][
        "SerialNumber"
    ]
    iam.enable_mfa_device(
        UserName=name,
        SerialNumber=serial,
        AuthenticationCode1="123456",
        AuthenticationCode2="654321",
    )


def seed_iam(
    iam_client: Any,
    roster: Iterable[RosterEntry | Mapping[str, Any]],
    truth: dict[str, Any] | None = None,
    *,
    plant: bool = True,
) -> dict[str, Any]:
    """Create one IAM user per active roster aws_user; plant one problem each on the first five.

    Returns `truth` with truth["iam_planted"] = [{aws_user, problem, checks}] added.
    """
    truth = truth if truth is not None else {}
    iam = iam_client
    iam.create_group(GroupName="developers")
    read_arn = iam.create_policy(PolicyName="developer-read", PolicyDocument=json.dumps(READ_ONLY))[
        "Policy"
    ]["Arn"]
    iam.attach_group_policy(GroupName="developers", PolicyArn=read_arn)
    admin_arn = iam.create_policy(PolicyName="org-admin", PolicyDocument=json.dumps(ADMIN))[
        "Policy"
    ]["Arn"]
    planted: list[dict[str, Any]] = []
    people = sorted((p for p in _entries(roster) if p.aws_user and p.active), key=lambda p: p.user)
    for n, person in enumerate(people):
        name = person.aws_user
        iam.create_user(
            UserName=name, Tags=[{"Key": "owner", "Value": person.email or person.user}]
        )
        iam.add_user_to_group(GroupName="developers", UserName=name)
        problem, checks = PROBLEMS[n] if plant and n < len(PROBLEMS) else (None, [])
        iam.create_login_profile(UserName=name, Password="Demo-Passw0rd!x")
        if problem not in ("console_without_mfa", "admin_policy"):
            _mfa(iam, name)
        iam.create_access_key(UserName=name)
        if problem == "admin_policy":
            iam.attach_user_policy(UserName=name, PolicyArn=admin_arn)
        elif problem == "two_active_keys":
            iam.create_access_key(UserName=name)
        elif problem == "privesc_inline":
            iam.put_user_policy(
                UserName=name, PolicyName="launch-with-role", PolicyDocument=json.dumps(PRIVESC)
            )
        elif problem == "direct_policy":
            iam.attach_user_policy(UserName=name, PolicyArn=read_arn)
        if problem:
            planted.append(
                {"aws_user": name, "user": person.user, "problem": problem, "checks": checks}
            )
    truth["iam_planted"] = planted
    return truth
