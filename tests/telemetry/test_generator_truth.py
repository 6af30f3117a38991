"""The synthetic fleet generator against its ground truth: formats, secrets, costs, actions."""

from __future__ import annotations

import csv
import io
import json
import uuid
from pathlib import Path

import pytest
import yaml

from tasks.telemetry.generator import DEFAULT_START, generate_fleet
from tasks.telemetry.generator.emit import encodings
from tasks.telemetry.generator.incidents import ALL_KINDS
from tasks.telemetry.generator.sensitive import DECOY_KINDS, SECRET_KINDS, luhn_ok


@pytest.fixture(scope="module")
def fleet(tmp_path_factory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("fleet")
    truth = generate_fleet(str(root), users=9, days=4, seed=7)
    return root, truth


def test_ground_truth_file_matches_return_value(fleet):
    root, truth = fleet
    assert json.loads((root / "ground_truth.json").read_text()) == json.loads(json.dumps(truth))
    assert truth["start"] == DEFAULT_START.isoformat() and truth["days"] == 4 and truth["seed"] == 7


def test_every_incident_kind_is_planted_with_details(fleet):
    _, truth = fleet
    kinds = {i["kind"] for i in truth["incidents"]}
    assert kinds == set(ALL_KINDS)
    users = {u["user"]: u for u in truth["users"]}
    for inc in truth["incidents"]:
        assert inc["details"], inc["kind"]
        if inc["user"]:
            assert users[inc["user"]]["team"] == inc["team"]
    term = next(i for i in truth["incidents"] if i["kind"] == "terminated_user_access")
    assert users[term["user"]]["status"] == "terminated" and term["details"]["tasks"] > 0
    auth = next(i for i in truth["incidents"] if i["kind"] == "auth_failure_burst")
    assert auth["details"]["count"] >= 10 and set(auth["details"]["codes"]) <= {"401", "403"}
    burst = next(i for i in truth["incidents"] if i["kind"] == "write_burst")
    assert burst["details"]["count"] > 50
    over = next(i for i in truth["incidents"] if i["kind"] == "over_budget_team")
    assert (
        over["details"]["team_cost_per_user"] > 2 * over["details"]["other_teams_cost_per_user_max"]
    )
    spike = next(i for i in truth["incidents"] if i["kind"] == "spend_spike")
    assert spike["details"]["cost"] > 5 * spike["details"]["baseline_daily_cost_max"]


def _ui_files(root: Path):
    return sorted(root.glob("raw/roo/*/tasks/*/ui_messages.json"))


def test_every_file_is_valid_except_the_listed_malformed(fleet):
    root, truth = fleet
    bad = {m["file"]: m for m in truth["malformed"]}
    assert {m["reason"] for m in truth["malformed"]} == {
        "not_json",
        "missing_ts",
        "not_utf8",
        "bad_type",
    }
    for path in _ui_files(root):
        key = str(path.relative_to(root))
        data = path.read_bytes()
        if bad.get(key, {}).get("reason") in ("not_json", "not_utf8"):
            with pytest.raises(ValueError):
                json.loads(data.decode("utf-8"))
            continue
        msgs = json.loads(data)
        assert isinstance(msgs, list) and msgs
        for i, m in enumerate(msgs):
            assert m["type"] in ("ask", "say") and (m.get("ask") or m.get("say"))
            if key in bad and bad[key]["position"] == f"message {i}":
                assert not isinstance(m.get("ts"), int)
            else:
                assert isinstance(m["ts"], int)
        assert isinstance(
            json.loads(path.with_name("api_conversation_history.json").read_bytes()), list
        )
        assert "files_in_context" in json.loads(path.with_name("task_metadata.json").read_bytes())
    for path in sorted(root.glob("raw/events/*/*/*/*.jsonl")):
        key = str(path.relative_to(root))
        for n, line in enumerate(path.read_bytes().splitlines(), 1):
            pos = {m["position"]: m["reason"] for m in truth["malformed"] if m["file"] == key}
            if pos.get(f"line {n}") == "not_json":
                with pytest.raises(ValueError):
                    json.loads(line)
                continue
            env = json.loads(line)
            assert env["v"] == 1 and env["user"] == path.stem and env["event"]["type"]
            cost = env["event"]["properties"].get("cost")
            assert cost is None or isinstance(cost, float) or pos.get(f"line {n}") == "bad_type"
    for path in root.glob("raw/roo/*/settings/**/*.json"):
        assert isinstance(json.loads(path.read_text()), dict)
    for path in root.glob("raw/roo/*/settings/custom_modes.yaml"):
        assert yaml.safe_load(path.read_text())["customModes"][0]["slug"]


def test_roster_columns_and_terminated_users(fleet):
    root, truth = fleet
    rows = list(csv.DictReader(io.StringIO((root / "raw/org/roster.csv").read_text())))
    assert list(rows[0]) == ["user", "email", "team", "manager", "status", "aws_user"]
    people = [r for r in rows if r["manager"]]
    managers = {r["manager"] for r in people}
    assert len(people) == len(truth["users"]) == 9 + 2
    assert len({r["team"] for r in rows}) >= 2 and len(managers) >= 2
    # every manager is a roster row of their own, active, so reviewers resolve
    assert {r["email"] for r in rows if not r["manager"]} == managers
    assert all(r["status"] == "active" for r in rows if not r["manager"])
    terminated = [r["user"] for r in rows if r["status"] == "terminated"]
    assert len(terminated) == 3  # two without data, one planted with data
    data_users = {p.name for p in (root / "raw/roo").iterdir()}
    assert len(set(terminated) & data_users) == 1


def test_every_secret_appears_in_its_file_and_all_kinds_are_covered(fleet):
    root, truth = fleet
    for s in truth["secrets"]:
        forms = dict(encodings(s["value"]))
        assert forms[s["encoding"]] in (root / s["file"]).read_bytes(), (s["kind"], s["file"])
        if "\n" not in s["value"]:
            assert s["encoding"] == "raw"
    assert {s["kind"] for s in truth["secrets"]} == set(SECRET_KINDS)
    assert any(s["encoding"] == "raw" and s["kind"] == "private_key" for s in truth["secrets"])
    secret_values = {s["value"] for s in truth["secrets"]}
    for d in truth["decoys"]:
        assert d["value"].encode() in (root / d["file"]).read_bytes()
        assert d["value"] not in secret_values
    assert {d["kind"] for d in truth["decoys"]} == set(DECOY_KINDS)
    key = next(i for i in truth["incidents"] if i["kind"] == "key_in_profile")
    assert any(s["file"] == key["details"]["file"] for s in truth["secrets"])


def test_pii_values_are_valid_in_their_formats(fleet):
    _, truth = fleet
    for s in truth["secrets"]:
        if s["kind"] == "credit_card":
            assert luhn_ok(s["value"])
        if s["kind"] == "iban":
            v = s["value"]
            assert int("".join(str(int(c, 36)) for c in v[4:] + v[:4])) % 97 == 1
    assert not luhn_ok(next(d["value"] for d in truth["decoys"] if d["kind"] == "luhn_invalid"))


def test_mutating_actions_recount_from_the_files(fleet):
    """Recount the actions independently from ui messages and telemetry."""
    root, truth = fleet
    bad = {m["file"] for m in truth["malformed"] if m["file"].endswith("ui_messages.json")}
    edit_modes = {"code", "architect", "debug", "docs-writer"}
    counts = {"write": 0, "command": 0, "mcp": 0, "restore": 0, "mode_switch": 0}
    for path in _ui_files(root):
        if str(path.relative_to(root)) in bad:
            continue
        for m in json.loads(path.read_bytes()):
            if m.get("ask") == "command":
                counts["command"] += 1
            elif m.get("ask") == "use_mcp_server":
                counts["mcp"] += 1
            elif m.get("ask") == "tool":
                tool = json.loads(m["text"])
                if tool["tool"] in (
                    "newFileCreated",
                    "editedExistingFile",
                    "appliedDiff",
                    "searchAndReplace",
                    "insertContent",
                ):
                    counts["write"] += 1
                elif tool["tool"] == "switchMode" and tool["mode"] in edit_modes:
                    counts["mode_switch"] += 1
    for path in root.glob("raw/events/*/*/*/*.jsonl"):
        counts["restore"] += path.read_bytes().count(b'"type":"Checkpoint Restored"')
    assert truth["mutating_actions"]["by_kind"] == counts
    assert (
        truth["mutating_actions"]["count"]
        == sum(counts.values())
        == len(truth["mutating_action_list"])
    )


PRICES = {  # per million tokens, from the providers' price pages
    "claude-sonnet-4-5-20250929": (3, 15, 3.75, 0.3),
    "claude-haiku-4-5-20251001": (1, 5, 1.25, 0.1),
    "claude-opus-4-1-20250805": (15, 75, 18.75, 1.5),
    "us.anthropic.claude-sonnet-4-5-20250929-v1:0": (3.3, 16.5, 4.125, 0.33),
    "anthropic/claude-sonnet-4.5": (3, 15, 3.75, 0.3),
    "openai/gpt-4.1": (2, 8, 0, 0.5),
    "gpt-4.1": (2, 8, 0, 0.5),
    "gpt-5": (1.25, 10, 0, 0.125),
}


def _vt(v: str) -> tuple[int, ...]:
    return tuple(int(x) for x in v.split("."))


def test_costs_follow_roo_formulas_except_planted_drift(fleet):
    root, truth = fleet
    drift = next(i for i in truth["incidents"] if i["kind"] == "provider_cost_drift")
    drifted = set(drift["details"]["task_ids"])
    assert drifted
    bad = {m["file"] for m in truth["malformed"]}
    checked = 0
    for t in truth["tasks"]:
        key = f"raw/roo/{t['user']}/tasks/{t['task_id']}/ui_messages.json"
        if key in bad:
            continue
        msgs = json.loads((root / key).read_bytes())
        p_in, p_out, p_cw, p_cr = PRICES[t["model"]]
        stored = formula = 0.0
        figures = [
            json.loads(m["text"])
            for m in msgs
            if m.get("say") in ("api_req_started", "api_req_finished")
        ]
        for f in figures:
            if "cost" not in f:
                continue
            tin, cw, cr = f["tokensIn"], f["cacheWrites"], f["cacheReads"]
            anthropic_old = t["api_protocol"] == "anthropic" and _vt(t["app_version"]) < (3, 29, 5)
            uncached = tin if anthropic_old else max(0, tin - cw - cr)
            formula += (uncached * p_in + f["tokensOut"] * p_out + cw * p_cw + cr * p_cr) / 1e6
            stored += f["cost"]
        stored += sum(
            m["contextCondense"]["cost"] for m in msgs if m.get("say") == "condense_context"
        )
        formula += sum(
            m["contextCondense"]["cost"] for m in msgs if m.get("say") == "condense_context"
        )
        assert stored == pytest.approx(t["total_cost"], rel=1e-9, abs=1e-9)
        if t["task_id"] in drifted:
            assert stored > 1.05 * formula
        else:
            assert stored == pytest.approx(formula, rel=1e-5, abs=1e-6)
        checked += 1
        id_version = uuid.UUID(t["task_id"]).version
        assert id_version == (7 if _vt(t["app_version"]) >= (3, 41) else 4)
        item = root / key.replace("ui_messages.json", "history_item.json")
        assert item.exists() == (_vt(t["app_version"]) >= (3, 49))
        if item.exists():
            assert json.loads(item.read_text())["totalCost"] == pytest.approx(t["total_cost"])
    assert checked > 50
    assert {t["app_version"] for t in truth["tasks"]} >= {"3.11.14", "3.25.20", "3.52.0"}


def test_prices_agree_with_genai_prices():
    """The cost-budget job prices with genai-prices; planted costs must use the same table."""
    from datetime import UTC, datetime

    from genai_prices import data_snapshot

    from tasks.telemetry.generator.catalog import MODELS

    alias = {"bedrock": "aws", "openai-native": "openai"}
    snap = data_snapshot.get_snapshot()
    for m in MODELS.values():
        _, info = snap.find_provider_model(
            m.model_id, None, alias.get(m.provider, m.provider), None
        )
        mp = info.get_prices(datetime(2026, 11, 1, tzinfo=UTC))
        got = [
            float(getattr(x, "base", x) or 0)
            for x in (mp.input_mtok, mp.output_mtok, mp.cache_write_mtok, mp.cache_read_mtok)
        ]
        assert got == pytest.approx([m.input, m.output, m.cache_write, m.cache_read]), m.model_id


def test_telemetry_matches_task_folders(fleet):
    root, truth = fleet
    llm: dict[str, float] = {}
    created: set[str] = set()
    wrong: set[str] = set()
    for path in root.glob("raw/events/*/*/*/*.jsonl"):
        for line in path.read_bytes().splitlines():
            try:
                ev = json.loads(line)["event"]
            except ValueError:
                continue
            props = ev["properties"]
            if ev["type"] == "LLM Completion":
                if isinstance(props["cost"], str):  # the planted wrong-typed field
                    wrong.add(props["taskId"])
                    continue
                llm[props["taskId"]] = llm.get(props["taskId"], 0.0) + props["cost"]
            if ev["type"] == "Task Created":
                created.add(props["taskId"])
    assert created == {t["task_id"] for t in truth["tasks"]}
    for path in _ui_files(root):
        if any(m["file"] == str(path.relative_to(root)) for m in truth["malformed"]):
            continue
        tid = path.parent.name
        if tid in wrong:
            continue
        msgs = json.loads(path.read_bytes())
        reqs = sum(
            json.loads(m["text"]).get("cost", 0.0)
            for m in msgs
            if m.get("say") in ("api_req_started", "api_req_finished")
        )
        assert llm.get(tid, 0.0) == pytest.approx(reqs, abs=1e-9)
    assert len(wrong) == 1


def test_subtasks_link_parents_and_children(fleet):
    _, truth = fleet
    by_id = {t["task_id"]: t for t in truth["tasks"]}
    children = [t for t in truth["tasks"] if t["parent_task_id"]]
    assert children
    for c in children:
        assert c["task_id"] in by_id[c["parent_task_id"]]["child_ids"]
