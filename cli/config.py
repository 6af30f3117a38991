"""`compliance config check`: every problem in every section of compliance.yaml, one line each.

Each section is validated against its job's own model with every error collected (not
only the first); an unknown key gets a did-you-mean from the keys that level accepts. A
section whose model is satisfied then goes through its job's own parser for the checks a
model cannot express (time zones, duplicate rule names). What `compliance run` needs —
both buckets and a signing key — is checked too: a file that parses but cannot run fails.
"""

from __future__ import annotations

import difflib
import typing
from datetime import datetime
from pathlib import Path
from typing import Any

import click
import yaml
from pydantic import BaseModel, ValidationError

from cli.common import emit_json
from tasks.common.errors import ComplianceError
from tasks.common.settings import ENV_NAMES, AppConfig, StorageSettings, load_config


def _sections() -> dict[str, Any]:
    """Every job's config section, with its model and parser (flows/registry.py)."""
    from flows.registry import SECTIONS

    return SECTIONS


KNOWN_SECTIONS = {"storage", "schedules", "notifications", "evidence"} | set(_sections())


def did_you_mean(word: str, known: typing.Iterable[str]) -> str:
    known = sorted(set(known))
    close = difflib.get_close_matches(word, known, n=1, cutoff=0.6)
    if close:
        return f"did you mean '{close[0]}'?"
    return f"known: {', '.join(known)}" if known else ""


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        if found := _model_in(arg):
            return found
    return None


def _keys_at(model: type[BaseModel], loc: tuple) -> list[str]:
    """The keys a mapping at `loc` (inside `model`) accepts, aliases included."""
    ann: Any = model
    for part in loc:
        origin = typing.get_origin(ann)
        if origin in (list, tuple, dict) or isinstance(part, int):
            args = typing.get_args(ann)
            ann = args[-1] if args else None
            continue
        m = _model_in(ann)
        field = m.model_fields.get(part) if m else None
        if field is None:
            return []
        ann = field.annotation
    m = _model_in(ann)
    if m is None:
        return []
    return [f.alias or name for name, f in m.model_fields.items()]


def _path(prefix: str, loc: tuple) -> str:
    return prefix + "".join(f".{p}" for p in loc)


def model_problems(model: type[BaseModel], raw: Any, prefix: str, source: str) -> list[str]:
    """Every validation error of `raw` against `model`, one line each."""
    try:
        model.model_validate(raw if raw is not None else {})
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            if err["type"] == "extra_forbidden":
                hint = did_you_mean(str(loc[-1]), _keys_at(model, loc[:-1]))
                msg = "unknown key" + (f"; {hint}" if hint else "")
            elif err["type"] == "missing":
                msg = "required key is missing"
            else:
                msg = err["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
            lines.append(f"{source}: {_path(prefix, loc)}: {msg}")
        return lines
    return []


def _budget_rules(raw: Any, source: str) -> list[str]:
    """budgets: the section's own keys, then each rule against its type's model."""
    from tasks.budget.config import RULE_TYPES, BudgetsSection

    if not isinstance(raw, dict):
        return [f"{source}: budgets: must be a mapping"]
    raw = dict(raw)
    rules = raw.pop("rules", []) or []
    problems = model_problems(BudgetsSection, raw, "budgets", source)
    if not isinstance(rules, list):
        return [*problems, f"{source}: budgets.rules: must be a list"]
    for i, rule in enumerate(rules):
        where = f"budgets.rules[{i}]"
        kind = rule.get("type") if isinstance(rule, dict) else None
        if not isinstance(rule, dict):
            problems.append(f"{source}: {where}: must be a mapping")
        elif kind not in RULE_TYPES:
            hint = did_you_mean(str(kind), RULE_TYPES)
            problems.append(f"{source}: {where}.type: unknown rule type; {hint}")
        else:
            problems += model_problems(RULE_TYPES[kind], rule, where, source)
    return problems


def _schedules(app: AppConfig, source: str) -> list[str]:
    from cronsim import CronSim, CronSimError

    from flows.registry import HOUSEKEEPING, JOBS, ON_DEMAND

    problems = []
    for key, value in app.section("schedules").items():
        if key == "timezone":
            continue
        if key in ON_DEMAND:
            problems.append(f"{source}: schedules.{key}: runs on demand, takes no schedule")
        elif key not in JOBS and key not in HOUSEKEEPING:
            hint = did_you_mean(str(key), [*JOBS, *HOUSEKEEPING, "timezone"])
            problems.append(f"{source}: schedules.{key}: unknown job; {hint}")
        else:
            try:
                CronSim(str(value), datetime(2026, 1, 1))
            except CronSimError:
                problems.append(f"{source}: schedules.{key}: invalid cron expression")
    return problems


def _notifications(app: AppConfig, source: str) -> list[str]:
    from tasks.common.notify import notifications_from

    url = app.section("notifications").get("webhook_url")
    if url is not None and not str(url).startswith(("http://", "https://")):
        return [f"{source}: notifications.webhook_url: must be an http(s) URL"]
    try:  # routes and their URLs (a URL is never echoed: it may hold a token)
        notifications_from(app.sections, source)
    except ComplianceError as exc:
        return [str(exc)]
    return []


def _storage(path: str | None, source: str) -> tuple[StorageSettings | None, list[str]]:
    """The storage section with the environment applied: every error, then what run needs."""
    import os

    raw: dict[str, Any] = {}
    if path and Path(path).is_file():
        loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        raw = dict(loaded.get("storage") or {}) if isinstance(loaded, dict) else {}
    raw |= {field: os.environ[var] for var, field in ENV_NAMES.items() if os.environ.get(var)}
    problems = model_problems(StorageSettings, raw, "storage", source)
    if problems:
        return None, problems
    st = StorageSettings.model_validate(raw)
    needs = [
        ("data_bucket", "COMPLIANCE_DATA_BUCKET"),
        ("reports_bucket", "COMPLIANCE_REPORTS_BUCKET"),
        ("signing_key", "COMPLIANCE_SIGNING_KEY"),
    ]
    for field, var in needs:
        if not getattr(st, field):
            problems.append(f"{source}: storage.{field}: not set (or {var}); `compliance run` needs it")  # fmt: skip
    key = st.signing_key
    if key and not key.startswith("kms:") and not Path(key).is_file():
        problems.append(f"{source}: storage.signing_key: {key}: no such file")
    return st, problems


def check_config(path: str | None) -> tuple[AppConfig | None, list[str]]:
    """Every problem in the file and the environment, one line each."""
    try:
        app = load_config(path)
    except ComplianceError as exc:
        if ": storage." not in str(exc):
            return None, [str(exc)]  # unreadable file: nothing else can be checked
        app = None
    from tasks.common.settings import _config_path

    cfg = _config_path(path)
    source = str(cfg) if cfg else "environment"
    _, problems = _storage(str(cfg) if cfg else None, source)
    if app is None:  # storage is broken: read the other sections on their own
        data = yaml.safe_load(cfg.read_text(encoding="utf-8")) if cfg else {}
        sections = {k: v for k, v in (data or {}).items() if k != "storage"}
        app = AppConfig(storage=StorageSettings(), sections=sections, source=str(cfg))
    for name in app.sections:
        if name not in KNOWN_SECTIONS:
            hint = did_you_mean(str(name), KNOWN_SECTIONS)
            problems.append(f"{source}: {name}: unknown section; {hint}")
    bad: set[str] = set()
    for name, section in _sections().items():
        if name not in app.sections:
            continue
        if name == "budgets":  # each rule against its type's model
            found = _budget_rules(app.sections[name], source)
        else:
            found = model_problems(section.load_model(), app.sections[name], name, source)
        problems += found
        bad |= {name} if found else set()
    for name, section in _sections().items():  # what the models cannot express
        if name not in bad:
            try:
                section.parse(app.section(name), source)
            except ComplianceError as exc:
                problems.append(str(exc))
    for more in (_schedules, _notifications):
        try:
            problems += more(app, source)
        except ComplianceError as exc:  # the section is not a mapping
            problems.append(str(exc))
    return app, list(dict.fromkeys(problems))


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
