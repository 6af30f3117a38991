"""Every CLI command has help text and appears in the README (the user's manual)."""

from pathlib import Path

import click
import pytest

from cli.main import cli

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()

# The contract's command names (design.md, "Contracts"): schedules and scripts rely on them.
CONTRACT = [
    "telemetry generate",
    "telemetry summarize",
    "storage init",
    "keys generate",
    "run",
    "redact",
    "evidence publish",
    "reports list",
    "reports download",
    "reports verify",
    "reports share",
    "access-review decide",
    "audit search",
    "config check",
    "serve",
]


def _commands(group: click.Group, prefix: str = ""):
    for name, command in sorted(group.commands.items()):
        path = f"{prefix}{name}"
        if isinstance(command, click.Group):
            yield from _commands(command, f"{path} ")
        else:
            yield path, command


ALL = list(_commands(cli))


def test_every_contract_command_exists():
    names = {path for path, _ in ALL}
    assert set(CONTRACT) <= names, set(CONTRACT) - names


@pytest.mark.parametrize("path, command", ALL, ids=[p for p, _ in ALL])
def test_command_has_help_and_is_in_readme(path, command):
    assert (command.help or "").strip(), f"compliance {path} has no help text"
    assert f"compliance {path}" in README, f"README does not mention 'compliance {path}'"
