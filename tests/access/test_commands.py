"""Roo Code's command matching, case by case from its own documentation and tests."""

from __future__ import annotations

import pytest

from tasks.access.commands import (
    command_decision,
    contains_dangerous_substitution,
    find_longest_prefix_match,
    single_command_decision,
    split_command,
)


@pytest.mark.parametrize(
    ("command", "allowed", "denied", "expected"),
    [
        ("git push origin main", ["git"], ["git push"], "auto_deny"),
        ("git push --dry-run origin main", ["git push --dry-run"], ["git push"], "auto_approve"),
        ("rm -rf /", ["*"], ["rm", "sudo"], "auto_deny"),
        ("npm install", ["*"], [], "auto_approve"),
        ("unknown command", ["git"], ["rm"], "ask_user"),
        ("GIT STATUS", ["git"], [], "auto_approve"),  # case-insensitive
        ("github-cli run", ["git"], [], "auto_approve"),  # plain startsWith, no word boundary
        ("rmdir build", ["npm"], ["rm"], "auto_deny"),
        ("rm x", ["rm"], ["rm"], "auto_deny"),  # equal length: deny wins
        ("ls", ["*"], ["l"], "auto_deny"),  # '*' counts as length 1
        ("ls", [""], [], "ask_user"),  # an empty prefix is falsy in the TS code
    ],
)
def test_single_command_decision(command, allowed, denied, expected):
    assert single_command_decision(command, allowed, denied) == expected


def test_longest_prefix():
    assert find_longest_prefix_match("git push origin", ["git", "git push"]) == "git push"
    assert find_longest_prefix_match("npm install", ["*", "npm"]) == "npm"
    assert find_longest_prefix_match("x", []) is None


def test_chains_and_subshells_are_checked_separately():
    assert split_command("git status && rm -rf / ; echo 'a;b' | tee $(whoami)") == [
        "git status",
        "rm -rf /",
        "echo 'a;b'",
        "tee",
        "whoami",
    ]
    assert command_decision("git status && rm file", ["git"], ["rm"]) == "auto_deny"
    assert command_decision("git status && npm test", ["git"], []) == "ask_user"
    assert command_decision("git log | head", ["git", "head"], []) == "auto_approve"


def test_dangerous_substitutions_always_ask():
    assert contains_dangerous_substitution('echo "${var@P}"')
    assert command_decision('echo "${var@P}"', ["echo"], []) == "ask_user"
    assert not contains_dangerous_substitution("echo $HOME")
