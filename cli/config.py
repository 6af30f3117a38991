"""`compliance config check`: validate every section of compliance.yaml, one line per problem."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import click

from cli.common import emit_json
from tasks.common.errors import ComplianceError
from tasks.common.settings import AppConfig, load_config


def _budgets(app: AppConfig, source: str) -> None:
    from tasks.budget.config import parse_config

    parse_config(app.section("budget"), app.section("budgets"), source)


def _section(module: str, func: str, name: str) -> Callable[[AppConfig, str], None]:
    def check(app: AppConfig, source: str) -> None:
        import importlib

        getattr(importlib.import_module(module), func)(app.section(name), source)

    return check


def _schedules(app: AppConfig, source: str) -> None:
    from cronsim import CronSim, CronSimError

    from flows.registry import JOBS, ON_DEMAND

    for key, value in app.section("schedules").items():
        if key == "timezone":
            continue
        if key in ON_DEMAND:
            raise ComplianceError(f"{source}: schedules.{key}: runs on demand, takes no schedule")
        if key not in JOBS:
            raise ComplianceError(
                f"{source}: schedules.{key}: unknown job (known: {', '.join(JOBS)})"
            )
        try:
            CronSim(str(value), datetime(2026, 1, 1))
        except CronSimError:
            raise ComplianceError(f"{source}: schedules.{key}: invalid cron expression") from None


def _notifications(app: AppConfig, source: str) -> None:
    from tasks.common.notify import notifications_from

    app.section("notifications")  # must be a mapping
    notifications_from(app.sections, source)  # routes, URLs (never echoed), webhook_url


# section name(s) -> validator; each raises one ComplianceError naming the key
VALIDATORS: dict[str, Callable[[AppConfig, str], None]] = {
    "budget/budgets": _budgets,
    "redaction": _section("tasks.retention.config", "parse_redaction", "redaction"),
    "retention": _section("tasks.retention.config", "parse_retention", "retention"),
    "access": _section("tasks.access.config", "parse_access_config", "access"),
    "quality": _section("tasks.quality.config", "quality_config", "quality"),
    "audit": _section("tasks.audit.config", "audit_config", "audit"),
    "schedules": _schedules,
    "notifications": _notifications,
    "policy": _section("tasks.policy.config", "parse_policy_config", "policy"),
}
KNOWN_SECTIONS = {"storage"} | {n for key in VALIDATORS for n in key.split("/")}


def check_config(path: str | None) -> tuple[AppConfig | None, list[str]]:
    """Every problem in the file, one line each (storage problems stop the rest)."""
    try:
        app = load_config(path)
    except ComplianceError as exc:
        return None, [str(exc)]
    source = app.source or "environment"
    problems = [
        f"{source}: {name}: unknown section (known: {', '.join(sorted(KNOWN_SECTIONS))})"
        for name in app.sections
        if name not in KNOWN_SECTIONS
    ]
    for validate in VALIDATORS.values():
        try:
            validate(app, source)
        except ComplianceError as exc:
            problems.append(str(exc))
    return app, problems


@click.group("config")
def config() -> None:
    """Inspect and validate the configuration."""


@config.command("check")
@click.option("--json", "as_json", is_flag=True, help='Print {"ok", "source", "problems"}.')
@click.pass_context
def check(ctx: click.Context, as_json: bool) -> None:
    """Validate compliance.yaml and the environment; one line per problem, exit 2 if any."""
    app, problems = check_config(ctx.find_root().params.get("config"))
    source = app.source if app else None
    result: dict[str, Any] = {"ok": not problems, "source": source, "problems": problems}
    if as_json:
        emit_json(result)
    else:
        for line in problems:
            click.echo(f"error: {line}", err=True)
        if not problems:
            click.echo(f"{source or 'environment (no config file)'}: ok")
    if problems:
        ctx.exit(2)
