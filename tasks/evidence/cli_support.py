"""Argument parsing and client plumbing behind cli/evidence.py (kept out of the CLI module)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from tasks.common.errors import InputError, StorageError
from tasks.common.models import Period
from tasks.common.settings import StorageSettings


def aws_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """botocore failures as one-line StorageErrors (never a traceback, never a secret)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ClientError as exc:
            err = exc.response.get("Error", {})
            raise StorageError(
                f"{exc.operation_name}: {err.get('Code', '?')}: {err.get('Message', '')}".strip()
            ) from None
        except (BotoCoreError, ConnectionError) as exc:
            raise StorageError(f"storage unreachable: {type(exc).__name__}") from None

    return wrapper


def kms_client(settings: StorageSettings) -> Any:
    import boto3

    return boto3.client("kms", region_name=settings.region, endpoint_url=settings.endpoint_url)


def signer_from(settings: StorageSettings) -> Any:
    from .signer import load_signer

    spec = settings.signing_key or ""
    kms = kms_client(settings) if spec.startswith("kms:") else None
    return load_signer(spec, kms_client=kms, password_env=settings.signing_key_password_env)


def listing_row(store: Any, ref: Any, trust: Any) -> dict[str, Any]:
    """One `reports list` row. The statement's status is shown only when its signature is
    by a trusted key; otherwise the status says why it is not trusted (never a crash)."""
    from .verify import check_signed, printable

    env, problem = check_signed(store, ref.prefix, trust)
    pred = env.predicate if env else {}
    row = {
        "job": ref.job,
        "run_id": ref.run_id,
        "period": pred.get("period"),
        "status": pred.get("status") if problem is None else f"untrusted ({problem.check})",
        "verified_signature": problem is None,
        "counts": pred.get("counts") or {},
        "generated_at": pred.get("generated_at"),
        "uri": ref.envelope_uri(store.bucket),
    }
    if problem is not None:
        row["problem"] = printable(problem.message)
    return row


def reports_bucket(settings: StorageSettings) -> str:
    settings.require("reports_bucket")
    return settings.reports_bucket


def parse_date(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        raise InputError(f"{name} {value!r}: expected YYYY-MM-DD") from None


def _time(value: str, name: str) -> datetime:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"{name} {value!r}: expected an ISO 8601 time") from None


def parse_period(start: str | None, end: str | None) -> Period:
    default = Period.last_days(1)
    try:
        return Period(
            start=_time(start, "--period-start") if start else default.start,
            end=_time(end, "--period-end") if end else default.end,
        )
    except ValueError as exc:
        raise InputError(str(exc).splitlines()[-1]) from None


def parse_counts(items: tuple[str, ...]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in items:
        k, _, v = item.partition("=")
        if not k or not v.strip().lstrip("-").isdigit():
            raise InputError(f"--count {item!r}: expected NAME=N")
        counts[k] = int(v)
    return counts


def read_files(paths: tuple[str, ...]) -> dict[str, bytes]:
    content: dict[str, bytes] = {}
    for f in paths:
        name = Path(f).name
        if name in content:
            raise InputError(f"{f}: two files named {name}")
        content[name] = Path(f).read_bytes()
    return content
