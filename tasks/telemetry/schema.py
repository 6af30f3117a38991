"""The normalised tables every job reads. This is a contract between the jobs.

Columns may be added (bump SCHEMA_VERSION); they are never renamed or dropped without
a version bump. Times are UTC timestamps with millisecond precision.
"""

from __future__ import annotations

import pyarrow as pa

SCHEMA_VERSION = (
    3  # 2: tokens_in_includes_cache on tasks and events; 3: token_rule, api_config, agent
)

UTC_MS = pa.timestamp("ms", tz="UTC")

# One row per task.
TASKS_SCHEMA = pa.schema(
    [
        ("schema_version", pa.int16()),
        ("user", pa.string()),  # fleet user (the raw/roo/<user>/ folder name)
        ("team", pa.string()),  # from the roster; null until joined
        ("task_id", pa.string()),
        ("parent_task_id", pa.string()),
        ("root_task_id", pa.string()),
        ("status", pa.string()),  # completed | active | delegated | failed | unknown
        ("started_at", UTC_MS),
        ("ended_at", UTC_MS),
        ("mode", pa.string()),
        ("workspace", pa.string()),
        ("provider", pa.string()),  # e.g. anthropic, openrouter, bedrock (from telemetry)
        ("model", pa.string()),
        ("app_version", pa.string()),  # Roo Code version, when known
        ("api_protocol", pa.string()),  # anthropic | openai
        ("tokens_in", pa.int64()),
        ("tokens_out", pa.int64()),
        ("cache_writes", pa.int64()),
        ("cache_reads", pa.int64()),
        ("total_cost", pa.float64()),  # as Roo Code computes it (sum of requests + condense)
        ("context_tokens", pa.int64()),
        ("api_requests", pa.int32()),
        ("api_failures", pa.int32()),
        ("tool_uses", pa.int32()),
        ("write_tool_uses", pa.int32()),
        ("commands", pa.int32()),
        ("mcp_calls", pa.int32()),
        ("checkpoints", pa.int32()),
        ("checkpoint_restores", pa.int32()),
        ("errors", pa.int32()),
        ("source", pa.string()),  # the task folder it came from (s3:// URI or path)
        # False when tokens_in excludes cache tokens (Anthropic protocol before Roo Code
        # v3.29.5); a cost recomputation must add cache tokens back. Null when unknown.
        ("tokens_in_includes_cache", pa.bool_()),
        # how the figures were read: roo (every request names its protocol: Roo Code's
        # rules) | inferred_excludes_cache (no protocol; tokensIn < cacheWrites +
        # cacheReads seen, so the context adds cache) | inferred_includes_cache (no
        # protocol; Roo Code's rule); null without requests
        ("token_rule", pa.string()),
        # the provider profile the task ran with (HistoryItem.apiConfigName, v3.49+): with
        # the user's settings it names the model when telemetry does not
        ("api_config", pa.string()),
        # which agent wrote the task: roo (Roo Code; UUID task ids) | cline (Cline,
        # saoudrizwan.claude-dev or ~/.cline/data; epoch-ms ids, v4 <epoch-ms>_<5 chars>)
        ("agent", pa.string()),
    ]
)

# One row per ui message or telemetry event.
EVENTS_SCHEMA = pa.schema(
    [
        ("schema_version", pa.int16()),
        ("user", pa.string()),
        ("team", pa.string()),
        ("task_id", pa.string()),
        ("ts", UTC_MS),
        ("seq", pa.int32()),  # position in its source (message index, or line number)
        ("source", pa.string()),  # ui_messages | telemetry
        ("type", pa.string()),  # ask | say | event
        ("kind", pa.string()),  # the ask/say value, or the telemetry event name
        ("category", pa.string()),  # see CATEGORIES
        ("tool", pa.string()),
        ("mutates", pa.bool_()),  # writes a file, runs a command, calls MCP, restores, …
        ("path", pa.string()),
        ("command", pa.string()),
        ("mcp_server", pa.string()),
        ("mcp_tool", pa.string()),
        ("target_mode", pa.string()),  # for mode switches
        ("error_class", pa.string()),  # see ERROR_CLASSES
        ("api_protocol", pa.string()),
        ("tokens_in", pa.int64()),
        ("tokens_out", pa.int64()),
        ("cache_writes", pa.int64()),
        ("cache_reads", pa.int64()),
        ("cost", pa.float64()),
        ("bytes", pa.int64()),  # size of the message text
        ("mode", pa.string()),
        ("provider", pa.string()),
        ("model", pa.string()),
        ("workspace", pa.string()),
        ("app_version", pa.string()),
        ("auto_approved", pa.bool_()),  # null when the data does not show it
        # as on TASKS_SCHEMA; set on telemetry rows and on ui request rows that name no
        # protocol in a task whose figures show tokensIn excludes cache (else null: use
        # the task's value)
        ("tokens_in_includes_cache", pa.bool_()),
    ]
)

CATEGORIES = (
    "prompt",
    "api_request",
    "tool",
    "command",
    "command_output",
    "mcp_call",
    "error",
    "checkpoint",
    "rollback",
    "completion",
    "condense",
    "mode_switch",
    "subtask",
    "feedback",
    "task_lifecycle",
    "other",
)

ERROR_CLASSES = (
    "auth",  # 401/403
    "rate_limit",  # 429
    "timeout",  # command or request timeouts
    "api_failed",
    "streaming_failed",
    "diff_error",
    "mistake_limit",
    "rooignore",
    "shell_integration",
    "schema_validation",
    "auto_approval_limit",
    "other",
)

# The quarantine table: rows that could not be parsed or failed validation.
QUARANTINE_SCHEMA = pa.schema(
    [
        ("source", pa.string()),  # file or object
        ("position", pa.string()),  # e.g. "message 12", "line 3", "byte 1024"
        ("reason", pa.string()),  # a short stable code, e.g. not_json, missing_ts
        ("detail", pa.string()),  # one line; never the record itself if it may hold secrets
        ("stage", pa.string()),  # parse | validate
        ("record_excerpt", pa.string()),  # at most 200 chars, redacted
    ]
)


def column_index(schema: pa.Schema) -> dict[str, int]:
    """Column name -> position: producers build rows as tuples in schema order (fast to
    transpose), and anything that reads or patches a row names the column through this."""
    return {name: i for i, name in enumerate(schema.names)}


TASK_COLUMNS = column_index(TASKS_SCHEMA)
EVENT_COLUMNS = column_index(EVENTS_SCHEMA)


def with_columns(row: tuple, columns: dict[str, int], **values: object) -> tuple:
    """`row` with the named columns replaced (an unknown name is a KeyError, not a shift)."""
    out = list(row)
    for name, value in values.items():
        out[columns[name]] = value
    return tuple(out)
