"""COMPLIANCE_RETRY_DELAY_SECONDS: the wait before a job step's retries (the suite sets 0)."""

from __future__ import annotations

import os
import subprocess
import sys


def _import_template(value: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, COMPLIANCE_RETRY_DELAY_SECONDS=value)
    code = (
        "import flows.template as t; print(t.RETRIED['retry_delay_seconds'], t.RETRIED['retries'])"
    )
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)


def test_the_delay_is_read_and_the_retries_stay():
    done = _import_template("2.5")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["2.5", "2"]


def test_a_bad_delay_is_one_line():
    for value, why in (("soon", "not a number"), ("-1", "must be 0 to 3600")):
        done = _import_template(value)
        assert done.returncode == 1
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and "COMPLIANCE_RETRY_DELAY_SECONDS" in lines[0], done.stderr
        assert why in lines[0] and "Traceback" not in done.stderr
