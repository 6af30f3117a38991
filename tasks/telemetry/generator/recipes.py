"""Task recipes: ordinary tasks per mode, and the activity incidents' tasks.

A recipe drives a `TaskBuilder`; `extras` are planted snippets (secrets or decoys) the
recipe must place in the task. Each recipe leaves the builder's clock at the task's end.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from tasks.telemetry.generator import content, sensitive
from tasks.telemetry.generator.task import TaskBuilder, dumps

NewChild = Callable[[TaskBuilder, str], TaskBuilder]

AUTH_TEXTS = (
    '401 {"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}',
    "403 Forbidden: Your API key does not have permission to use the specified resource.",
    "401 Unauthorized: The security token included in the request is expired",
    "403 AccessDeniedException: You don't have access to the model with the specified model ID.",
)


def place_snippet(b: TaskBuilder, name: str) -> None:
    """Put one planted snippet where such data really shows up in a task."""
    rng = b.rng
    factory = sensitive.SECRET_SNIPPETS.get(name) or sensitive.DECOY_SNIPPETS[name]
    snip = factory(rng)
    b.secrets += snip.secrets
    b.decoys += snip.decoys
    b.api_request()
    if name == "env_dump":
        long = rng.random() < 0.5
        out = (content.command_output(rng, "build", long=True) + snip.text) if long else snip.text
        b.command("npm run build && env | sort" if long else "env | sort", out)
    elif name == "private_keys":
        b.command(
            "kubectl get secret tls-cert -o jsonpath='{.data.tls\\.key}' | base64 -d", snip.text
        )
    elif name == "private_keys_long":
        b.command("make deploy-certs", content.command_output(rng, "build", long=True) + snip.text)
    elif name == "curl_bearer":
        token = snip.secrets[0][1]
        b.command(
            f'curl -sv -H "Authorization: Bearer {token}" https://api.acme.io/v1/accounts',
            snip.text,
        )
    elif name == "dotenv":
        b.read(".env", snip.text)
    elif name == "pypirc_and_bot":
        b.read("deploy/bot-config.yaml", snip.text)
    elif name == "customer_rows":
        b.mcp(
            "postgres", "query", {"sql": "select * from customers order by id limit 3"}, snip.text
        )
    elif name == "config_file":
        b.write("config/service.ini", "newFileCreated", snip.text)
    elif name == "pasted_tokens":
        b.say("user_feedback", snip.text)
        b.history.append(
            {
                "role": "user",
                "content": [{"type": "text", "text": f"<feedback>\n{snip.text}\n</feedback>"}],
                "ts": b.ts,
            }
        )
    elif name == "git_log":
        b.command("git log -3 --format='%H %s'", snip.text)
    elif name == "docker_digests":
        b.command("docker images --digests billing-worker", snip.text)
    elif name == "aws_docs":
        b.read("docs/aws-setup.md", snip.text)
    elif name == "fixtures_blob":
        b.read("tests/fixtures/orders.yaml", snip.text)


def _maybe_error(b: TaskBuilder) -> None:
    r = b.rng.random()
    if r < 0.06:
        b.transient_error()
    elif r < 0.09:
        b.diff_error(content.path(b.rng))
    elif r < 0.11:
        question = {
            "question": "Should the limit be configurable per tenant?",
            "suggest": [{"answer": "Yes, per tenant"}, {"answer": "No, global"}],
        }
        b.ask("followup", dumps(question))
        b.say("user_feedback", "Yes, per tenant")
    elif r < 0.115:
        b.ask("auto_approval_max_req_reached", dumps({"count": 50, "type": "requests"}))


def ordinary(b: TaskBuilder, extras: list[str], new_child: NewChild, size: float = 1.0) -> None:
    """A task in its mode: reads, searches, writes, commands, MCP, checkpoints, completion."""
    rng = b.rng
    b.start(content.prompt(rng))
    mode = b.mode
    steps = rng.randint(3, 9) if size <= 1 else int(rng.randint(12, 24) * min(size, 1.5))
    if mode == "orchestrator":
        for _ in range(rng.randint(1, 2)):
            b.api_request(size=size)
            new_child(b, "code")
        b.api_request(size=size)
        b.say("subtask_result", "Subtasks finished: the change is implemented and tested.")
        b.complete("All subtasks completed.")
        return
    edits = mode in ("code", "debug", "architect")
    for i in range(steps):
        b.api_request(size=size)
        _maybe_error(b)
        r = rng.random()
        if i < 2 or r < 0.30 or not edits:
            b.read(content.path(rng)) if rng.random() < 0.75 else b.search()
        elif r < 0.62:
            p = content.path(rng, ".md" if mode == "architect" else None)
            b.write(p, rng.choice(_write_tools(b)))
            if rng.random() < 0.05 and b.last_hash:
                b.restore()
        elif r < 0.85 and mode != "architect":
            cmd, kind = rng.choice(content.COMMANDS)
            b.command(cmd, content.command_output(rng, kind, long=rng.random() < 0.15))
        elif r < 0.93:
            server = rng.choice(("github", "context7"))
            tool = rng.choice(content.MCP_SERVERS[server])
            b.mcp(
                server,
                tool,
                {"query": "retry helper"},
                '{"results":[{"title":"retry helper","score":0.92}]}',
            )
        else:
            b.search()
    for name in extras:
        place_snippet(b, name)
    if mode == "architect" and rng.random() < 0.5:
        b.api_request(size=size)
        b.switch_mode("code")
        b.api_request(size=size)
        b.write(content.path(rng, ".ts"), "appliedDiff")
    if steps > 7 and rng.random() < 0.3:
        b.condense()
    b.api_request(size=size)
    if rng.random() < 0.03:
        b.mistake_limit()
    elif rng.random() < 0.88:
        b.complete()


def _write_tools(b: TaskBuilder) -> tuple[str, ...]:
    if b.user.flags.legacy_finished:
        return ("appliedDiff", "searchAndReplace", "insertContent", "newFileCreated")
    return ("appliedDiff", "appliedDiff", "editedExistingFile", "newFileCreated")


def readonly(b: TaskBuilder) -> None:
    """An ask-mode question: reads only (the carrier for planted malformed records)."""
    rng = b.rng
    b.start("Explain how " + rng.choice(content.THINGS) + " are validated")
    for _ in range(rng.randint(2, 4)):
        b.api_request()
        b.read(content.path(rng))
    b.api_request()
    b.say("text", "Validation happens in the handler before the service call.")
    b.complete("Validation happens in the handler before the service call.")


# --- activity incidents ---------------------------------------------------------------


def auth_failures(b: TaskBuilder, n: int) -> list[str]:
    b.start(content.prompt(b.rng))
    texts = [AUTH_TEXTS[(i + b.rng.randint(0, 3)) % len(AUTH_TEXTS)] for i in range(n)]
    b.api_request(failures=texts)
    return [t.split(" ", 1)[0] for t in texts]


def command_timeouts(b: TaskBuilder, n: int) -> list[str]:
    rng = b.rng
    b.start("Run the end-to-end suite and fix what fails")
    cmds = []
    for _ in range(n):
        b.api_request()
        cmd = rng.choice(
            [
                "npm run test:e2e",
                "terraform apply -auto-approve",
                "docker compose up --build",
                "pytest -q tests/integration",
            ]
        )
        b.command(cmd, content.command_output(rng, "test"), timeout=True)
        b.tick(60, 240)
        cmds.append(cmd)
    b.api_request()
    return cmds


def rollbacks(b: TaskBuilder, n: int) -> None:
    rng = b.rng
    b.start("Try three approaches to the caching bug and keep the one that works")
    for _ in range(n):
        b.api_request()
        b.write(content.path(rng, ".ts"), "appliedDiff")
        if not b.last_hash:
            b.checkpoint()
        b.restore()
        b.tick(10, 60)
    b.api_request()
    b.complete()


def outside_writes(b: TaskBuilder) -> list[str]:
    rng = b.rng
    paths = ["/etc/hosts", "../../payments-infra/.env", f"{b.user.home}/.aws/config"]
    b.start("Point the service at the staging database and fix local DNS")
    for p in paths:
        b.api_request()
        b.read(content.path(rng))
        b.api_request()
        b.write(
            p,
            "editedExistingFile",
            "# staging-db.internal added for local testing\n"
            if p == "/etc/hosts"
            else "region = us-east-1\n",
            outside=True,
        )
    b.api_request()
    b.complete()
    return paths


def write_burst(b: TaskBuilder, n: int) -> dict[str, Any]:
    rng = b.rng
    b.start("Rename the logger import across the whole codebase")
    first = None
    for i in range(n):
        b.api_request(grow=rng.randint(100, 300))
        b.write(f"src/{rng.choice(content.NAMES)}_{i}.ts", "appliedDiff")
        first = first or b.actions[-1]["ts"]
        b.ts += 1  # keep the burst tight: the builder ticks per message already
    last = b.actions[-1]["ts"]
    b.api_request()
    b.complete()
    return {"count": n, "first": first, "last": last}


def expensive(b: TaskBuilder) -> None:
    rng = b.rng
    b.start("Review the whole repository for concurrency bugs and fix them")
    for _ in range(rng.randint(18, 26)):
        b.api_request(grow=rng.randint(4_000, 9_000), size=1.0)
        b.read(content.path(rng)) if rng.random() < 0.6 else b.write(
            content.path(rng), "appliedDiff"
        )
    b.api_request()
    b.complete()


def pick_mode(rng: random.Random) -> str:
    from tasks.telemetry.generator.catalog import MODE_WEIGHTS, MODES, pick_weighted

    return pick_weighted(rng, MODES, MODE_WEIGHTS)
