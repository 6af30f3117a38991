"""The configuration reference, rendered from the models each job validates its section with.

`python -m tasks.common.config_docs` prints it; `--write README.md` replaces the block
between the markers. tests/cli/test_config_reference.py keeps the README equal to it, so
a key added to a model without a description, or a README left behind, fails a test.
"""

from __future__ import annotations

import enum
import importlib
import json
import sys
import typing
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any, Literal

import annotated_types as at
from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

START = "<!-- config-reference:start (generated: python -m tasks.common.config_docs --write README.md) -->"  # fmt: skip
END = "<!-- config-reference:end -->"

# The sections every job shares; each job's own come from flows/registry.py (SECTIONS).
COMMON: list[tuple[str, str, str, str]] = [
    (
        "storage",
        "tasks.common.settings",
        "StorageSettings",
        "Buckets, endpoint and signing key every job shares; an environment variable wins over the file.",
    ),  # fmt: skip
    (
        "notifications",
        "tasks.common.notify",
        "NotificationsConfig",
        "Where run results and alerts go.",
    ),  # fmt: skip
]


def sections() -> list[tuple[str, str, str, str]]:
    """(section, module, model, intro) in the README's order: the shared ones, then every
    section a registered job (or on-demand flow) reads."""
    from flows.registry import DEPLOYABLE, SECTIONS

    out = list(COMMON)
    for name, sec in SECTIONS.items():
        readers = ", ".join(j.slug for j in DEPLOYABLE.values() if name in j.sections)
        module, _, model = sec.model.partition(":")
        out.append((name, module, model, sec.intro.format(jobs=readers)))
    return out


ENV = {  # key -> the environment variable that overrides or replaces it
    "storage.endpoint_url": "AWS_ENDPOINT_URL",
    "storage.region": "AWS_DEFAULT_REGION",
    "storage.reports_bucket": "COMPLIANCE_REPORTS_BUCKET",
    "storage.data_bucket": "COMPLIANCE_DATA_BUCKET",
    "storage.signing_key": "COMPLIANCE_SIGNING_KEY",
    "storage.retention_days": "COMPLIANCE_RETENTION_DAYS",
    "evidence.trusted_keys": "COMPLIANCE_TRUSTED_KEYS",
    "notifications.webhook_url": "COMPLIANCE_WEBHOOK_URL",
    "redaction.key": "COMPLIANCE_REDACTION_KEY",
}
MOVED = {"storage.trusted_keys": "evidence.trusted_keys"}  # read from `evidence:` in the file
OP = {at.Ge: ("≥", "ge"), at.Gt: (">", "gt"), at.Le: ("≤", "le"), at.Lt: ("<", "lt")}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("<", "&lt;").replace("\n", " ")


def type_name(ann: Any) -> str:
    origin, args = typing.get_origin(ann), typing.get_args(ann)
    if origin is typing.Annotated:
        return type_name(args[0])
    if origin is typing.Union or type(ann).__name__ == "UnionType":
        rest = [a for a in args if a is not type(None)]
        return " or ".join(type_name(a) for a in rest)
    if origin is Literal:
        return "one of " + ", ".join(str(a) for a in args)
    if origin in (list, tuple, set):
        return f"list of {type_name(args[0])}" if args else "list"
    if origin is dict:
        return f"mapping {type_name(args[0])} → {type_name(args[1])}"
    if isinstance(ann, type):
        if issubclass(ann, enum.Enum):
            return "one of " + ", ".join(str(m.value) for m in ann)
        if ann.__name__ == "Limit":  # budget limits: a number with a unit
            return "limit ('$N', 'N%', 'Nx')"
        if issubclass(ann, BaseModel):
            return "mapping"
        named = {bool: "bool", int: "int", float: "number", str: "string", date: "date"}
        if ann in named:
            return named[ann]
        if issubclass(ann, SecretStr):
            return "secret string"
    return str(ann).replace("typing.", "")


def _constraints(field: FieldInfo) -> str:
    out = []
    for meta in field.metadata:
        for kind, (op, attr) in OP.items():
            if isinstance(meta, kind):
                out.append(f"{op} {getattr(meta, attr)}")
    return f" ({', '.join(out)})" if out else ""


def default_text(field: FieldInfo) -> str:
    if field.is_required():
        return "required"
    value = field.default_factory() if field.default_factory else field.default  # type: ignore[call-arg]
    if value is PydanticUndefined or value is None:
        return "unset"
    if isinstance(value, BaseModel):
        dumped = value.model_dump(exclude_defaults=False)
        return "see below" if type(value).model_fields and dumped else "{}"
    if isinstance(value, (list, dict)) and len(value) > 3:
        return f"{len(value)} entries"
    if isinstance(value, enum.Enum):
        value = value.value
    return f"`{json.dumps(value, default=str)}`"


def _model_in(ann: Any) -> type[BaseModel] | None:
    if isinstance(ann, type) and issubclass(ann, BaseModel) and ann.__name__ != "Limit":
        return ann
    for arg in typing.get_args(ann):
        if found := _model_in(arg):
            return found
    return None


def rows(model: type[BaseModel], prefix: str, skip: tuple[str, ...] = ()) -> Iterator[str]:
    """One table row per key, nested mappings flattened (`a.b`, lists of mappings `a[].b`)."""
    for name, field in model.model_fields.items():
        if name in skip:
            continue
        key = MOVED.get(f"{prefix}.{name}", f"{prefix}.{name}")
        if not field.description:
            raise ValueError(f"{model.__name__}.{name} has no Field description")
        meaning = field.description[0].upper() + field.description[1:]
        if key in ENV:
            meaning += f"; env `{ENV[key]}`"
        kind = type_name(field.annotation) + _constraints(field)
        yield f"| `{key}` | {_cell(kind)} | {_cell(default_text(field))} | {_cell(meaning)} |"
        sub = _model_in(field.annotation)
        if sub is not None and name != "rules":
            listy = typing.get_origin(field.annotation) is list
            yield from rows(sub, f"{key}[]" if listy else key)


HEAD = "| key | type | default | meaning |\n|---|---|---|---|"


def _schedules() -> str:
    from flows.registry import JOBS, ON_DEMAND

    lines = [
        "#### `schedules`",
        "",
        "Cron schedules of the deployments `compliance serve` creates; a job left out keeps its default. "
        f"On-demand flows ({', '.join(ON_DEMAND)}) take none.",
        "",
        HEAD,
        '| `schedules.timezone` | string | `"UTC"` | IANA time zone of every cron below |',
    ]
    for slug, job in JOBS.items():
        crons = ", ".join(f"`{c}`" for c in (job.schedule, *job.extra_schedules))
        lines.append(f"| `schedules.{slug}` | cron | {crons} | {_cell(job.description)} |")
    return "\n".join(lines)


def render() -> str:
    from tasks.budget.config import RULE_TYPES

    parts = []
    for section, module, model_name, intro in sections():
        model = getattr(importlib.import_module(module), model_name)
        extra = ""
        if model.model_config.get("extra") == "allow":
            extra = " Other keys in this section are kept as policy rules."
        parts.append(f"#### `{section}`\n\n{intro}{extra}\n\n{HEAD}\n" + "\n".join(rows(model, section)))  # fmt: skip
        if section == "storage":
            parts.append(_schedules())
        if section == "budgets":
            for kind, rule in RULE_TYPES.items():
                parts.append(
                    f"##### `budgets.rules[]` with `type: {kind}`\n\n{_cell(' '.join((rule.__doc__ or '').split()))}\n\n{HEAD}\n"  # fmt: skip
                    + "\n".join(rows(rule, "budgets.rules[]", skip=("type",)))
                )
    return "\n\n".join(parts) + "\n"


def replace_block(text: str, block: str) -> str:
    head, sep, rest = text.partition(START)
    _, sep2, tail = rest.partition(END)
    if not sep or not sep2:
        raise ValueError(f"markers not found: {START} … {END}")
    return f"{head}{START}\n{block}{END}{tail}"


def current_block(text: str) -> str:
    return text.partition(START)[2].partition(END)[0].removeprefix("\n")


def main(argv: list[str]) -> int:
    if argv[:1] == ["--write"] and len(argv) == 2:
        path = Path(argv[1])
        path.write_text(replace_block(path.read_text(encoding="utf-8"), render()), encoding="utf-8")
        return 0
    sys.stdout.write(render())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
