"""PASS and FAIL snapshots for every check (the meta-test insists each check has both)."""

from __future__ import annotations

from tasks.access.snapshot import CollectError, OrgSettings, RootAccount

from .builders import (
    ADMIN_DOC,
    PRIVESC_DOC,
    READ_DOC,
    ago,
    key,
    person,
    policy,
    roo,
    server,
    snap,
    user,
)

GOD = {"autoApprovalEnabled": True, "alwaysAllowExecute": True, "allowedCommands": ["*"]}
CAPS = {"allowedMaxRequests": 50, "allowedMaxCost": 5}

# check id -> list of (case name, snapshot, expected number of failing/error findings)
CASES = {
    "iam_user_console_password_without_mfa": [
        ("pass_mfa", snap([user(password_enabled=True, mfa_active=True)]), 0),
        ("pass_no_password", snap([user(password_enabled=False)]), 0),
        ("fail", snap([user(password_enabled=True, mfa_active=False)]), 1),
    ],
    "iam_user_access_key_unused_45_days": [
        ("pass_recent", snap([user(access_keys=[key(used=3)])]), 0),
        ("pass_new_never_used", snap([user(access_keys=[key(age=10, used=None)])]), 0),
        ("pass_inactive", snap([user(access_keys=[key(active=False, used=200)])]), 0),
        ("fail_unused", snap([user(access_keys=[key(age=100, used=60)])]), 1),
        ("fail_never_used", snap([user(access_keys=[key(age=46, used=None)])]), 1),
    ],
    "iam_user_console_password_unused_45_days": [
        ("pass", snap([user(password_enabled=True, password_last_used=ago(2))]), 0),
        ("fail_unused", snap([user(password_enabled=True, password_last_used=ago(50))]), 1),
        ("fail_never_used", snap([user(password_enabled=True, password_last_changed=ago(90))]), 1),
    ],
    "iam_user_access_key_not_rotated_90_days": [
        ("pass", snap([user(access_keys=[key(age=89)])]), 0),
        ("fail", snap([user(access_keys=[key(age=91)])]), 1),
    ],
    "iam_user_two_active_access_keys": [
        ("pass", snap([user(access_keys=[key(1), key(2, active=False)])]), 0),
        ("fail", snap([user(access_keys=[key(1), key(2)])]), 1),
    ],
    "iam_root_access_keys_present": [
        ("pass_no_row", snap([]), 0),
        ("pass", snap([], root=RootAccount(mfa_active=True)), 0),
        ("fail", snap([], root=RootAccount(mfa_active=True, access_key_2_active=True)), 1),
    ],
    "iam_root_mfa_disabled": [
        ("pass_no_row", snap([]), 0),
        ("pass", snap([], root=RootAccount(mfa_active=True)), 0),
        ("fail", snap([], root=RootAccount(mfa_active=False)), 1),
    ],
    "iam_administrator_policy_attached": [
        ("pass", snap([user(policies=[policy("read", READ_DOC)])]), 0),
        (
            "fail_managed",
            snap(
                [
                    user(
                        policies=[
                            policy(
                                "AdministratorAccess",
                                None,
                                arn="arn:aws:iam::aws:policy/AdministratorAccess",
                            )
                        ]
                    )
                ]
            ),
            1,
        ),
        (
            "fail_inline",
            snap([user(policies=[policy("all", ADMIN_DOC, via="user", inline=True)])]),
            1,
        ),
    ],
    "iam_privilege_escalation_actions": [
        (
            "pass_half_combo",
            snap(
                [
                    user(
                        policies=[
                            policy(
                                "p",
                                {
                                    "Statement": [
                                        {
                                            "Effect": "Allow",
                                            "Action": "iam:PassRole",
                                            "Resource": "*",
                                        }
                                    ]
                                },
                            )
                        ]
                    )
                ]
            ),
            0,
        ),
        (
            "pass_denied",
            snap(
                [
                    user(
                        policies=[
                            policy("p", PRIVESC_DOC),
                            policy(
                                "d",
                                {
                                    "Statement": [
                                        {"Effect": "Deny", "Action": "ec2:Run*", "Resource": "*"}
                                    ]
                                },
                            ),
                        ]
                    )
                ]
            ),
            0,
        ),
        ("fail_passrole_ec2", snap([user(policies=[policy("p", PRIVESC_DOC)])]), 1),
        (
            "fail_wildcard",
            snap(
                [
                    user(
                        policies=[
                            policy(
                                "p",
                                {
                                    "Statement": {
                                        "Effect": "Allow",
                                        "Action": "iam:Create*",
                                        "Resource": "*",
                                    }
                                },
                            )
                        ]
                    )
                ]
            ),
            1,
        ),
    ],
    "iam_policy_attached_directly_to_user": [
        ("pass", snap([user(policies=[policy("read", READ_DOC, via="group:devs")])]), 0),
        ("fail", snap([user(policies=[policy("read", READ_DOC, via="user")])]), 1),
    ],
    "roo_god_mode_auto_approve": [
        ("pass_denied", snap(settings=[roo(**GOD, deniedCommands=["rm"])]), 0),
        ("pass_switch_off", snap(settings=[roo(**{**GOD, "autoApprovalEnabled": False})]), 0),
        ("fail", snap(settings=[roo(**GOD)]), 1),
    ],
    "roo_broad_allowed_commands": [
        (
            "pass_defaults",
            snap(
                settings=[
                    roo(
                        autoApprovalEnabled=True,
                        alwaysAllowExecute=True,
                        allowedCommands=["git log", "git diff", "git show", "npm test"],
                    )
                ]
            ),
            0,
        ),
        (
            "pass_denied_longer",
            snap(
                settings=[
                    roo(
                        autoApprovalEnabled=True,
                        alwaysAllowExecute=True,
                        allowedCommands=["git"],
                        deniedCommands=["git push", "github"],
                    )
                ]
            ),
            0,
        ),
        (
            "fail_bash",
            snap(
                settings=[
                    roo(autoApprovalEnabled=True, alwaysAllowExecute=True, allowedCommands=["BASH"])
                ]
            ),
            1,
        ),
        (
            "fail_git",
            snap(
                settings=[
                    roo(autoApprovalEnabled=True, alwaysAllowExecute=True, allowedCommands=["git"])
                ]
            ),
            1,
        ),
    ],
    "roo_write_outside_workspace": [
        ("pass", snap(settings=[roo(autoApprovalEnabled=True, alwaysAllowWrite=True)]), 0),
        (
            "fail_outside",
            snap(
                settings=[
                    roo(
                        autoApprovalEnabled=True,
                        alwaysAllowWrite=True,
                        alwaysAllowWriteOutsideWorkspace=True,
                    )
                ]
            ),
            1,
        ),
        (
            "fail_protected",
            snap(
                settings=[
                    roo(
                        autoApprovalEnabled=True,
                        alwaysAllowWrite=True,
                        alwaysAllowWriteProtected=True,
                    )
                ]
            ),
            1,
        ),
    ],
    "roo_mcp_always_allow_write": [
        (
            "pass_read_tools",
            snap(
                settings=[roo(mcp={"gh": server("gh", always_allow=["get_issue", "list_pulls"])})]
            ),
            0,
        ),
        (
            "pass_disabled",
            snap(
                settings=[roo(mcp={"gh": server("gh", always_allow=["push_files"], disabled=True)})]
            ),
            0,
        ),
        (
            "fail",
            snap(
                settings=[roo(mcp={"gh": server("gh", always_allow=["get_issue", "push_files"])})]
            ),
            1,
        ),
    ],
    "roo_project_mcp_overrides_global": [
        (
            "pass_same",
            snap(
                settings=[
                    roo(
                        mcp={"gh": server("gh", command="npx")},
                        projects={"web": {"gh": server("gh", command="npx", source="project:web")}},
                    )
                ]
            ),
            0,
        ),
        (
            "fail",
            snap(
                settings=[
                    roo(
                        mcp={"gh": server("gh", command="npx")},
                        projects={
                            "web": {"gh": server("gh", command="./evil.sh", source="project:web")}
                        },
                    )
                ]
            ),
            1,
        ),
    ],
    "roo_credentials_in_settings": [
        (
            "pass_reference",
            snap(
                settings=[
                    roo(mcp={"gh": server("gh", env={"GITHUB_TOKEN": "${env:GITHUB_TOKEN}"})})
                ]
            ),
            0,
        ),
        (
            "fail_profile",
            snap(
                settings=[
                    roo(
                        profiles={
                            "apiConfigs": {
                                "default": {
                                    "apiProvider": "anthropic",
                                    "apiKey": "sk-ant-api03-abcdefghijklmnopqrstuvwx",
                                }
                            }
                        }
                    )
                ]
            ),
            1,
        ),
        (
            "fail_mcp_env",
            snap(
                settings=[
                    roo(
                        mcp={
                            "aws": server("aws", env={"AWS_ACCESS_KEY_ID": "AKIAABCDEFGHIJKLMNOP"})
                        }
                    )
                ]
            ),
            1,
        ),
    ],
    "roo_auto_approval_without_caps": [
        (
            "pass_caps",
            snap(settings=[roo(autoApprovalEnabled=True, alwaysAllowWrite=True, **CAPS)]),
            0,
        ),
        (
            "pass_read_only",
            snap(settings=[roo(autoApprovalEnabled=True, alwaysAllowReadOnly=True)]),
            0,
        ),
        (
            "fail",
            snap(
                settings=[
                    roo(autoApprovalEnabled=True, alwaysAllowWrite=True, allowedMaxRequests=0)
                ]
            ),
            1,
        ),
    ],
    "org_allow_all_providers": [
        (
            "pass",
            snap(
                org=OrgSettings(
                    allow_list={
                        "allowAll": False,
                        "providers": {
                            "anthropic": {"allowAll": False, "models": ["claude-sonnet-4-5"]}
                        },
                    }
                )
            ),
            0,
        ),
        ("fail_default", snap(org=OrgSettings()), 1),
        ("fail_explicit", snap(org=OrgSettings(allow_list={"allowAll": True})), 1),
    ],
    "org_public_task_sharing": [
        (
            "pass",
            snap(
                org=OrgSettings(
                    cloud_settings={"enableTaskSharing": True, "allowPublicTaskSharing": False}
                )
            ),
            0,
        ),
        ("fail_default", snap(org=OrgSettings()), 1),
    ],
    "access_inputs_readable": [
        ("pass", snap(), 0),
        (
            "fail",
            snap(
                errors=[
                    CollectError(
                        source="raw/roo/u1/settings/mcp_settings.json",
                        problem="invalid JSON at line 1 column 2",
                    )
                ]
            ),
            1,
        ),
    ],
    "roster_terminated_or_unknown_access": [
        (
            "pass",
            snap([user("u1", password_enabled=True)], settings=[roo("u1")], roster=[person("u1")]),
            0,
        ),
        (
            "pass_leaver_no_credentials",
            snap([user("u1")], roster=[person("u1", status="terminated")]),
            0,
        ),
        (
            "fail_leaver",
            snap([user("u1", access_keys=[key()])], roster=[person("u1", status="terminated")]),
            1,
        ),
        (
            "fail_unknown",
            snap(
                [user("ghost", password_enabled=True)],
                settings=[roo("ghost2")],
                roster=[person("u1")],
            ),
            2,
        ),
    ],
    "roster_admin_without_mfa": [
        (
            "pass",
            snap(
                [user("u1", mfa_active=True, policies=[policy("a", ADMIN_DOC)])],
                roster=[person("u1")],
            ),
            0,
        ),
        ("fail", snap([user("u1", policies=[policy("a", ADMIN_DOC)])], roster=[person("u1")]), 1),
    ],
    "roster_self_approval": [
        ("pass", snap(roster=[person("u1", manager="boss"), person("boss", manager="ceo")]), 0),
        ("fail", snap(roster=[person("u1", manager="u1@example.com")]), 1),
    ],
}
