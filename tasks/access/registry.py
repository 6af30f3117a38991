"""Discover checks: every folder under tasks/access/checks/ holding <id>/<id>.py."""

from __future__ import annotations

import importlib
import inspect
from functools import cache
from pathlib import Path

from tasks.access.base import Check, CheckDefinitionError

CHECKS_DIR = Path(__file__).parent / "checks"


def check_folders() -> list[Path]:
    return sorted(
        p for p in CHECKS_DIR.iterdir() if p.is_dir() and not p.name.startswith(("_", "."))
    )


@cache
def discover() -> dict[str, type[Check]]:
    """Import every check folder; each must define exactly one Check subclass."""
    found: dict[str, type[Check]] = {}
    for folder in check_folders():
        if not (folder / f"{folder.name}.py").exists():
            raise CheckDefinitionError(f"{folder}: no {folder.name}.py in check folder")
        module = importlib.import_module(f"tasks.access.checks.{folder.name}.{folder.name}")
        classes = [
            c
            for _, c in inspect.getmembers(module, inspect.isclass)
            if issubclass(c, Check) and c is not Check and c.__module__ == module.__name__
        ]
        if len(classes) != 1:
            raise CheckDefinitionError(f"{folder}: expected one Check class, found {len(classes)}")
        meta = classes[0].load_metadata()
        found[meta.id] = classes[0]
    return found
