"""One Roo Code task as Roo Code stores it: ui messages, API history, telemetry, totals.

A `TaskBuilder` appends messages in time order; each high-level action (read, write,
command, MCP call, …) writes the ui messages, the matching assistant `tool_use` and user
`tool_result` turns, the telemetry events and, when it mutates, an audit-trail entry.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from tasks.telemetry.generator import content
from tasks.telemetry.generator.actions import Actions
from tasks.telemetry.generator.catalog import Model, VersionFlags, dumps, hexstr, iso_ms

__all__ = ["TaskBuilder", "UserCtx", "dumps"]


@dataclass
class UserCtx:
    """What a task needs to know about the user running it."""

    name: str
    team: str
    flags: VersionFlags
    platform: str
    home: str
    records_messages: bool  # organisation records Task Message telemetry for this user
    checkpoints: bool
    mcp_servers: tuple[str, ...]


@dataclass
class TaskBuilder(Actions):
    rng: random.Random
    user: UserCtx
    task_id: str
    ts: int
    model: Model
    mode: str
    workspace: str
    api_config: str = "default"
    parent_id: str | None = None
    root_id: str | None = None
    number: int = 1
    msgs: list[dict[str, Any]] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    events: list[tuple[int, str, dict[str, Any]]] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)
    extra_files: dict[str, str] = field(default_factory=dict)
    secrets: list[tuple[str, str]] = field(default_factory=list)
    decoys: list[tuple[str, str]] = field(default_factory=list)
    files_in_context: dict[str, dict[str, Any]] = field(default_factory=dict)
    child_ids: list[str] = field(default_factory=list)
    prompt: str = ""
    status: str = "active"
    ctx_tokens: int = 0
    last_hash: str | None = None
    reported_factor: float = 1.0  # != 1 for a planted provider cost drift
    totals: dict[str, Any] = field(
        default_factory=lambda: dict(
            tokens_in=0,
            tokens_out=0,
            cache_writes=0,
            cache_reads=0,
            cost=0.0,
            formula_cost=0.0,
            api_requests=0,
        )
    )
    counts: dict[str, int] = field(
        default_factory=lambda: dict(writes=0, commands=0, mcp=0, restores=0, failures=0)
    )

    # --- primitives -----------------------------------------------------------------

    def tick(self, lo: float = 1.5, hi: float = 20.0) -> int:
        self.ts += int(self.rng.uniform(lo, hi) * 1000)
        return self.ts

    def _msg(self, kind: str, value: str, text: str | None = None, **extra: Any) -> dict[str, Any]:
        msg: dict[str, Any] = {"ts": self.tick(0.2, 3.0), "type": kind, kind: value}
        if text is not None:
            msg["text"] = text
        msg.update(extra)
        self.msgs.append(msg)
        if self.user.records_messages:
            self.event("Task Message", {"message": msg}, at=msg["ts"])
        return msg

    def say(self, value: str, text: str | None = None, **extra: Any) -> dict[str, Any]:
        return self._msg("say", value, text, **extra)

    def ask(self, value: str, text: str | None = None, **extra: Any) -> dict[str, Any]:
        return self._msg("ask", value, text, **extra)

    def common(self) -> dict[str, Any]:
        props: dict[str, Any] = {
            "appName": "roo-code",
            "appVersion": self.user.flags.version,
            "vscodeVersion": "1.105.1",
            "platform": self.user.platform,
            "editorName": "Visual Studio Code",
            "language": "en",
            "mode": self.mode,
            "taskId": self.task_id,
        }
        if self.parent_id:
            props["parentTaskId"] = self.parent_id
        props.update(
            apiProvider=self.model.provider,
            modelId=self.model.model_id,
            diffStrategy="unified",
            isSubtask=self.parent_id is not None,
            cloudIsAuthenticated=self.user.records_messages,
            repositoryName=self.workspace.rsplit("/", 1)[-1],
            defaultBranch="main",
        )
        return props

    def event(self, name: str, extra: dict[str, Any] | None = None, at: int | None = None) -> None:
        props = self.common()
        props.update(extra or {})
        self.events.append((at if at is not None else self.ts, name, props))

    def action(self, kind: str, **what: Any) -> None:
        entry = {
            "user": self.user.name,
            "task_id": self.task_id,
            "ts": iso_ms(self.ts),
            "kind": kind,
        }
        entry.update(what)
        self.actions.append(entry)

    def _turn(self, tool: str, tool_input: dict[str, Any], result: str, thought: str = "") -> None:
        tid = "toolu_" + hexstr(self.rng, 24)
        self.history.append(
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": thought or f"I'll use {tool}."},
                    {"type": "tool_use", "id": tid, "name": tool, "input": tool_input},
                ],
                "ts": self.ts,
            }
        )
        env = content.environment_details(
            self.mode, iso_ms(self.ts), self.totals["cost"], "src/index.ts"
        )
        self.history.append(
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": tid, "content": result},
                    {"type": "text", "text": env},
                ],
                "ts": self.ts,
            }
        )

    # --- the task -------------------------------------------------------------------

    def start(self, prompt: str) -> None:
        self.prompt = prompt
        self.event("Task Created", at=self.ts)
        self.msgs.append({"ts": self.ts, "type": "say", "say": "text", "text": prompt})
        if self.user.records_messages:
            self.event("Task Message", {"message": self.msgs[-1]}, at=self.ts)
        env = content.environment_details(self.mode, iso_ms(self.ts), 0.0, "")
        self.history.append(
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": f"<task>\n{prompt}\n</task>"},
                    {"type": "text", "text": env},
                ],
                "ts": self.ts,
            }
        )
        self.ctx_tokens = self.rng.randint(9_000, 16_000)

    def api_request(
        self, grow: int | None = None, failures: list[str] | None = None, size: float = 1.0
    ) -> None:
        """One model request: ui message(s), LLM Completion event, totals."""
        rng, m, flags = self.rng, self.model, self.user.flags
        prev = self.ctx_tokens
        self.ctx_tokens = int(prev + (grow if grow is not None else rng.randint(900, 4_500)) * size)
        total = self.ctx_tokens
        out = int(rng.randint(120, 1_400) * size)
        uncached = rng.randint(30, 600)
        cr = prev if self.totals["api_requests"] else 0
        cw = max(0, total - cr - uncached) if m.caches_writes else 0
        if not m.caches_writes:
            cr = (prev // 1024) * 1024 if self.totals["api_requests"] else 0
            uncached = total - cr
        formula = m.formula_cost(uncached, out, cw, cr)
        # 10 decimals: no long float-noise digit runs that look like card numbers
        cost = round(formula * self.reported_factor, 7) if m.reports_cost else round(formula, 10)
        tokens_in = (
            uncached
            if (m.protocol == "anthropic" and flags.anthropic_in_excludes_cache)
            else uncached + cw + cr
        )
        figures = {
            "tokensIn": tokens_in,
            "tokensOut": out,
            "cacheWrites": cw,
            "cacheReads": cr,
            "cost": cost,
        }
        head: dict[str, Any] = {}
        if flags.request_in_started:
            head["request"] = (
                f"<task>\n{self.prompt}\n</task>"
                if not self.totals["api_requests"]
                else "[tool result]\n\nLoading..."
            )
        if failures is not None:  # never succeeded: no figures, no completion event
            self.say("api_req_started", dumps({**head, "apiProtocol": m.protocol}))
            for text in failures:
                self.ask("api_req_failed", text)
                self.counts["failures"] += 1
                self.tick(5, 40)
                self.say("api_req_retried")
            return
        if flags.legacy_finished:
            self.say("api_req_started", dumps(head))
        else:
            self.say("api_req_started", dumps({**head, "apiProtocol": m.protocol, **figures}))
        for key, val in (
            ("tokens_in", tokens_in),
            ("tokens_out", out),
            ("cache_writes", cw),
            ("cache_reads", cr),
            ("cost", cost),
        ):
            self.totals[key] += val
        self.totals["formula_cost"] += formula
        self.totals["api_requests"] += 1
        self.event(
            "LLM Completion",
            {
                "inputTokens": tokens_in,
                "outputTokens": out,
                "cacheReadTokens": cr,
                "cacheWriteTokens": cw,
                "cost": cost,
            },
        )
        if rng.random() < 0.3:
            self.say("reasoning", "Let me look at the relevant code before changing anything.")
        if flags.legacy_finished:
            self.say("api_req_finished", dumps(figures))

    # --- outputs ---------------------------------------------------------------------

    def history_item(self, size: int) -> dict[str, Any]:
        t = self.totals
        item: dict[str, Any] = {
            "id": self.task_id,
            "number": self.number,
            "ts": self.msgs[-1]["ts"],
            "task": self.prompt,
            "tokensIn": t["tokens_in"],
            "tokensOut": t["tokens_out"],
            "cacheWrites": t["cache_writes"],
            "cacheReads": t["cache_reads"],
            "totalCost": round(t["cost"], 10),
            "size": size,
            "workspace": self.workspace,
            "mode": self.mode,
            "apiConfigName": self.api_config,
        }
        if self.parent_id:
            item.update(rootTaskId=self.root_id, parentTaskId=self.parent_id)
        if self.child_ids:
            item["childIds"] = list(self.child_ids)
        item["status"] = self.status
        return item

    def context_tokens(self) -> int:
        return self.ctx_tokens
