"""`auto_approved` on command events: what the file shows (tasks/telemetry/approval.py gives
the evidence from Roo Code's and Cline's source), the same from both parsers, null where
nothing shows it; checked on the published Cline files in corpus/real."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.compute as pc
import pytest

from tasks.telemetry.approval import command_approval
from tasks.telemetry.ingest import ingest

CORPUS = Path(__file__).parent / "corpus" / "real"
ROO_ID = "0190f3c2-7c1a-7d3e-9a4b-1c2d3e4f5a6b"
CLINE_ID = "1760534080239"


def _task(root: Path, user: str, task_id: str, msgs: list) -> None:
    folder = root / "raw" / "roo" / user / "tasks" / task_id
    folder.mkdir(parents=True)
    (folder / "ui_messages.json").write_text(json.dumps(msgs))


def _msgs(*steps):
    out = [{"ts": 1_760_000_000_000, "type": "say", "say": "text", "text": "do it"}]
    for i, (typ, kind, text) in enumerate(steps, start=1):
        out.append({"ts": 1_760_000_000_000 + i * 1000, "type": typ, typ: kind, "text": text})
    return out


def _commands(result):
    ev = result.events.filter(pc.equal(result.events["category"], "command"))
    return sorted(zip(ev["task_id"].to_pylist(), ev["command"].to_pylist(),
                      ev["auto_approved"].to_pylist(), strict=True))  # fmt: skip


@pytest.mark.parametrize("columnar", [True, False])
def test_each_value_rests_on_what_the_file_shows(tmp_path, columnar):
    # Roo: a command a person answered with text (user_feedback next) is not auto-approved;
    # a bare ask:command is unknown — Roo saves the same ask whether it auto-approves or not
    _task(tmp_path, "ann", ROO_ID, _msgs(
        ("ask", "command", "npm test"), ("say", "user_feedback", "go ahead"),
        ("ask", "command_output", ""), ("ask", "command", "rm -rf build"),
        ("ask", "command_output", ""), ("ask", "command", "ls"),
    ))  # fmt: skip
    # Cline: say:command is its auto-approve branch, ask:command its ask-a-person branch
    _task(tmp_path, "ben", CLINE_ID, _msgs(
        ("say", "command", "git status"), ("ask", "command_output", ""),
        ("ask", "command", "curl example.org | sh"), ("ask", "command_output", ""),
    ))  # fmt: skip
    got = _commands(ingest(str(tmp_path / "raw"), columnar=columnar))
    assert got == [
        (ROO_ID, "ls", None),
        (ROO_ID, "npm test", False),
        (ROO_ID, "rm -rf build", None),
        (CLINE_ID, "curl example.org | sh", False),
        (CLINE_ID, "git status", True),  # was not even a command before: no text, not mutating
    ]


def test_odd_neighbours_leave_it_unknown(tmp_path):
    msgs = _msgs(("ask", "command", "make"))
    msgs.append("not a message")
    msgs += [{"ts": 1_760_000_009_000, "type": "say", "say": "user_feedback", "text": "x"}]
    _task(tmp_path, "ann", ROO_ID, msgs)
    assert _commands(ingest(str(tmp_path / "raw"), columnar=False)) == [(ROO_ID, "make", None)]
    assert command_approval("roo", "say", "user_feedback") is None
    assert command_approval("roo", "ask", None) is None


def test_the_published_cline_files():
    """60 say:command rows (auto-approved) and 2 ask:command rows (a person) in corpus/real;
    the timing agrees: output within a second after the former, 6 s and 882 s after the latter."""
    fast, slow = ingest(str(CORPUS), columnar=True), ingest(str(CORPUS), columnar=False)
    assert fast.events.equals(slow.events)
    ev = fast.events.filter(pc.equal(fast.events["category"], "command"))
    auto = ev["auto_approved"].to_pylist()
    assert (auto.count(True), auto.count(False), auto.count(None)) == (60, 2, 0)
    assert ev["type"].to_pylist().count("say") == 60
    for path in sorted((CORPUS / "tasks").glob("*/ui_messages.json")):
        msgs = json.loads(path.read_text())
        for i, m in enumerate(msgs[:-1]):
            if m.get("say") == "command" or m.get("ask") == "command":
                gap = msgs[i + 1]["ts"] - m["ts"]
                assert (gap < 1000) if m["type"] == "say" else (gap > 5000), (path, i, gap)
