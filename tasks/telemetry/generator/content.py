"""Ordinary task content: prompts, file paths and bodies, shell commands and their output.

Baseline content holds no secret, personal data, IP address or e-mail address, so that
every sensitive value in the fleet is one the ground truth lists.
"""

from __future__ import annotations

import random

PROMPTS = (
    "Add pagination to the {thing} endpoint and cover it with tests",
    "Fix the flaky test in {thing} that times out on CI",
    "Refactor {thing} to use the new retry helper",
    "Explain how {thing} handles idempotency keys",
    "Write a design note for moving {thing} to event sourcing",
    "Bump dependencies in {thing} and fix the type errors",
    "Add structured logging to {thing}",
    "Investigate why {thing} leaks memory under load",
    "Port the {thing} module from callbacks to async/await",
    "Add input validation to the {thing} handler",
)
THINGS = (
    "invoices",
    "refunds",
    "user-sessions",
    "webhooks",
    "ledger-entries",
    "search",
    "exports",
    "feature-flags",
)
DIRS = ("src", "src/api", "src/services", "src/lib", "tests", "docs", "scripts")
NAMES = (
    "handler",
    "client",
    "retry",
    "models",
    "routes",
    "config",
    "utils",
    "schema",
    "worker",
    "index",
)
EXTS = (".ts", ".ts", ".py", ".go", ".tsx", ".md")

COMMANDS = (
    ("npm test", "test"),
    ("npm run lint", "lint"),
    ("pytest -q", "pytest"),
    ("go test ./...", "gotest"),
    ("git status", "status"),
    ("git diff --stat", "diffstat"),
    ("npm run build", "build"),
    ("terraform plan -no-color", "tfplan"),
    ("docker compose ps", "compose"),
)
# Allowed-by-default command prefixes in baseline settings (see settings.py).
SAFE_ALLOWED = (
    "git log",
    "git diff",
    "git show",
    "git status",
    "npm test",
    "npm run lint",
    "pytest",
)

MCP_SERVERS = {
    "github": ("search_code", "get_issue", "list_pull_requests"),
    "context7": ("resolve-library-id", "get-library-docs"),
    "postgres": ("query",),
    "sentry": ("get_issue_details", "search_errors"),
}


def prompt(rng: random.Random) -> str:
    return rng.choice(PROMPTS).format(thing=rng.choice(THINGS))


def path(rng: random.Random, ext: str | None = None) -> str:
    return f"{rng.choice(DIRS)}/{rng.choice(NAMES)}{ext or rng.choice(EXTS)}"


def code_body(rng: random.Random, p: str, lines: int | None = None) -> str:
    n = lines or rng.randint(8, 30)
    name = p.rsplit("/", 1)[-1].split(".")[0]
    if p.endswith(".py"):
        head = [f'"""{name} module."""', "", "from __future__ import annotations", ""]
        body = [
            f"def {name}_{i}(value: int) -> int:\n    return value * {i} + {rng.randint(1, 99)}\n"
            for i in range(n // 3)
        ]
    elif p.endswith(".md"):
        head = [f"# {name.title()}", ""]
        body = [
            f"- Step {i}: review the {rng.choice(THINGS)} flow and note open questions."
            for i in range(n)
        ]
    elif p.endswith(".go"):
        head = ["package main", "", 'import "fmt"', ""]
        body = [f'func {name}{i}() {{ fmt.Println("{name} {i}") }}' for i in range(n // 2)]
    else:
        head = ["import { retry } from './retry';", ""]
        body = [
            f"export function {name}{i}(input: number): number {{\n  return retry(() => input + {rng.randint(1, 999)});\n}}"
            for i in range(n // 3)
        ]
    return "\n".join(head + body) + "\n"


def diff_body(rng: random.Random) -> str:
    a, b = rng.randint(1, 400), rng.randint(1, 99)
    return (
        f"<<<<<<< SEARCH\n:start_line:{a}\n-------\n  const limit = {b};\n=======\n"
        f"  const limit = Math.min({b}, config.maxPageSize);\n>>>>>>> REPLACE"
    )


def command_output(rng: random.Random, kind: str, long: bool = False) -> str:
    if kind in ("test", "pytest", "gotest"):
        n = rng.randint(40, 160) if long else rng.randint(4, 14)
        lines = [
            f"  PASS  tests/{rng.choice(NAMES)}_{i}.test.ts ({rng.randint(3, 900)} ms)"
            for i in range(n)
        ]
        lines.append(
            f"Tests: {n} passed, {n} total\nTime: {rng.randint(2, 80)}.{rng.randint(0, 9)} s"
        )
        return "\n".join(lines) + "\n"
    if kind == "lint":
        return f"> eslint . --ext .ts\n\n{rng.randint(0, 3)} problems (0 errors, warnings only)\n"
    if kind == "status":
        return "On branch feature/pagination\nChanges not staged for commit:\n\tmodified:   src/api/routes.ts\n"
    if kind == "diffstat":
        return " src/api/routes.ts | 12 ++++++++----\n 1 file changed, 8 insertions(+), 4 deletions(-)\n"
    if kind == "build":
        n = rng.randint(60, 200) if long else rng.randint(3, 10)
        return (
            "".join(f"[build] compiled module {i} in {rng.randint(1, 90)} ms\n" for i in range(n))
            + "Build finished.\n"
        )
    if kind == "tfplan":
        n = rng.randint(20, 80) if long else 4
        return (
            "".join(
                f'  # aws_s3_bucket.logs[{i}] will be updated in-place\n      ~ tags = {{ "team" = "x" }}\n'
                for i in range(n)
            )
            + "Plan: 0 to add, 3 to change, 0 to destroy.\n"
        )
    return "NAME      STATUS    PORTS\napi       running   8080/tcp\nworker    running\n"


def environment_details(mode: str, when: str, cost: float, visible: str) -> str:
    return (
        f"<environment_details>\n# VSCode Visible Files\n{visible}\n\n# Current Time\n{when}\n\n"
        f"# Current Cost\n${cost:.2f}\n\n# Current Mode\n<slug>{mode}</slug>\n</environment_details>"
    )
