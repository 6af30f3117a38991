"""Benchmark: the access review over BENCH_ACCESS_N IAM users and as many settings exports.

Inputs are synthetic and built before timing: an AWS-shaped credential report (root row,
N/A and no_information values), authorization details (groups, managed and inline
policies), and per-user Roo Code settings exports with MCP files, about 1 in 10 with a
planted problem. Timed: parse + merge IAM, parse settings, run every check, mutes, grants,
campaign and the OCSF file. Target: <= 10 s at 10,000 + 10,000.

Peer: a floor, not an equal — csv.DictReader + json.loads over the same bytes (what any
tool must at least do), so the ratio shows what the checks themselves cost.
Run: `.venv/bin/python -c "from bench.access import main; main()"` (BENCH_ACCESS_N=1000 quick).
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
import resource
import time
from datetime import UTC, datetime, timedelta

from tasks.access.campaign import build_campaign
from tasks.access.config import AccessConfig, Mute
from tasks.access.grants import collect_grants
from tasks.access.iam import merge_details, parse_credential_report
from tasks.access.ocsf import ocsf_jsonl_bytes
from tasks.access.review import apply_mutes, evaluate_checks
from tasks.access.snapshot import AccessSnapshot, IamSnapshot, RosterEntry
from tasks.access.sources import collect_settings

TARGET_S = 10.0
NOW = datetime(2026, 11, 21, 6, tzinfo=UTC)
HEADER = (
    "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,"
    "password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,"
    "access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,"
    "access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,"
    "access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,"
    "cert_1_last_rotated,cert_2_active,cert_2_last_rotated"
)
ADMIN = {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
PRIVESC = {
    "Statement": [
        {"Effect": "Allow", "Action": ["iam:PassRole", "ec2:RunInstances"], "Resource": "*"}
    ]
}
READ = {"Statement": [{"Effect": "Allow", "Action": ["s3:Get*", "s3:List*"], "Resource": "*"}]}


def _t(days: float) -> str:
    return (NOW - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def synth_iam(n: int, rng: random.Random) -> tuple[bytes, dict]:
    rows = [
        HEADER,
        f"<root_account>,arn:aws:iam::123456789012:root,{_t(2000)},not_supported,no_information,not_supported,not_supported,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A",
    ]
    users, groups = (
        [],
        [
            {
                "GroupName": "devs",
                "AttachedManagedPolicies": [],
                "GroupPolicyList": [{"PolicyName": "read", "PolicyDocument": READ}],
            }
        ],
    )
    for i in range(n):
        name = f"user{i:05d}"
        pw = rng.random() < 0.6
        mfa = not pw or rng.random() < 0.9
        k1_age, k1_used = rng.randint(1, 400), rng.choice([None, rng.randint(0, 120)])
        k2 = rng.random() < 0.05
        rows.append(
            f"{name},arn:aws:iam::123456789012:user/{name},{_t(500)},{str(pw).lower()},"
            f"{_t(rng.randint(0, 90)) if pw else 'N/A'},{_t(400) if pw else 'N/A'},N/A,{str(mfa).lower()},"
            f"true,{_t(k1_age)},{_t(k1_used) if k1_used is not None else 'N/A'},us-east-1,{'s3' if k1_used is not None else 'N/A'},"
            f"{str(k2).lower()},{_t(10) if k2 else 'N/A'},N/A,N/A,N/A,false,N/A,false,N/A"
        )
        r = rng.random()
        inline = (
            [{"PolicyName": "p", "PolicyDocument": ADMIN if r < 0.02 else PRIVESC}]
            if r < 0.07
            else []
        )
        users.append(
            {
                "UserName": name,
                "Arn": f"arn:aws:iam::123456789012:user/{name}",
                "GroupList": ["devs"],
                "AttachedManagedPolicies": [],
                "UserPolicyList": inline,
            }
        )
    return "\n".join(rows).encode(), {"users": users, "groups": groups, "policies": []}


class MemStore:
    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files

    def keys(self, prefix: str):
        return (k for k in self.files if k.startswith(prefix))

    def read(self, key: str) -> bytes | None:
        return self.files.get(key)

    def uri(self, key: str) -> str:
        return f"mem://{key}"


def synth_settings(n: int, rng: random.Random) -> dict[str, bytes]:
    files = {}
    for i in range(n):
        r = rng.random()
        g = {
            "autoApprovalEnabled": r < 0.5,
            "alwaysAllowReadOnly": True,
            "alwaysAllowWrite": r < 0.4,
            "alwaysAllowExecute": r < 0.3,
            "allowedCommands": ["git log", "git diff", "npm test"],
            "deniedCommands": ["rm"],
            "allowedMaxRequests": 50,
            "allowedMaxCost": 5,
        }
        if r < 0.02:
            g.update(allowedCommands=["*"], deniedCommands=[])
        elif r < 0.05:
            g["allowedCommands"] += ["bash", "python"]
        elif r < 0.07:
            g.pop("allowedMaxRequests"), g.pop("allowedMaxCost")
        profile = {"id": "a", "apiProvider": "anthropic", "apiModelId": "claude-sonnet-4-5"}
        if 0.07 <= r < 0.08:
            profile["apiKey"] = "sk-ant-api03-" + "x" * 40 + f"{i:06d}"
        files[f"raw/roo/u{i:05d}/settings/roo-code-settings.json"] = json.dumps(
            {
                "providerProfiles": {
                    "currentApiConfigName": "default",
                    "apiConfigs": {"default": profile},
                },
                "globalSettings": g,
            }
        ).encode()
        tools = ["get_issue", "push_files"] if 0.08 <= r < 0.09 else ["get_issue"]
        files[f"raw/roo/u{i:05d}/settings/mcp_settings.json"] = json.dumps(
            {
                "mcpServers": {
                    "github": {
                        "command": "npx",
                        "args": ["-y", "gh"],
                        "alwaysAllow": tools,
                        "env": {"GITHUB_TOKEN": "${env:GITHUB_TOKEN}"},
                    }
                }
            }
        ).encode()
    return files


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    n = int(os.environ.get("BENCH_ACCESS_N", "10000"))
    rng = random.Random(42)
    report, details = synth_iam(n, rng)
    settings_files = synth_settings(n, rng)
    roster = {
        f"u{i:05d}": RosterEntry(
            user=f"u{i:05d}",
            team=f"t{i % 20}",
            manager=f"u{(i // 10) * 10 + (1 if i % 10 == 0 else 0):05d}",
            aws_user=f"user{i:05d}",
        )
        for i in range(n)
    }
    cfg = AccessConfig(
        mutes=[
            Mute(
                check="roo_auto_approval_without_caps",
                resource="roo:u000*",
                justification="bench",
                owner="bench",
                expires="2099-01-01",
            )
        ]
    )
    phases: list[tuple[str, float, int]] = []

    c0 = time.process_time()
    t0 = time.perf_counter()
    users, root = parse_credential_report(report)
    users = merge_details(users, details, {})
    phases.append(("IAM: parse report + merge details", time.perf_counter() - t0, n))
    t = time.perf_counter()
    settings, errors, _ = collect_settings(MemStore(settings_files))
    phases.append(("settings: read + parse exports", time.perf_counter() - t, 2 * n))
    snap = AccessSnapshot(
        now=NOW,
        iam=IamSnapshot(users=users, root=root),
        settings=settings,
        roster=roster,
        errors=errors,
    )
    t = time.perf_counter()
    findings = evaluate_checks(snap, cfg)
    apply_mutes(findings, cfg.mutes, NOW.date())
    phases.append(("checks + mutes", time.perf_counter() - t, len(findings)))
    t = time.perf_counter()
    items, _ = build_campaign(collect_grants(snap), roster, cfg.campaign, "bench", NOW)
    ocsf = ocsf_jsonl_bytes(findings, run_id="bench", generated_at=NOW)
    phases.append(("grants + campaign + OCSF", time.perf_counter() - t, len(items)))
    total = time.perf_counter() - t0
    cpu = time.process_time() - c0  # what the review costs, whatever else shares the cores

    t = time.perf_counter()  # the floor peer: parse the same bytes, decide nothing
    list(csv.DictReader(io.StringIO(report.decode())))
    for data in settings_files.values():
        json.loads(data)
    floor = time.perf_counter() - t

    open_findings = sum(1 for f in findings if f.status != "pass")
    print(
        f"access review: {n:,} IAM users + {n:,} settings exports ({len(settings_files):,} files)"
    )
    print(f"{'phase':<38}{'seconds':>9}{'items':>10}{'items/s':>12}")
    for name, secs, count in phases:
        print(f"{name:<38}{secs:>9.2f}{count:>10,}{count / secs if secs else 0:>12,.0f}")
    print(f"{'total (wall)':<38}{total:>9.2f}")
    print(f"{'total (CPU of this process)':<38}{cpu:>9.2f}")
    print(
        f"findings: {len(findings):,} ({open_findings:,} open), {len(findings) / total:,.0f} findings/s; campaign items {len(items):,}; OCSF {len(ocsf) / 1e6:.1f} MB"
    )
    print(
        f"target {TARGET_S:.0f} s: {total / TARGET_S:.2f}x of budget ({'OK' if total <= TARGET_S else 'OVER'})"
    )
    print(
        f"peer floor (csv.DictReader + json.loads only): {floor:.2f} s; ours = {total / floor:.1f}x the floor"
    )
    print(f"peak RSS: {_rss_mb():.0f} MB; load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
