"""Roo Code's command auto-approval rules, ported from webview-ui/src/utils/command-validation.ts.

Matching is a case-insensitive `startsWith` on the trimmed command (so "git" also matches
"github …" and "rm" matches "rmdir"), the longest prefix wins, "*" matches anything with
length 1, an empty-string prefix never counts (it is falsy in the TS code), and an equal
allow/deny length resolves to deny.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Literal

Decision = Literal["auto_approve", "auto_deny", "ask_user"]

_DANGEROUS = [
    re.compile(r"\$\{[^}]*@[PQEAa][^}]*\}"),
    re.compile(r"\$\{[^}]*[=+\-?][^}]*\\[0-7]{3}[^}]*\}"),
    re.compile(r"\$\{[^}]*[=+\-?][^}]*\\x[0-9a-fA-F]{2}[^}]*\}"),
    re.compile(r"\$\{[^}]*[=+\-?][^}]*\\u[0-9a-fA-F]{4}[^}]*\}"),
    re.compile(r"\$\{![^}]+\}"),
    re.compile(r"<<<\s*(\$\(|`)"),
    re.compile(r"=\([^)]+\)"),
    re.compile(r"[*?+@!]\(e:[^:]+:\)"),
]
_CHAIN = re.compile(r"&&|\|\||;|\||&|\r\n|\r|\n")
_SUBSHELL = re.compile(r"\$\((.*?)\)|`(.*?)`|[<>]\(([^)]+)\)")
_REDIRECT = re.compile(r"\d*>&\d*")


def contains_dangerous_substitution(command: str) -> bool:
    return any(p.search(command) for p in _DANGEROUS)


def find_longest_prefix_match(command: str, prefixes: list[str] | None) -> str | None:
    if not command or not prefixes:
        return None
    cmd = command.strip().lower()
    longest: str | None = None
    for prefix in prefixes:
        p = str(prefix).lower()
        if (p == "*" or cmd.startswith(p)) and (not longest or len(p) > len(longest)):
            longest = p
    return longest


def single_command_decision(
    command: str, allowed: list[str] | None, denied: list[str] | None = None
) -> Decision:
    if not command:
        return "auto_approve"
    allow = find_longest_prefix_match(command, allowed or [])
    deny = find_longest_prefix_match(command, denied or [])
    if allow and not deny:
        return "auto_approve"
    if deny and not allow:
        return "auto_deny"
    if allow and deny:
        return "auto_approve" if len(allow) > len(deny) else "auto_deny"
    return "ask_user"


def split_command(command: str) -> list[str]:
    """Sub-commands: chains (&&, ||, ;, |, &, newlines) and subshells are checked separately.

    A simplified port of parseCommand (no shell-quote): quoted strings are kept whole.
    """
    quotes: list[str] = []

    def keep(m: re.Match[str]) -> str:
        quotes.append(m.group(0))
        return f"\x00{len(quotes) - 1}\x00"

    inner: list[str] = []

    def sub(m: re.Match[str]) -> str:
        inner.append(next(g for g in m.groups() if g is not None).strip())
        return " "

    text = re.sub(r"\"[^\"]*\"|'[^']*'", keep, _SUBSHELL.sub(sub, command))
    parts = [p.strip() for p in _CHAIN.split(text) if p.strip()]
    restore = [re.sub(r"\x00(\d+)\x00", lambda m: quotes[int(m.group(1))], p) for p in parts]
    return restore + [c for s in inner for c in split_command(s)]


def command_decision(
    command: str, allowed: list[str] | None, denied: list[str] | None = None
) -> Decision:
    """getCommandDecision: any denied sub-command denies all; dangerous patterns ask."""
    # Many users share the same lists: decide once per (command, lists).
    return _cached_decision(command, tuple(map(str, allowed or ())), tuple(map(str, denied or ())))


@lru_cache(maxsize=65536)
def _cached_decision(command: str, allowed: tuple[str, ...], denied: tuple[str, ...]) -> Decision:
    return _command_decision(command, list(allowed), list(denied))


def _command_decision(command: str, allowed: list[str], denied: list[str]) -> Decision:
    if not command.strip():
        return "auto_approve"
    decisions = [
        single_command_decision(_REDIRECT.sub("", c, count=1).strip(), allowed, denied)
        for c in split_command(command)
    ]
    if "auto_deny" in decisions:
        return "auto_deny"
    if contains_dangerous_substitution(command):
        return "ask_user"
    return "auto_approve" if all(d == "auto_approve" for d in decisions) else "ask_user"
