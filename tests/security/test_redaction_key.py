"""The redaction key is required: never derived from a public name (the bucket, the host).

A key derived from the bucket name lets anyone who knows the name recompute the HMAC and
brute-force the 8-hex markers of short values (SSNs, phone numbers). Without
COMPLIANCE_REDACTION_KEY or `redaction.key` every job that redacts stops with one line.
"""

from __future__ import annotations

import hashlib
import hmac

import pytest
from click.testing import CliRunner

from cli.main import cli
from tasks.common.errors import ConfigError
from tasks.retention.config import REDACTION_KEY_ENV, parse_redaction, redaction_key
from tasks.retention.engine import Redactor


def test_no_key_is_a_one_line_error_naming_both_places(monkeypatch):
    monkeypatch.delenv(REDACTION_KEY_ENV, raising=False)
    with pytest.raises(ConfigError) as exc:
        redaction_key(parse_redaction({}), "data-bucket")
    message = str(exc.value)
    assert "\n" not in message
    assert REDACTION_KEY_ENV in message and "redaction.key" in message


def test_key_from_env_or_config_is_used_as_given(monkeypatch):
    monkeypatch.delenv(REDACTION_KEY_ENV, raising=False)
    assert redaction_key(parse_redaction({"key": "k" * 32}), "b") == b"k" * 32
    monkeypatch.setenv(REDACTION_KEY_ENV, "e" * 32)
    assert redaction_key(parse_redaction({"key": "k" * 32}), "b") == b"e" * 32


def test_marker_is_not_recomputable_from_the_bucket_name(monkeypatch):
    """What an attacker who knows the bucket would compute under the old derivation."""
    monkeypatch.setenv(REDACTION_KEY_ENV, "a-real-secret-" + "x" * 20)
    bucket = "data-public-name"
    cfg = parse_redaction({})
    out = Redactor(cfg, redaction_key(cfg, bucket)).redact_text(b"ssn 123-45-6789 here")
    assert b"123-45-6789" not in out
    guessed_key = hashlib.sha256(f"compliance-jobs/redaction/{bucket}".encode()).digest()
    guess = hmac.new(guessed_key, b"123-45-6789", hashlib.sha256).hexdigest()[:8].encode()
    assert guess not in out


def test_redact_cli_without_a_key_fails_with_one_line(monkeypatch, tmp_path):
    monkeypatch.delenv(REDACTION_KEY_ENV, raising=False)
    cfg = tmp_path / "compliance.yaml"
    cfg.write_text("storage:\n  data_bucket: data-x\n  reports_bucket: reports-x\n")
    src = tmp_path / "in.txt"
    src.write_text("token ghp_" + "A" * 36 + "\n")
    result = CliRunner().invoke(
        cli, ["--config", str(cfg), "redact", "--in", str(src), "--out", str(tmp_path / "o.txt")]
    )
    assert result.exit_code != 0
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and REDACTION_KEY_ENV in lines[0], result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "o.txt").exists()
