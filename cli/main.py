"""`compliance`: the command-line entry point. Each command group lives in its own module."""

from __future__ import annotations

import importlib
import os

import click

from cli.common import OneLineGroup

# Analytics off before Prefect or GX is imported by any command.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")

# (module, attribute) of each registered command or group, in help order.
COMMANDS: list[tuple[str, str]] = [
    ("cli.evidence", "keys"),
    ("cli.evidence", "storage"),
    ("cli.evidence", "evidence"),
    ("cli.evidence", "reports"),
    ("cli.telemetry", "telemetry"),
    ("cli.audit", "audit"),
    ("cli.redact", "redact"),
    ("cli.access", "access_review"),
    ("cli.collect", "collect"),
    ("cli.roster", "roster"),
    ("cli.config", "config"),
    ("cli.run", "run"),
    ("cli.serve", "serve"),
    ("cli.demo", "demo"),
    ("cli.runbook", "runbook"),
    ("cli.policy", "policy"),
]


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("compliance-jobs")
    except PackageNotFoundError:  # run from a checkout without `pip install -e .`
        import tomllib
        from pathlib import Path

        pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
        return tomllib.loads(pyproject.read_text())["project"]["version"]


@click.group(cls=OneLineGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(
    _version(), "--version", prog_name="compliance", message="%(prog)s %(version)s"
)
@click.option(
    "--config",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Path of compliance.yaml (default: $COMPLIANCE_CONFIG, then ./compliance.yaml).",
)
@click.option(
    "--debug",
    is_flag=True,
    help="On an error, print its traceback; show Prefect's own log lines.",
)
@click.pass_context
def cli(ctx: click.Context, config: str | None, debug: bool) -> None:
    """Compliance jobs for a fleet of Roo Code agents, with signed evidence bundles."""
    ctx.ensure_object(dict)


def register_commands() -> None:
    for module_name, attr in COMMANDS:
        module = importlib.import_module(module_name)
        cli.add_command(getattr(module, attr))
    from cli.generate import generate
    from cli.telemetry import telemetry

    telemetry.add_command(generate)


register_commands()


def main() -> None:
    cli(prog_name="compliance")


if __name__ == "__main__":
    main()
