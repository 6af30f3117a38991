"""Synthetic Roo Code fleet: task folders, telemetry, settings, roster, and a ground truth.

    from tasks.telemetry.generator import generate_fleet
    truth = generate_fleet(out, users, days, seed, start=None, clean=False, s3_client=None)

Writes the data-bucket layout (tasks/common/layout.py) under `out` (a folder, or an
s3:// prefix; `s3://b/` and `s3://b/raw/` both mean the bucket root) plus
`<root>/ground_truth.json`, and returns the same ground truth. Same seed and arguments
=> byte-identical files (random.Random(seed) only; time comes from `start`, default
2026-11-01). `clean=True` plants no incident, secret or malformed record (decoys stay:
they must never be flagged anyway).

What is generated
-----------------
- raw/roo/<user>/tasks/<taskId>/ui_messages.json (compact array of ClineMessages, JSON
  text doubly encoded), api_conversation_history.json, task_metadata.json,
  command-output/cmd-<id>.txt (outputs > 3000 chars), history_item.json (v3.49+ only);
  raw/roo/<user>/tasks/_index.json (v3.49+ users only).
- Versions (catalog.VERSIONS): < 3.12 legacy api_req_finished; < 3.28.18 `request` in
  api_req_started; < 3.29.5 Anthropic tokensIn without cache tokens; < 3.41 UUIDv4 ids.
- raw/events/YYYY/MM/DD/<user>.jsonl: collector envelope {"v","user","received_at",
  "event":{"type","properties"}}; LLM Completion inputTokens = the stored tokensIn of the
  same request. condense_context cost has no LLM Completion event (as in Roo Code).
  Task Message events only for users whose org records messages (~30%).
- raw/roo/<user>/settings/{roo-code-settings.json, mcp_settings.json, custom_modes.yaml,
  projects/<p>/.roo/mcp.json}; raw/org/organization-settings.json; raw/org/roster.csv
  (user,email,team,manager,status,aws_user; two roster-only terminated users).

Ground truth (ground_truth.json)
--------------------------------
{
 "generator_version": 1, "seed", "start": "YYYY-MM-DD", "days", "clean",
 "users": [{user, email, team, manager, status, aws_user, app_version, has_data}],
 "incidents": [{"id": "inc-001", "kind", "user"|null, "team"|null, "task_id"?,
                "day"? (YYYY-MM-DD), "details": {...}}],
 "secrets": [{"kind", "value", "file", "encoding"}],   # one entry per file it is in
 "decoys":  [{"kind", "value", "file", "encoding"}],   # look-alikes: must NOT be redacted
 "malformed": [{"file", "reason", "position", "field"?, "message"?}],
 "mutating_actions": {"count", "by_kind": {write, command, mcp, restore, mode_switch}},
 "mutating_action_list": [{user, task_id, ts, kind, path|command|server+tool|mode|checkpoint}],
 "tasks": [{user, team, task_id, parent_task_id, root_task_id, child_ids, started_at,
            ended_at, status, mode, final_mode, workspace, provider, model, app_version,
            api_protocol, tokens_in, tokens_out, cache_writes, cache_reads, total_cost,
            formula_cost, context_tokens, api_requests, api_failures, writes, commands,
            mcp_calls, checkpoint_restores, malformed}],
 "stats": {"tasks", "events", "files", "bytes"}   # files/bytes exclude ground_truth.json
}
- tasks[].api_requests counts requests with figures (a cost); requests that only failed
  (auth bursts) are in api_failures. total_cost includes condense_context costs;
  formula_cost is the cost recomputed from the price table (differs only for drift).
- `file` is the key relative to the layout root (e.g. raw/roo/u/tasks/<id>/ui_messages.json).
- `encoding`: "raw" = the value's bytes appear verbatim; "json" / "json2" = they appear
  after one / two JSON string escapes (only multi-line PEM keys need this).
- Secret kinds: sensitive.SECRET_KINDS; decoy kinds: sensitive.DECOY_KINDS.
- Malformed reasons: not_json (ui file cut short, "byte N"; or an events line, "line N",
  1-based), missing_ts and bad_type ("message N", 0-based index; ts as a string),
  not_utf8 (a 0xFF byte, "byte N"; "message" names the message holding it), bad_type in
  events (properties.cost as a string, "line N"). Reason codes are the ingestion's.
  Malformed ui files belong to read-only ask-mode tasks (no mutating actions, no secrets).
- Mutating actions: every file write (write tools incl. outside-workspace ones), every
  command (timed-out ones too), every MCP tool call, every Checkpoint Restored (telemetry
  only) and every switch_mode into an edit-capable mode (catalog.EDIT_MODES: code,
  architect, debug, docs-writer). Each is one action whatever the number of sources
  (ui message, Task Message and Tool Used events) showing it.
- Incident details by kind: spend_spike {task_ids, tasks, model, cost,
  baseline_daily_cost_max}; over_budget_team (team set, user null) {team_cost,
  team_cost_per_user, other_teams_cost_per_user_max, team_costs};
  auth_failure_burst {hour, count, codes, task_ids}; command_timeout_burst {commands,
  count, start, end}; rollback_burst {count, start, end}; write_outside_workspace
  {paths, workspace, start, end}; write_burst {count, first, last, start, end};
  provider_cost_drift {factor, task_ids, reported_cost, formula_cost}; settings kinds
  {file, ...what was set}; god_mode_settings also lists "implies":
  ["broad_allowed_command"] (allowedCommands ["*"]); key_in_profile {file, locations,
  fingerprints} (values are in "secrets"); org_allow_all / public_task_sharing {file,
  setting, value}; terminated_user_access {status, tasks, last_task_at, settings_file}.
"""

from tasks.telemetry.generator.fleet import DEFAULT_START, generate_fleet

__all__ = ["DEFAULT_START", "generate_fleet"]
