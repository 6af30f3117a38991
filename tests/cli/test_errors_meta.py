"""Every CLI command, given bad input, fails with one line on stderr and no traceback.

The click tree in cli/main.py is walked, so a new command is covered without editing
this file: each command gets an unknown option, its required arguments left out, a
missing --config file and, where it reads files, a path that does not exist. The
`run` path is driven in subprocesses (Prefect's logging is real there) and must fail
before any flow or embedded Prefect server starts: fast, and no Prefect database made.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from cli.main import cli

ROOT = Path(__file__).resolve().parents[2]
FAST = 8.0  # seconds: argument checks only, nothing started
ENV_CLEARED = [
    "COMPLIANCE_CONFIG", "COMPLIANCE_DATA_BUCKET", "COMPLIANCE_REPORTS_BUCKET",
    "COMPLIANCE_SIGNING_KEY", "COMPLIANCE_REDACTION_KEY", "COMPLIANCE_TRUSTED_KEYS",
    "AWS_ENDPOINT_URL", "PREFECT_API_URL",
]  # fmt: skip


def _commands(group: click.Group, prefix: tuple[str, ...] = ()):
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield from _commands(command, (*prefix, name))
        else:
            yield (*prefix, name), command


ALL = list(_commands(cli))
IDS = [" ".join(p) for p, _ in ALL]


def _filler(param: click.Parameter, missing: Path) -> str:
    """A value that passes click's own type check; paths never exist."""
    t = param.type
    if isinstance(t, click.Choice):
        return str(t.choices[0])
    if isinstance(t, (click.IntRange, click.FloatRange)):
        return str(t.min if t.min is not None else 1)
    if isinstance(t, (click.types.IntParamType, click.types.FloatParamType)):
        return "1"
    if isinstance(t, click.DateTime):
        return "2026-01-01"
    if isinstance(t, click.Path) or param.name in ("path", "src", "file", "decisions", "bundle"):
        return str(missing / (param.name or "x"))
    return "x"


def _required_args(command: click.Command, missing: Path) -> list[str]:
    args: list[str] = []
    for p in command.params:
        if not p.required:
            continue
        if isinstance(p, click.Argument):
            args.append(_filler(p, missing))
        else:
            args += [p.opts[0], _filler(p, missing)]
    return args


def _path_option_args(command: click.Command, missing: Path) -> list[str] | None:
    """Required args plus every existing-file option pointed at a missing path."""
    extra = [
        a
        for p in command.params
        if isinstance(p, click.Option) and isinstance(p.type, click.Path) and p.type.exists
        for a in (p.opts[0], str(missing / "nope.pem"))
    ]
    required_path = any(  # inputs only: an output folder that does not exist is made
        p.required
        and ((isinstance(p.type, click.Path) and p.type.exists) or p.name in ("path", "src"))
        for p in command.params
    )
    if not extra and not required_path:
        return None
    return _required_args(command, missing) + extra


@pytest.fixture
def clean_env(tmp_path, monkeypatch):
    for var in ENV_CLEARED:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.chdir(tmp_path)  # no ./compliance.yaml
    return tmp_path


def assert_one_line_error(code, stdout: str, stderr: str, elapsed: float, lines: int = 1):
    assert code not in (0, None), f"exit {code}; stdout={stdout!r} stderr={stderr!r}"
    assert "Traceback" not in stdout + stderr, stderr
    got = [line for line in stderr.splitlines() if line.strip()]
    assert len(got) == lines, f"expected {lines} line(s) on stderr, got {len(got)}: {stderr!r}"
    assert all(line.startswith("error: ") for line in got), got
    assert elapsed < FAST, f"took {elapsed:.1f} s"


def invoke(args: list[str]):
    start = time.monotonic()
    result = CliRunner().invoke(cli, args)
    elapsed = time.monotonic() - start
    # an exception other than SystemExit escaping the command would be a traceback
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    return result, elapsed


@pytest.mark.parametrize("path, command", ALL, ids=IDS)
def test_unknown_option_is_one_line(path, command, clean_env):
    result, elapsed = invoke([*path, "--no-such-option"])
    assert_one_line_error(result.exit_code, result.stdout, result.stderr, elapsed)
    assert "--no-such-option" in result.stderr


@pytest.mark.parametrize("path, command", ALL, ids=IDS)
def test_missing_config_file_is_one_line(path, command, clean_env):
    missing = clean_env / "missing"
    args = ["--config", str(missing / "compliance.yaml"), *path, *_required_args(command, missing)]
    result, elapsed = invoke(args)
    assert_one_line_error(result.exit_code, result.stdout, result.stderr, elapsed)
    assert "compliance.yaml" in result.stderr


REQUIRED = [(p, c) for p, c in ALL if any(q.required for q in c.params)]


@pytest.mark.parametrize("path, command", REQUIRED, ids=[" ".join(p) for p, _ in REQUIRED])
def test_missing_required_argument_is_one_line(path, command, clean_env):
    result, elapsed = invoke(list(path))
    assert_one_line_error(result.exit_code, result.stdout, result.stderr, elapsed)


FILES = [(p, c) for p, c in ALL if _path_option_args(c, Path("/m")) is not None]


@pytest.mark.parametrize("path, command", FILES, ids=[" ".join(p) for p, _ in FILES])
def test_missing_file_is_one_line(path, command, clean_env):
    args = _path_option_args(command, clean_env / "missing")
    result, elapsed = invoke([*path, *args])
    assert_one_line_error(result.exit_code, result.stdout, result.stderr, elapsed)


def test_meta_covers_every_command():
    assert len(ALL) >= 25 and {" ".join(p) for p, _ in FILES} >= {
        "evidence publish",
        "keys rotate",
        "policy propose",
        "storage init",
        "telemetry summarize",
        "redact",
    }


# Commands that read storage: without buckets each says which setting is missing.
PIN = ["--trusted-key", "ab" * 32]  # past the trust check, to the storage one
NEEDS_STORAGE = [
    ["reports", "list"],
    ["reports", "download", "--to", "out", *PIN],
    ["reports", "index", "--to", "out", *PIN],
    ["reports", "verify", "--job", "cost-budget", *PIN],
    ["storage", "init"],
    ["audit", "search", "--user", "alice"],
    ["policy", "status"],
    ["runbook", "check"],
]


@pytest.mark.parametrize("args", NEEDS_STORAGE, ids=[" ".join(a) for a in NEEDS_STORAGE])
def test_missing_buckets_is_one_line(args, clean_env):
    result, elapsed = invoke(args)
    assert_one_line_error(result.exit_code, result.stdout, result.stderr, elapsed)
    assert "bucket" in result.stderr.lower() or "not set" in result.stderr


BAD_DATES = [
    ["audit", "search", "--user", "alice", "--since", "yesterday"],
    ["reports", "list", "--since", "yesterday"],
]


@pytest.mark.parametrize("args", BAD_DATES, ids=[" ".join(a) for a in BAD_DATES])
def test_bad_date_is_one_line(args, clean_env):
    result, elapsed = invoke(args)
    assert_one_line_error(result.exit_code, result.stdout, result.stderr, elapsed)


@pytest.mark.parametrize(
    "text", ["storage: [unclosed", "- a list\n- at the top\n", "storage: {retention_dayz: 3}\n"]
)
@pytest.mark.parametrize("args", [["reports", "list"], ["policy", "status"], ["runbook", "check"]])
def test_bad_config_is_one_line(text, args, clean_env):
    cfg = clean_env / "compliance.yaml"
    cfg.write_text(text)
    result, elapsed = invoke(["--config", str(cfg), *args])
    assert_one_line_error(result.exit_code, result.stdout, result.stderr, elapsed)
    assert "compliance.yaml" in result.stderr


def test_config_check_is_one_line_per_problem(clean_env):
    cfg = clean_env / "compliance.yaml"
    cfg.write_text("storage: {retention_dayz: 3}\nqualty: {}\naccess: {chekcs: []}\n")
    result, elapsed = invoke(["--config", str(cfg), "config", "check"])
    problems = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(problems) >= 3, problems  # each typo'd key
    assert_one_line_error(result.exit_code, result.stdout, result.stderr, elapsed, len(problems))


# ---- `compliance run`: real subprocesses, real Prefect logging --------------------------


def _run_cli(args: list[str], tmp_path: Path, env: dict[str, str] | None = None):
    full = {k: v for k, v in os.environ.items() if k not in ENV_CLEARED}
    prefect_home = tmp_path / "prefect-home"
    full |= {
        "PYTHONPATH": str(ROOT),
        "PREFECT_HOME": str(prefect_home),
        "AWS_EC2_METADATA_DISABLED": "true",
    } | (env or {})
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        cwd=tmp_path,
        env=full,
        capture_output=True,
        text=True,
        timeout=120,
    )
    elapsed = time.monotonic() - start
    # no flow ran: the embedded Prefect server never made its database
    assert not list(prefect_home.rglob("*.db")), "a Prefect server was started"
    return proc, elapsed


@pytest.fixture
def runnable(tmp_path):
    key = tmp_path / "signing-key.pem"
    key.write_text("checked for existence only: the run stops before it is read")
    return {
        "COMPLIANCE_DATA_BUCKET": "data",
        "COMPLIANCE_REPORTS_BUCKET": "reports",
        "COMPLIANCE_SIGNING_KEY": str(key),
        "COMPLIANCE_REDACTION_KEY": "k" * 32,
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",  # nothing listens: nothing must call it
    }


RUN_CASES = {
    "no-buckets": (
        ["run", "access-review", "--team", "platform"],
        {"COMPLIANCE_DATA_BUCKET": "", "COMPLIANCE_REPORTS_BUCKET": ""},
        "data_bucket",
    ),
    "bad-since": (["run", "access-review", "--since", "yesterday"], None, "since"),
    "bad-until": (["run", "cost-budget", "--until", "2026-13-01"], None, "until"),
    "until-before-since": (
        ["run", "audit-trail", "--since", "2026-02-02", "--until", "2026-02-01"],
        None,
        "since",
    ),
    "bad-team": (["run", "cost-budget", "--team", "../etc"], None, "--team"),
    "bad-user": (["run", "telemetry-quality", "--user", "a/b"], None, "--user"),
    "unknown-job": (["run", "cost-budgt"], None, "cost-budget"),
    "no-signing-key": (["run", "access-review"], {"COMPLIANCE_SIGNING_KEY": ""}, "signing_key"),
    "no-redaction-key": (
        ["run", "log-retention"],
        {"COMPLIANCE_REDACTION_KEY": ""},
        "COMPLIANCE_REDACTION_KEY",
    ),
    "missing-config": (["--config", "nope.yaml", "run", "access-review"], None, "nope.yaml"),
    "bad-section": (["--config", "bad.yaml", "run", "access-review"], None, "access.chekcs"),
}


@pytest.mark.parametrize("case", list(RUN_CASES))
def test_run_fails_before_any_flow(case, tmp_path, runnable):
    args, env, needle = RUN_CASES[case]
    (tmp_path / "bad.yaml").write_text("access: {chekcs: [iam_root_mfa_disabled]}\n")
    proc, elapsed = _run_cli(args, tmp_path, runnable if env is None else runnable | env)
    assert_one_line_error(proc.returncode, proc.stdout, proc.stderr, elapsed)
    assert needle in proc.stderr


def test_run_json_error_is_one_object(tmp_path, runnable):
    proc, elapsed = _run_cli(
        ["run", "cost-budget", "--since", "nope", "--json"], tmp_path, runnable
    )
    assert proc.returncode == 2 and proc.stderr == "" and "Traceback" not in proc.stdout
    assert '"status": "error"' in proc.stdout and len(proc.stdout.splitlines()) == 1


def test_debug_shows_the_traceback(tmp_path, runnable):
    proc, _ = _run_cli(["--debug", "run", "cost-budget", "--since", "nope"], tmp_path, runnable)
    assert proc.returncode != 0
    assert "Traceback" in proc.stderr and proc.stderr.strip().endswith(
        "error: cost-budget: since: expected a date YYYY-MM-DD, got 'nope'"
    )


@pytest.mark.slow
def test_a_flow_that_fails_inside_prefect_is_one_line(tmp_path, runnable):
    """Past the checks (storage unreachable): the flow runs under the embedded Prefect
    server and fails; Prefect logs that failure with a traceback, which stays off the
    terminal — the CLI's one line remains."""
    full = {k: v for k, v in os.environ.items() if k not in ENV_CLEARED}
    full |= runnable | {
        "PYTHONPATH": str(ROOT),
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
        "AWS_MAX_ATTEMPTS": "1",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
    }
    proc = subprocess.run(
        [sys.executable, "-m", "cli.main", "run", "cost-budget", "--dry-run"],
        cwd=tmp_path,
        env=full,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert list((tmp_path / "prefect-home").rglob("*.db")), "the flow did not start"
    assert proc.returncode == 1 and "Traceback" not in proc.stdout + proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: cost-budget: "), proc.stderr


def test_only_prefects_own_records_are_kept_off_the_terminal():
    import logging

    from cli.common import _NotPrefect

    def rec(name: str) -> logging.LogRecord:
        return logging.LogRecord(name, logging.ERROR, __file__, 1, "m", None, None)

    keep = _NotPrefect()
    assert not keep.filter(rec("prefect.flow_runs")) and not keep.filter(rec("uvicorn.error"))
    assert keep.filter(rec("tasks.retention.deleter")) and keep.filter(rec("flows.x"))
