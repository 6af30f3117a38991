"""What each Roo Code message or telemetry event means: category, error class, mutation.

The ask/say names come from Roo Code's `packages/types/src/message.ts` (clineAsks,
clineSays); tool names from the ui `ask:"tool"` payloads (camelCase) and from the
`Tool Used` telemetry event (snake_case tool ids). Unknown kinds are kept as `other`.
"""

from __future__ import annotations

import re

# ui `ask:"tool"` payloads that change files (older files: searchAndReplace, insertContent)
WRITE_TOOLS = frozenset(
    {
        "editedExistingFile",
        "appliedDiff",
        "newFileCreated",
        "generateImage",
        "searchAndReplace",
        "insertContent",
    }
)
READ_TOOLS = frozenset(
    {
        "readFile",
        "listFilesTopLevel",
        "listFilesRecursive",
        "searchFiles",
        "codebaseSearch",
        "readCommandOutput",
    }
)
# `Tool Used` telemetry ids (snake_case) that write, run or call out
WRITE_TOOL_IDS = frozenset(
    {
        "write_to_file",
        "apply_diff",
        "insert_content",
        "search_and_replace",
        "search_replace",
        "edit_file",
        "apply_patch",
        "generate_image",
    }
)

# kind -> (category, default error class or None)
KIND_SPECS: dict[str, tuple[str, str | None]] = {
    "text": ("other", None),  # the first one is the prompt (decided by position)
    "api_req_started": ("api_request", None),
    "api_req_finished": ("api_request", None),
    "api_req_retried": ("other", None),
    "api_req_deleted": ("other", None),
    "api_req_rate_limited": ("other", None),  # the user's own pacing, not an error
    "api_req_rate_limit_wait": ("other", None),
    "api_req_retry_delayed": ("error", "api_failed"),
    "api_req_failed": ("error", "api_failed"),
    "error": ("error", "other"),
    "condense_context_error": ("error", "other"),
    "mistake_limit_reached": ("error", "mistake_limit"),
    "diff_error": ("error", "diff_error"),
    "rooignore_error": ("error", "rooignore"),
    "shell_integration_warning": ("error", "shell_integration"),
    "auto_approval_max_req_reached": ("error", "auto_approval_limit"),
    "tool": ("tool", None),
    "browser_action_launch": ("tool", None),
    "browser_action": ("tool", None),
    "browser_action_result": ("other", None),
    "browser_session_status": ("other", None),
    "codebase_search_result": ("other", None),
    "command": ("command", None),
    "command_output": ("command_output", None),
    "use_mcp_server": ("mcp_call", None),
    "mcp_server_request_started": ("other", None),
    "mcp_server_response": ("other", None),
    "checkpoint_saved": ("checkpoint", None),
    "completion_result": ("completion", None),
    "condense_context": ("condense", None),
    "sliding_window_truncation": ("condense", None),
    "followup": ("feedback", None),
    "user_feedback": ("feedback", None),
    "user_feedback_diff": ("feedback", None),
    "subtask_result": ("subtask", None),
    "resume_task": ("task_lifecycle", None),
    "resume_completed_task": ("task_lifecycle", None),
    "reasoning": ("other", None),
    "image": ("other", None),
    "user_edit_todos": ("other", None),
}
OTHER_SPEC = ("other", None)

# ui kinds whose `text` is JSON (doubly encoded)
JSON_TEXT_KINDS = frozenset(
    {
        "api_req_started",
        "api_req_finished",
        "tool",
        "use_mcp_server",
        "auto_approval_max_req_reached",
        "api_req_deleted",
    }
)

# the tool payload of ask:"tool" that is really a mode switch or a subtask
TOOL_CATEGORY = {
    "switchMode": "mode_switch",
    "newTask": "subtask",
    "finishTask": "subtask",
}

_AUTH = re.compile(
    r"\b(?:401|403)\b|unauthori[sz]ed|forbidden|invalid[ _-]?api[ _-]?key|authentication",
    re.IGNORECASE,
)
_RATE = re.compile(r"\b429\b|rate[ _-]?limit|too many requests", re.IGNORECASE)
_TIMEOUT = re.compile(r"timed? ?out|timeout|ETIMEDOUT|\b408\b|\b504\b", re.IGNORECASE)


def error_class_from_text(text: str | None, default: str) -> str:
    """auth for 401/403, rate_limit for 429, timeout for time-outs, else the kind's default."""
    if not text:
        return default
    head = text[:2000]
    if _AUTH.search(head):
        return "auth"
    if _RATE.search(head):
        return "rate_limit"
    if _TIMEOUT.search(head):
        return "timeout"
    return default


# telemetry event name -> (category, error class or None, mutates)
EVENT_SPECS: dict[str, tuple[str, str | None, bool]] = {
    "Task Created": ("task_lifecycle", None, False),
    "Task Reopened": ("task_lifecycle", None, False),
    "Task Completed": ("completion", None, False),
    "LLM Completion": ("api_request", None, False),
    "Mode Switched": ("mode_switch", None, False),
    "Tool Used": ("tool", None, False),
    "Checkpoint Created": ("checkpoint", None, False),
    "Checkpoint Restored": ("rollback", None, True),
    "Checkpoint Diffed": ("checkpoint", None, False),
    "Context Condensed": ("condense", None, False),
    "Sliding Window Truncation": ("condense", None, False),
    "Diff Application Error": ("error", "diff_error", False),
    "Shell Integration Error": ("error", "shell_integration", False),
    "Consecutive Mistake Error": ("error", "mistake_limit", False),
    "Schema Validation Error": ("error", "schema_validation", False),
    "Authentication Initiated": ("other", None, False),
    "Telemetry Settings Changed": ("other", None, False),
}


def tool_used_category(tool: str | None) -> tuple[str, bool]:
    """Category and mutation of a `Tool Used` event's snake_case tool id."""
    if tool == "execute_command":
        return "command", True
    if tool == "use_mcp_tool":
        return "mcp_call", True
    if tool == "access_mcp_resource":
        return "mcp_call", False
    if tool == "switch_mode":
        return "mode_switch", False
    if tool in ("new_task", "attempt_completion"):
        return ("subtask" if tool == "new_task" else "completion"), False
    return "tool", tool in WRITE_TOOL_IDS
