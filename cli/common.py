"""Shared CLI plumbing: one-line errors, --json output, settings and clients."""

from __future__ import annotations

import functools
import json
import logging
import sys
import traceback
from collections.abc import Callable
from typing import Any

import click

from tasks.common.errors import ComplianceError
from tasks.common.settings import AppConfig, load_config


def debug_enabled() -> bool:
    """`compliance --debug`: tracebacks and Prefect's own log lines on stderr."""
    ctx = click.get_current_context(silent=True)
    return bool(ctx and (ctx.find_root().params or {}).get("debug"))


def fail(message: str, code: int = 2) -> None:
    """Print one line to stderr and exit non-zero."""
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def first_line(exc: BaseException) -> str:
    """An exception as one line for the terminal."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def one_line(exc: BaseException) -> tuple[str, int]:
    """The one-line message and exit code for an exception no command handled."""
    if isinstance(exc, ComplianceError):
        return first_line(exc), 2
    if isinstance(exc, FileNotFoundError) and exc.filename:
        return f"{exc.filename}: no such file or directory", 2
    if isinstance(exc, (PermissionError, IsADirectoryError, NotADirectoryError)) and exc.filename:
        return f"{exc.filename}: {exc.strerror or type(exc).__name__}", 2
    return f"{type(exc).__name__}: {first_line(exc)}", 1


def one_line_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn our own exceptions (and a few well-known ones) into one-line messages."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (ComplianceError, FileNotFoundError) as exc:
            if debug_enabled():
                traceback.print_exc()
            fail(one_line(exc)[0])
        except KeyboardInterrupt:
            fail("interrupted", code=130)

    return wrapper


class OneLineGroup(click.Group):
    """The root group: whatever goes wrong below it ends as one `error:` line on stderr
    and a non-zero exit; usage errors included (click prints three lines by default)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except KeyboardInterrupt:
            fail("interrupted", code=130)
        except Exception as exc:  # the last resort: never a traceback unless --debug
            if (ctx.params or {}).get("debug"):
                traceback.print_exc()
            message, code = one_line(exc)
            fail(message, code)

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        try:
            rv = super().main(*args, standalone_mode=False, **kwargs)
        except click.exceptions.UsageError as exc:
            where = f"{exc.ctx.command_path}: " if exc.ctx else ""
            message = " ".join(exc.format_message().split())  # click wraps choice lists
            fail(f"{where}{message} (see --help)", exc.exit_code)
        except click.ClickException as exc:
            fail(" ".join(exc.format_message().split()), exc.exit_code)
        except click.Abort:
            fail("aborted", code=1)
        sys.exit(rv if isinstance(rv, int) else 0)


class _NotPrefect(logging.Filter):
    """Drops Prefect's (and its server's) records: a failed flow run logs its traceback.
    Great Expectations' INFO chatter goes too: the job reports what GX found."""

    PREFIXES = ("prefect", "uvicorn", "fastapi", "httpx", "alembic", "great_expectations")

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.name.startswith(self.PREFIXES)


def quiet_prefect() -> None:
    """Keep Prefect's own log lines (flow run started/failed, with its traceback) off the
    terminal unless --debug: the CLI reports the outcome in one line. Records still go to
    the Prefect API, so the UI keeps every detail. Call it after Prefect is imported."""
    if debug_enabled():
        return
    from prefect.logging.configuration import ensure_logging_setup

    ensure_logging_setup()
    names = ["", "prefect._internal", "uvicorn", "fastapi"]
    for handler in {h for n in names for h in logging.getLogger(n).handlers}:
        kind = type(handler)
        # Prefect's terminal handlers only: its API handler feeds the UI, and a handler
        # someone else installed (pytest's capture, an operator's) is theirs to filter
        if not kind.__module__.startswith("prefect.logging") or "API" in kind.__name__:
            continue
        if not any(isinstance(f, _NotPrefect) for f in handler.filters):
            handler.addFilter(_NotPrefect())


def emit_json(obj: Any) -> None:
    click.echo(json.dumps(obj, sort_keys=True, default=str))


def get_config(ctx: click.Context | None = None) -> AppConfig:
    ctx = ctx or click.get_current_context()
    root = ctx.find_root()
    root.ensure_object(dict)
    if "config" not in root.obj:
        root.obj["config"] = load_config(root.params.get("config"))
    return root.obj["config"]
