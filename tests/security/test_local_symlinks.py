"""Local readers never follow a symlink out of their input tree (issue 13, item 3).

A developer machine's Roo Code storage folder is input the collector does not control: a
task folder whose ui_messages.json is a symlink to a file elsewhere (here: another
"private" task log holding a command with a credential) must not be ingested — the file
outside the tree is never read. A symlink that stays inside the tree is not followed either
(each file is read at its real place exactly once).
"""

from __future__ import annotations

import json

from tasks.telemetry.ingest import ingest
from tests.telemetry.ingest_helpers import T0, ask, typical_task, uuid7, write_task

SECRET_CMD = "export AWS_SECRET_ACCESS_KEY=private-outside-the-tree"


def test_ingest_does_not_read_a_file_symlinked_from_outside_the_folder(tmp_path):
    root = tmp_path / "storage"
    write_task(root / "tasks", typical_task())
    private = tmp_path / "private" / "ui_messages.json"
    private.parent.mkdir()
    private.write_text(
        json.dumps(typical_task(T0 + 9000) + [ask(T0 + 9500, "command", SECRET_CMD)])
    )
    linked = root / "tasks" / uuid7(T0 + 9000)
    linked.mkdir(parents=True)
    (linked / "ui_messages.json").symlink_to(private)
    result = ingest(str(root))
    commands = [c for c in result.events.column("command").to_pylist() if c]
    assert commands, "the real task is still ingested"
    assert SECRET_CMD not in commands
    assert linked.name not in set(result.tasks.column("task_id").to_pylist())
