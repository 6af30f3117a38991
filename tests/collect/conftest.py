from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def fleet(tmp_path_factory) -> tuple[Path, dict]:
    """A small generated fleet (Roo Code's real file shapes): (root, ground truth)."""
    from tasks.telemetry.generator import generate_fleet

    root = tmp_path_factory.mktemp("fleet")
    truth = generate_fleet(str(root), 3, 1, 11)
    return root, truth


@pytest.fixture(scope="session")
def fleet_users(fleet) -> list[str]:
    root, _ = fleet
    return sorted(p.name for p in (root / "raw" / "roo").iterdir() if (p / "tasks").is_dir())
