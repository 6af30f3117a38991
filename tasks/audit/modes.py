"""Custom modes that can edit, read from the users' settings exports in the data bucket.

Roo Code custom modes (`customModes[]` in settings/custom_modes.yaml, and a project's
`.roomodes`) list their tool groups; a slug whose groups include `edit` (plain or as
`[edit, {fileRegex}]`) is edit-capable. Slugs are pooled across users: a switch into a
mode any user defined with `edit` is recorded (erring towards recording more). A
custom mode that overrides a built-in slug never removes the built-in's edit group.
"""

from __future__ import annotations

from typing import Any

import yaml

from tasks.common.layout import RAW_ROO
from tasks.common.storage import S3Store

MODE_FILES = ("custom_modes.yaml", ".roomodes")


def edit_slugs(doc: Any) -> set[str]:
    """Slugs with the edit group in one parsed customModes document."""
    modes = doc.get("customModes") if isinstance(doc, dict) else None
    out: set[str] = set()
    for mode in modes if isinstance(modes, list) else []:
        if not isinstance(mode, dict) or not isinstance(mode.get("slug"), str):
            continue
        for group in mode.get("groups") or []:
            name = group[0] if isinstance(group, list) and group else group
            if name == "edit":
                out.add(mode["slug"])
    return out


def custom_edit_modes(client: Any, bucket: str) -> tuple[set[str], list[str]]:
    """(edit-capable custom slugs, unreadable files) over raw/roo/<user>/settings/."""
    store = S3Store(client, bucket)
    slugs: set[str] = set()
    unreadable: list[str] = []
    users, _files = store.children(RAW_ROO)
    for user in users:
        for key in store.keys(f"{RAW_ROO}{user}/settings/"):
            if key.rsplit("/", 1)[-1] not in MODE_FILES:
                continue
            data = store.read(key)
            if data is None:  # removed since the listing: nothing to read
                continue
            try:
                slugs |= edit_slugs(yaml.safe_load(data))
            except (yaml.YAMLError, UnicodeDecodeError):
                unreadable.append(store.uri(key))
    return slugs, unreadable
