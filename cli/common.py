"""Shared CLI plumbing: one-line errors, --json output, settings and clients."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import Any

import click

from tasks.common.errors import ComplianceError
from tasks.common.settings import AppConfig, load_config


def fail(message: str, code: int = 2) -> None:
    """Print one line to stderr and exit non-zero."""
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def one_line_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn our own exceptions (and a few well-known ones) into one-line messages."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ComplianceError as exc:
            fail(str(exc))
        except FileNotFoundError as exc:
            fail(f"{exc.filename}: no such file or directory")
        except KeyboardInterrupt:
            fail("interrupted", code=130)

    return wrapper


def emit_json(obj: Any) -> None:
    click.echo(json.dumps(obj, sort_keys=True, default=str))


def get_config(ctx: click.Context | None = None) -> AppConfig:
    ctx = ctx or click.get_current_context()
    root = ctx.find_root()
    root.ensure_object(dict)
    if "config" not in root.obj:
        root.obj["config"] = load_config(root.params.get("config"))
    return root.obj["config"]
