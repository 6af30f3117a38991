"""IAM policy analysis: admin (*:*) and privilege-escalation action combinations."""

from __future__ import annotations

import fnmatch
import re
from functools import lru_cache
from typing import Any

from tasks.access.snapshot import IamUser, Policy

ADMIN_POLICY_ARNS = {"arn:aws:iam::aws:policy/AdministratorAccess"}

# Known escalation paths (Rhino Security Labs' list, as Prowler uses it): each is a set of
# actions that together let a principal grant itself more.
PRIVESC_COMBINATIONS: list[frozenset[str]] = [
    frozenset(a.lower() for a in combo)
    for combo in [
        {"iam:CreatePolicyVersion"},
        {"iam:SetDefaultPolicyVersion"},
        {"iam:CreateAccessKey"},
        {"iam:CreateLoginProfile"},
        {"iam:UpdateLoginProfile"},
        {"iam:AttachUserPolicy"},
        {"iam:AttachGroupPolicy"},
        {"iam:AttachRolePolicy", "sts:AssumeRole"},
        {"iam:PutUserPolicy"},
        {"iam:PutGroupPolicy"},
        {"iam:PutRolePolicy", "sts:AssumeRole"},
        {"iam:AddUserToGroup"},
        {"iam:UpdateAssumeRolePolicy", "sts:AssumeRole"},
        {"iam:PassRole", "ec2:RunInstances"},
        {"iam:PassRole", "lambda:CreateFunction", "lambda:InvokeFunction"},
        {"iam:PassRole", "lambda:CreateFunction", "lambda:CreateEventSourceMapping"},
        {"iam:PassRole", "glue:CreateDevEndpoint"},
        {"iam:PassRole", "cloudformation:CreateStack"},
        {"iam:PassRole", "datapipeline:CreatePipeline", "datapipeline:PutPipelineDefinition"},
        {"glue:UpdateDevEndpoint"},
        {"lambda:UpdateFunctionCode"},
    ]
]
_ALL_PRIVESC_ACTIONS = sorted({a for c in PRIVESC_COMBINATIONS for a in c})


def _listify(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]


def statements(doc: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not doc:
        return []
    st = doc.get("Statement", [])
    return [st] if isinstance(st, dict) else [s for s in st if isinstance(s, dict)]


@lru_cache(maxsize=4096)
def _pattern(pattern: str) -> re.Pattern[str]:
    return re.compile(fnmatch.translate(pattern.lower()))


def _hits(patterns: list[str], candidates: list[str]) -> frozenset[str]:
    compiled = [_pattern(p) for p in patterns]
    return frozenset(c for c in candidates if any(rx.match(c) for rx in compiled))


def is_admin_statement(st: dict[str, Any]) -> bool:
    if st.get("Effect") != "Allow" or "*" not in _listify(st.get("Resource")):
        return False
    if "NotAction" in st:  # Allow everything except a short list is admin in practice
        return True
    return any(a in ("*", "*:*") for a in _listify(st.get("Action")))


def is_admin_policy(policy: Policy) -> bool:
    cache = policy.__pydantic_private__  # direct access: pydantic's __getattr__ is slow here
    if cache["_admin"] is None:
        cache["_admin"] = policy.arn in ADMIN_POLICY_ARNS or any(
            is_admin_statement(s) for s in statements(policy.document)
        )
    return cache["_admin"]


def admin_policies(user: IamUser) -> list[Policy]:
    return [p for p in user.policies if is_admin_policy(p)]


def _policy_grants(policy: Policy) -> dict[str, frozenset[str]]:
    """Which escalation-relevant actions one policy allows and denies (on Resource *)."""
    cache = policy.__pydantic_private__
    if cache["_grants"] is None:
        allow: set[str] = set()
        deny: set[str] = set()
        for st in statements(policy.document):
            if "NotAction" in st:
                hit = frozenset(_ALL_PRIVESC_ACTIONS) - _hits(
                    _listify(st.get("NotAction")), _ALL_PRIVESC_ACTIONS
                )
            else:
                hit = _hits(_listify(st.get("Action")), _ALL_PRIVESC_ACTIONS)
            if st.get("Effect") == "Allow":
                allow |= hit
            elif st.get("Effect") == "Deny" and "*" in _listify(st.get("Resource")):
                deny |= hit
        cache["_grants"] = {"allow": frozenset(allow), "deny": frozenset(deny)}
    return cache["_grants"]


def allowed_actions(policies: list[Policy]) -> set[str]:
    """Escalation-relevant actions the policies allow (an explicit Deny on Resource * wins)."""
    allowed: set[str] = set()
    denied: set[str] = set()
    for policy in policies:
        g = _policy_grants(policy)
        allowed |= g["allow"]
        denied |= g["deny"]
    return allowed - denied


def privesc_paths(user: IamUser) -> list[list[str]]:
    actions = allowed_actions(user.policies)
    if not actions:
        return []
    return [sorted(c) for c in PRIVESC_COMBINATIONS if c <= actions]
