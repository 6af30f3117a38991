"""The actions a task performs (mixed into TaskBuilder): each writes its ui messages, the
assistant tool_use and user tool_result turns, telemetry and, if it mutates, an audit entry.
"""

from __future__ import annotations

from typing import Any

from tasks.telemetry.generator import content
from tasks.telemetry.generator.catalog import EDIT_MODES, dumps, hexstr

WRITE_TOOLS = {
    "newFileCreated": "write_to_file",
    "editedExistingFile": "write_to_file",
    "appliedDiff": "apply_diff",
    "searchAndReplace": "search_and_replace",
    "insertContent": "insert_content",
}


class Actions:
    """Mixin for TaskBuilder (uses its fields: rng, msgs, history, events, counts, …)."""

    def transient_error(self) -> None:
        code = self.rng.choice(["429", "500", "429"])
        if code == "429":
            self.say(
                "api_req_retry_delayed",
                "429\nRate limit exceeded\n\nRetry attempt 1\nRetrying in 5 seconds...",
            )
        else:
            self.ask(
                "api_req_failed",
                '500 {"type":"error","error":{"type":"api_error","message":"Internal server error"}}',
            )
            self.counts["failures"] += 1
            self.say("api_req_retried")

    def read(self, p: str, body: str | None = None) -> None:
        abs_path = f"{self.workspace}/{p}"
        self.ask(
            "tool",
            dumps(
                {"tool": "readFile", "path": p, "isOutsideWorkspace": False, "content": abs_path}
            ),
        )
        self.event("Tool Used", {"tool": "read_file"})
        text = body if body is not None else content.code_body(self.rng, p)
        numbered = "\n".join(f"{i + 1} | {line}" for i, line in enumerate(text.split("\n")))
        self._turn(
            "read_file",
            {"path": p},
            f"<file><path>{p}</path>\n<content>\n{numbered}</content>\n</file>",
        )
        self.files_in_context.setdefault(
            p,
            {
                "path": p,
                "record_state": "active",
                "record_source": "read_tool",
                "roo_read_date": self.ts,
                "roo_edit_date": None,
                "user_edit_date": None,
            },
        )

    def search(self) -> None:
        regex = self.rng.choice(["retry\\(", "TODO", "limit", "idempotency"])
        res = f"Found {self.rng.randint(1, 9)} results.\n\n# src/lib/retry.ts\n 12 | export function retry(fn) {{"
        self.ask(
            "tool",
            dumps(
                {
                    "tool": "searchFiles",
                    "path": "src",
                    "regex": regex,
                    "filePattern": "*.ts",
                    "content": res,
                }
            ),
        )
        self.event("Tool Used", {"tool": "search_files"})
        self._turn("search_files", {"path": "src", "regex": regex}, res)

    def write(
        self, p: str, tool: str = "appliedDiff", body: str | None = None, outside: bool = False
    ) -> None:
        rng = self.rng
        msg: dict[str, Any] = {"tool": tool, "path": p}
        if tool == "newFileCreated":
            msg["content"] = body if body is not None else content.code_body(rng, p)
        else:
            msg["diff"] = body if body is not None else content.diff_body(rng)
        msg["isOutsideWorkspace"] = outside
        msg["isProtected"] = False
        self.ask("tool", dumps(msg))
        native = WRITE_TOOLS[tool]
        self.event("Tool Used", {"tool": native})
        tool_input = (
            {"path": p, "content": msg["content"]}
            if "content" in msg
            else {"path": p, "diff": msg["diff"]}
        )
        self._turn(native, tool_input, f"Changes successfully applied to {p}.")
        self.counts["writes"] += 1
        self.action("write", path=p, tool=tool, outside_workspace=outside)
        self.files_in_context[p] = {
            "path": p,
            "record_state": "active",
            "record_source": "roo_edited",
            "roo_read_date": self.ts,
            "roo_edit_date": self.ts,
            "user_edit_date": None,
        }
        if self.user.checkpoints:
            self.checkpoint()

    def checkpoint(self) -> None:
        new = hexstr(self.rng, 40)
        self.say(
            "checkpoint_saved",
            new,
            checkpoint={
                "from": self.last_hash or hexstr(self.rng, 40),
                "to": new,
                "suppressMessage": False,
            },
        )
        self.last_hash = new
        self.event("Checkpoint Created")

    def restore(self) -> None:
        self.tick(20, 90)
        self.event("Checkpoint Restored")
        self.counts["restores"] += 1
        self.action("restore", checkpoint=self.last_hash)

    def command(self, cmd: str, output: str, timeout: bool = False) -> None:
        self.ask("command", cmd)
        self.event("Tool Used", {"tool": "execute_command"})
        self.counts["commands"] += 1
        self.action("command", command=cmd)
        self.tick(2, 30 if not timeout else 60)
        if len(output) > 3000:
            exec_id = str(self.ts)
            self.extra_files[f"command-output/cmd-{exec_id}.txt"] = output
            preview = (
                output[:1500]
                + f"\n\n[Output truncated: {len(output)} chars total. Full output saved as artifact cmd-{exec_id}.txt]"
            )
        else:
            preview = output
        self.say("command_output", preview[: len(preview) // 2], partial=True)
        self.say("command_output", preview)
        result = f"Command executed in terminal within working directory '{self.workspace}'. Exit code: 0\nOutput:\n{preview}"
        if timeout:
            self.say(
                "error",
                "Command execution timed out after 60 seconds. The process may still be running in the terminal.",
            )
            result = f"Command execution timed out after 60 seconds.\nOutput so far:\n{preview}"
        self._turn("execute_command", {"command": cmd, "cwd": None}, result)

    def mcp(self, server: str, tool: str, args: dict[str, Any], response: str) -> None:
        arg_text = dumps(args)
        self.ask(
            "use_mcp_server",
            dumps(
                {
                    "type": "use_mcp_tool",
                    "serverName": server,
                    "toolName": tool,
                    "arguments": arg_text,
                }
            ),
        )
        self.event("Tool Used", {"tool": "use_mcp_tool"})
        self.counts["mcp"] += 1
        self.action("mcp", server=server, tool=tool)
        self.say("mcp_server_request_started")
        self.tick(1, 8)
        self.say("mcp_server_response", response)
        self._turn(f"mcp--{server}--{tool}", args, response)

    def switch_mode(self, new_mode: str) -> None:
        self.ask(
            "tool",
            dumps(
                {"tool": "switchMode", "mode": new_mode, "reason": "Ready to implement the plan."}
            ),
        )
        self.event("Tool Used", {"tool": "switch_mode"})
        self.event("Mode Switched", {"newMode": new_mode})
        self._turn(
            "switch_mode",
            {"mode_slug": new_mode},
            f"Successfully switched from {self.mode} mode to {new_mode} mode.",
        )
        if new_mode in EDIT_MODES:
            self.action("mode_switch", mode=new_mode)
        self.mode = new_mode

    def new_task(self, child_id: str, mode: str, message: str) -> None:
        self.ask("tool", dumps({"tool": "newTask", "mode": mode, "content": message}))
        self.event("Tool Used", {"tool": "new_task"})
        self._turn("new_task", {"mode": mode, "message": message}, f"Subtask {child_id} created.")
        self.child_ids.append(child_id)

    def diff_error(self, p: str) -> None:
        self.say(
            "diff_error",
            f"Unable to apply diff to {p}: no sufficiently similar match found (62% similar, needs 100%).",
        )
        self.event("Diff Application Error")

    def mistake_limit(self) -> None:
        self.ask(
            "mistake_limit_reached",
            "This may indicate a failure in the model's thought process or inability to use a tool properly.",
        )
        self.event("Consecutive Mistake Error")

    def condense(self) -> None:
        prev, new = self.ctx_tokens, self.rng.randint(6_000, 12_000)
        cost = round(self.model.formula_cost(prev, 1_500, 0, 0), 10)
        self.say(
            "condense_context",
            contextCondense={
                "cost": cost,
                "prevContextTokens": prev,
                "newContextTokens": new,
                "summary": "Summary of the conversation so far: work on the task continues.",
            },
        )
        self.event("Context Condensed", {"isAutomaticTrigger": True})
        self.totals["cost"] += cost
        self.totals["formula_cost"] += cost
        self.ctx_tokens = new

    def complete(self, result: str = "I implemented the change and the tests pass.") -> None:
        self.say("completion_result", result)
        self.event("Tool Used", {"tool": "attempt_completion"})
        self._turn("attempt_completion", {"result": result}, "The user accepted the result.")
        self.ask("completion_result", "")
        self.event("Task Completed")
        self.status = "completed"
