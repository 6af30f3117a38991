"""Load the Great Expectations suites in `expectations/` (GX 1.x `to_json_dict()` shape).

Each file is one suite for one table: {"name", "expectations": [{"type", "kwargs",
"meta": {"severity", "name", "quarantine"?}}], "meta": {"table", ...}}. Suites are data,
read at run time; nothing here rebuilds them in code.

GX's own `ExpectationSuite(**data)` logs and silently *drops* an expectation it cannot
build; we build each one ourselves so a broken file fails loudly, in one line naming it.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tasks.common.errors import ComplianceError

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "expectations"
SEVERITIES = ("critical", "warning")


class SuiteError(ComplianceError):
    """An expectation suite file cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class ExpectationSpec:
    """What the job needs to know about one expectation beyond GX's own configuration."""

    name: str  # stable short name, used as the quarantine reason
    type: str
    severity: str  # critical | warning
    quarantine: bool  # failing rows leave the validated table (row-level expectations only)
    column: str | None


@dataclass
class LoadedSuite:
    path: Path
    table: str
    suite: Any  # great_expectations.core.ExpectationSuite
    specs: list[ExpectationSpec]  # in the file's order (GX keeps the same order)

    @property
    def name(self) -> str:
        return self.suite.name

    def spec_named(self, name: str) -> ExpectationSpec:
        return next(s for s in self.specs if s.name == name)


def _fail(path: Path, problem: str) -> SuiteError:
    return SuiteError(f"{path}: {problem}")


def _build_expectation(path: Path, index: int, entry: Any) -> tuple[Any, ExpectationSpec]:
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )

    where = f"expectations[{index}]"
    if not isinstance(entry, dict):
        raise _fail(path, f"{where} is not an object")
    etype, kwargs, meta = entry.get("type"), entry.get("kwargs", {}), entry.get("meta") or {}
    if not isinstance(etype, str) or not etype:
        raise _fail(path, f"{where} has no 'type'")
    if not isinstance(kwargs, dict) or not isinstance(meta, dict):
        raise _fail(path, f"{where} ({etype}): 'kwargs' and 'meta' must be objects")
    severity = meta.get("severity")
    if severity not in SEVERITIES:
        raise _fail(path, f"{where} ({etype}): meta.severity must be one of {list(SEVERITIES)}")
    name = meta.get("name") or f"{etype}:{kwargs.get('column', '')}".rstrip(":")
    meta = {**meta, "name": str(name)}  # results come back reordered; the name maps them
    try:
        config = ExpectationConfiguration(type=etype, kwargs=kwargs, meta=meta)
        expectation = config.to_domain_obj()
    except Exception as exc:  # GX raises several unrelated classes (not found, pydantic, …)
        first = str(getattr(exc, "message", None) or exc).strip().splitlines()
        detail = first[0] if first else type(exc).__name__
        if "not found" in detail:
            detail = f"unknown expectation type '{etype}'"
        elif len(first) > 2:  # pydantic: "1 validation error for X" / "field" / "reason"
            detail = f"{first[1].strip()}: {first[2].strip()}"
        raise _fail(path, f"{where} ({etype}) is invalid: {detail}") from None
    spec = ExpectationSpec(
        name=str(name),
        type=etype,
        severity=severity,
        quarantine=bool(meta.get("quarantine", True)),
        column=kwargs.get("column"),
    )
    return expectation, spec


def load_suite(path: str | Path) -> LoadedSuite:
    """Parse and build one suite file; any problem is one SuiteError naming the file."""
    from great_expectations.core import ExpectationSuite

    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise _fail(path, "suite file not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        where = f" (line {exc.lineno})" if isinstance(exc, json.JSONDecodeError) else ""
        raise _fail(path, f"is not valid JSON{where}") from None
    if not isinstance(data, dict) or not isinstance(data.get("name"), str) or not data["name"]:
        raise _fail(path, "must be an object with a non-empty 'name'")
    entries = data.get("expectations")
    if not isinstance(entries, list) or not entries:
        raise _fail(path, "'expectations' must be a non-empty list")
    meta = data.get("meta") or {}
    table = meta.get("table") if isinstance(meta, dict) else None
    if not isinstance(table, str) or not table:
        raise _fail(path, "meta.table (the table this suite validates) is missing")
    built = [_build_expectation(path, i, e) for i, e in enumerate(entries)]
    names = [s.name for _, s in built]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise _fail(path, f"expectation names must be unique, repeated: {', '.join(dupes)}")
    gx_log = logging.getLogger("great_expectations.core.expectation_suite")
    suite = ExpectationSuite(name=data["name"], expectations=[e for e, _ in built], meta=meta)
    if len(suite.expectations) != len(built):  # GX dropped one after logging it
        gx_log.debug("suite %s lost expectations while building", path)
        raise _fail(path, "Great Expectations rejected an expectation")
    return LoadedSuite(path=path, table=table, suite=suite, specs=[s for _, s in built])


def load_suites(directory: str | Path | None = None) -> dict[str, LoadedSuite]:
    """Every `*.json` suite in the directory, keyed by the table it validates."""
    directory = Path(directory) if directory else DEFAULT_DIR
    if not directory.is_dir():
        raise SuiteError(f"{directory}: expectations directory not found")
    suites: dict[str, LoadedSuite] = {}
    for path in sorted(directory.glob("*.json")):
        loaded = load_suite(path)
        if loaded.table in suites:
            raise _fail(path, f"a second suite for table '{loaded.table}'")
        suites[loaded.table] = loaded
    return suites
