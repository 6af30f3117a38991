"""Discovery of Roo Code storage for each editor and OS layout, and hostile homes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tasks.collect.discover import discover, read_jsonc
from tasks.collect.files import task_items
from tests.collect.fakehome import USER_DATA, build_home


@pytest.mark.parametrize(("editor", "layout"), sorted(USER_DATA))
def test_each_editor_and_layout_is_found(tmp_path, fleet, fleet_users, editor, layout):
    root, _ = fleet
    user_root = root / "raw" / "roo" / fleet_users[0]
    storage = build_home(tmp_path, editor, layout, user_root)
    found = discover(tmp_path)
    assert [(i.editor, i.layout) for i in found.installs] == [(editor, layout)]
    inst = found.installs[0]
    assert [s.path for s in inst.storages] == [storage]
    has_state = editor != "code-server" and layout != "remote"
    assert bool(inst.state_dbs) == has_state
    assert (inst.state_note is None) == has_state
    items, index = task_items(storage, found.notes)
    want = sorted(
        p.relative_to(user_root).as_posix()
        for p in (user_root / "tasks").rglob("*")
        if p.is_file() and p.name != "_index.json"
    )
    assert sorted(i.key for i in items) == want
    assert (index is not None) == (user_root / "tasks" / "_index.json").exists()


@pytest.mark.parametrize(
    "folder",
    [
        "RooVeterinaryInc.roo-cline",
        "ROOVETERINARYINC.ROO-CLINE",
        "RooVeterinaryInc.roo-code-nightly",
    ],
)
def test_extension_folder_matched_case_insensitively(tmp_path, fleet, fleet_users, folder):
    root, _ = fleet
    build_home(tmp_path, "vscode", "linux", root / "raw/roo" / fleet_users[0], ext_folder=folder)
    (st,) = discover(tmp_path).installs[0].storages
    assert st.ext_id == folder
    assert st.prefix == ("roo-code-nightly" if "nightly" in folder else "roo-cline")


def test_custom_storage_path_from_settings_with_comments(tmp_path, fleet, fleet_users):
    root, _ = fleet
    storage = build_home(
        tmp_path, "cursor", "macos", root / "raw/roo" / fleet_users[0], custom_storage="roo-data"
    )
    (inst,) = discover(tmp_path).installs
    custom = [s for s in inst.storages if s.custom]
    assert [s.path for s in custom] == [storage] == [tmp_path / "roo-data"]


def test_jsonc_with_comments_and_trailing_commas(tmp_path):
    p = tmp_path / "settings.json"
    p.write_text('// c\n{"a": [1, 2,], /* b */ "roo-cline.customStoragePath": "/x",}\n')
    notes: list[str] = []
    assert read_jsonc(p, notes) == {"a": [1, 2], "roo-cline.customStoragePath": "/x"}
    p.write_text("{not json")
    assert read_jsonc(p, notes) == {} and len(notes) == 1 and str(p) in notes[0]


# --- hostile homes -----------------------------------------------------------------------


def test_custom_storage_outside_home_is_refused(tmp_path, fleet, fleet_users):
    root, _ = fleet
    home, outside = tmp_path / "home", tmp_path / "elsewhere"
    (outside / "tasks" / "t1").mkdir(parents=True)
    (outside / "tasks" / "t1" / "ui_messages.json").write_text("[]")
    build_home(home, "vscode", "linux", root / "raw/roo" / fleet_users[0])
    settings = home / ".config/Code/User/settings.json"
    settings.write_text(f'{{"roo-cline.customStoragePath": "{outside}",}}')
    found = discover(home)
    assert all(not s.custom for s in found.installs[0].storages)
    assert any("outside the home folder" in n and str(outside) in n for n in found.notes)


def test_symlinks_out_of_home_are_never_followed(tmp_path, fleet, fleet_users):
    root, _ = fleet
    home, outside = tmp_path / "home", tmp_path / "secret"
    outside.mkdir()
    (outside / "id_rsa").write_text("PRIVATE")
    storage = build_home(home, "vscode", "linux", root / "raw/roo" / fleet_users[0])
    task = next(p for p in (storage / "tasks").iterdir() if p.is_dir())
    (task / "ui_messages.json").unlink()
    (task / "ui_messages.json").symlink_to(outside / "id_rsa")
    (storage / "tasks" / "evil-task").symlink_to(outside, target_is_directory=True)
    # a whole editor folder that is a symlink out of the home
    (home / ".config" / "Cursor").symlink_to(outside, target_is_directory=True)
    found = discover(home)
    assert [i.editor for i in found.installs] == ["vscode"]
    items, _ = task_items(storage, found.notes)
    assert all(i.path.resolve().is_relative_to(home.resolve()) for i in items)
    assert not any(i.key.endswith(f"{task.name}/ui_messages.json") for i in items)
    assert not any("evil-task" in i.key for i in items)
    assert sum("symlink, not followed" in n for n in found.notes) == 2


def test_odd_file_names_are_refused_with_one_line(tmp_path, fleet, fleet_users):
    root, _ = fleet
    storage = build_home(tmp_path, "vscode", "linux", root / "raw/roo" / fleet_users[0])
    bad = storage / "tasks" / "bad\x01name"
    bad.mkdir()
    (bad / "ui_messages.json").write_text("[]")
    fifo = storage / "tasks" / "fifo-task"
    fifo.mkdir()
    os.mkfifo(fifo / "ui_messages.json")  # never opened: a reader would block
    notes: list[str] = []
    items, _ = task_items(storage, notes)
    assert not any("bad" in i.key or "fifo-task" in i.key for i in items)
    (line,) = [n for n in notes if "refused" in n]
    assert "control character" in line and "\n" not in line


def test_nothing_found_in_an_empty_home(tmp_path):
    assert discover(Path(tmp_path)).installs == []
