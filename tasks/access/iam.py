"""IAM collector: credential report, authorization details, MFA devices, key last use.

The boto3 session/client is injected; every list call is paginated; throttling is handled
by botocore's standard retry mode (Throttling/ThrottlingException back off exponentially).
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from botocore.config import Config

from tasks.access.snapshot import ROOT_USER, AccessKey, IamSnapshot, IamUser, Policy, RootAccount
from tasks.common.errors import InputError

# Values AWS writes in the credential report instead of a date or a boolean.
NO_VALUE = {"N/A", "not_supported", "no_information", ""}
ADMIN_POLICY_ARNS = {"arn:aws:iam::aws:policy/AdministratorAccess"}


def iam_client_config(max_attempts: int = 10) -> Config:
    """Same retry policy as the S3 clients: botocore standard mode (throttling-aware)."""
    return Config(
        retries={"mode": "standard", "total_max_attempts": max_attempts},
        connect_timeout=5,
        read_timeout=60,
    )


def iam_client(session: Any, endpoint_url: str | None = None) -> Any:
    return session.client("iam", endpoint_url=endpoint_url, config=iam_client_config())


def _date(value: str | None) -> datetime | None:
    if value is None or value.strip() in NO_VALUE:
        return None
    text = value.strip().replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"bad date {value!r}") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _bool(value: str | None) -> bool:
    # not_supported (root's password_enabled) and N/A mean "no", never an error.
    return (value or "").strip().lower() == "true"


def parse_credential_report(
    content: bytes | str, source: str = "credential report"
) -> tuple[dict[str, IamUser], RootAccount | None]:
    """Parse AWS's credential report CSV. One-line InputError naming the row on bad data."""
    text = content.decode("utf-8") if isinstance(content, bytes) else content
    reader = csv.DictReader(io.StringIO(text))
    required = {"user", "arn", "password_enabled", "mfa_active", "access_key_1_active"}
    if not reader.fieldnames or not required <= set(reader.fieldnames):
        missing = sorted(required - set(reader.fieldnames or []))
        raise InputError(f"{source}: not a credential report (missing columns {missing})")
    users: dict[str, IamUser] = {}
    root: RootAccount | None = None
    for lineno, row in enumerate(reader, start=2):
        try:
            if any(row.get(c) is None for c in required) or None in row:
                raise ValueError("wrong number of columns")
            keys = [
                AccessKey(
                    slot=n,
                    active=_bool(row.get(f"access_key_{n}_active")),
                    last_rotated=_date(row.get(f"access_key_{n}_last_rotated")),
                    last_used=_date(row.get(f"access_key_{n}_last_used_date")),
                    last_used_service=None
                    if (row.get(f"access_key_{n}_last_used_service") or "N/A") in NO_VALUE
                    else row[f"access_key_{n}_last_used_service"],
                )
                for n in (1, 2)
                if _bool(row.get(f"access_key_{n}_active"))
                or _date(row.get(f"access_key_{n}_last_rotated")) is not None
            ]
            if row["user"] == ROOT_USER:
                root = RootAccount(
                    arn=row["arn"],
                    mfa_active=_bool(row["mfa_active"]),
                    access_key_1_active=_bool(row.get("access_key_1_active")),
                    access_key_2_active=_bool(row.get("access_key_2_active")),
                    password_last_used=_date(row.get("password_last_used")),
                )
                continue
            users[row["user"]] = IamUser(
                name=row["user"],
                arn=row["arn"],
                created=_date(row.get("user_creation_time")),
                password_enabled=_bool(row["password_enabled"]),
                password_last_used=_date(row.get("password_last_used")),
                password_last_changed=_date(row.get("password_last_changed")),
                mfa_active=_bool(row["mfa_active"]),
                access_keys=keys,
            )
        except (ValueError, KeyError) as exc:
            raise InputError(f"{source}: line {lineno}: {exc}") from None
    return users, root


def fetch_credential_report(
    client: Any,
    *,
    poll_seconds: float = 0.5,
    max_poll: float = 5.0,
    timeout: float = 300.0,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[bytes, datetime | None]:
    """Generate (or reuse a fresh) report, poll with backoff until COMPLETE."""
    waited, delay = 0.0, poll_seconds
    while True:
        state = client.generate_credential_report().get("State")
        if state == "COMPLETE":
            break
        if waited >= timeout:
            raise InputError(f"credential report still {state} after {timeout:.0f}s")
        sleep(delay)
        waited += delay
        delay = min(delay * 2, max_poll)
    resp = client.get_credential_report()
    return resp["Content"], resp.get("GeneratedTime")


def _doc(value: Any) -> dict[str, Any] | None:
    # boto3 decodes policy documents; raw HTTP responses may still be URL-encoded JSON.
    if value is None:
        return None
    if isinstance(value, dict):
        return value
    return json.loads(unquote(value))


def _authorization_details(client: Any) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {"users": [], "groups": [], "policies": []}
    paginator = client.get_paginator("get_account_authorization_details")
    for page in paginator.paginate(Filter=["User", "Group", "LocalManagedPolicy"]):
        out["users"].extend(page.get("UserDetailList", []))
        out["groups"].extend(page.get("GroupDetailList", []))
        out["policies"].extend(page.get("Policies", []))
    return out


def _managed_documents(
    client: Any, details: dict[str, list[dict[str, Any]]]
) -> dict[str, dict | None]:
    docs: dict[str, dict | None] = {}
    for pol in details["policies"]:
        default = next(
            (v for v in pol.get("PolicyVersionList", []) if v.get("IsDefaultVersion")), None
        )
        docs[pol["Arn"]] = _doc(default["Document"]) if default else None
    # AWS managed policies are not in LocalManagedPolicy: fetch only the ones in use, once.
    used = {
        p["PolicyArn"]
        for item in details["users"] + details["groups"]
        for p in item.get("AttachedManagedPolicies", [])
    }
    for arn in sorted(used - docs.keys()):
        try:
            version = client.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
            got = client.get_policy_version(PolicyArn=arn, VersionId=version)
            docs[arn] = _doc(got["PolicyVersion"]["Document"])
        except client.exceptions.NoSuchEntityException:
            docs[arn] = None
    return docs


def _policies_for(item: dict[str, Any], docs: dict[str, dict | None], via: str) -> list[Policy]:
    pols = [
        Policy(name=p["PolicyName"], arn=p["PolicyArn"], document=docs.get(p["PolicyArn"]), via=via)
        for p in item.get("AttachedManagedPolicies", [])
    ]
    key = "UserPolicyList" if via == "user" else "GroupPolicyList"
    pols += [
        Policy(name=p["PolicyName"], document=_doc(p.get("PolicyDocument")), via=via, inline=True)
        for p in item.get(key, [])
    ]
    return pols


def _match_report_key(user: IamUser, created: datetime, slot: int) -> AccessKey:
    """The report row's key for this key id: same creation second, else the same slot."""
    for k in user.access_keys:
        if k.last_rotated and abs((k.last_rotated - created).total_seconds()) < 1:
            return k
    return next((k for k in user.access_keys if k.slot == slot), AccessKey(slot=slot))


def _keys_detail(client: Any, user: IamUser) -> None:
    """Attach key ids, status and exact last use (the report only has slots 1 and 2)."""
    metas = []
    for page in client.get_paginator("list_access_keys").paginate(UserName=user.name):
        metas.extend(page.get("AccessKeyMetadata", []))
    metas.sort(key=lambda m: m["CreateDate"])
    keys: list[AccessKey] = []
    for slot, meta in enumerate(metas, start=1):
        known = _match_report_key(user, meta["CreateDate"], slot)
        last = client.get_access_key_last_used(AccessKeyId=meta["AccessKeyId"])
        last = last.get("AccessKeyLastUsed", {})
        service = last.get("ServiceName")
        keys.append(
            known.model_copy(
                update={
                    "key_id": meta["AccessKeyId"],
                    "slot": known.slot if known.last_rotated else slot,
                    "active": meta["Status"] == "Active",
                    "last_rotated": known.last_rotated or meta["CreateDate"],
                    "last_used": last.get("LastUsedDate") or known.last_used,
                    "last_used_service": (service if service not in NO_VALUE else None)
                    or known.last_used_service,
                }
            )
        )
    user.access_keys = keys


def _mfa_devices(client: Any, name: str) -> list[str]:
    out: list[str] = []
    for page in client.get_paginator("list_mfa_devices").paginate(UserName=name):
        out.extend(d["SerialNumber"] for d in page.get("MFADevices", []))
    return out


def merge_details(
    users: dict[str, IamUser],
    details: dict[str, list[dict[str, Any]]],
    docs: dict[str, dict | None],
) -> dict[str, IamUser]:
    """Attach user, group and inline policies (authorization details) to the report's users."""
    group_policies = {
        g["GroupName"]: _policies_for(g, docs, f"group:{g['GroupName']}") for g in details["groups"]
    }
    for item in details["users"]:
        name = item["UserName"]
        user = users.get(name) or IamUser(
            name=name, arn=item.get("Arn", ""), created=item.get("CreateDate")
        )
        user.groups = list(item.get("GroupList", []))
        user.policies = _policies_for(item, docs, "user") + [
            p for g in user.groups for p in group_policies.get(g, [])
        ]
        users[name] = user
    return users


def collect_iam(
    client: Any, *, key_detail: bool = True, sleep: Callable[[float], None] = time.sleep
) -> IamSnapshot:
    """Build the IAM snapshot from one injected IAM client."""
    content, generated = fetch_credential_report(client, sleep=sleep)
    users, root = parse_credential_report(content)
    details = _authorization_details(client)
    users = merge_details(users, details, _managed_documents(client, details))
    for user in users.values():
        user.mfa_devices = _mfa_devices(client, user.name)
        user.mfa_active = user.mfa_active or bool(user.mfa_devices)
        if key_detail:
            _keys_detail(client, user)
    account = next((u.arn.split(":")[4] for u in users.values() if u.arn.count(":") >= 5), "")
    return IamSnapshot(account=account, report_generated_at=generated, users=users, root=root)
