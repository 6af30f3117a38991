"""Recall on generated fleets: every planted value gone, every decoy intact, JSON valid.

Also the CLI end to end (folder, file, stdin/stdout, s3) and a leak scan of everything it
prints or logs.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import click
import orjson
import pytest
import yaml
from click.testing import CliRunner

from bench.synth import write_storage
from cli.redact import redact
from tasks.retention.config import RedactionConfig
from tasks.retention.redact_io import redact_path


def forms(value: str) -> set[str]:
    """The value as written raw, JSON-escaped once and twice (multi-line keys)."""
    once = json.dumps(value)[1:-1]
    return {value, once, json.dumps(once)[1:-1]}


def leaks(text: str, values: list[str]) -> list[str]:
    return [v[:12] for v in values if any(f in text for f in forms(v))]


@pytest.fixture(scope="module")
def fleet(tmp_path_factory) -> tuple[Path, dict]:
    from tasks.telemetry.generator import generate_fleet

    root = tmp_path_factory.mktemp("fleet")
    truth = generate_fleet(str(root), users=4, days=3, seed=21)
    return root, truth


@pytest.fixture(scope="module")
def redacted_fleet(fleet, tmp_path_factory) -> tuple[Path, dict]:
    root, _ = fleet
    out = tmp_path_factory.mktemp("fleet-red")
    summary = redact_path(str(root / "raw"), str(out), RedactionConfig(), b"k", workers=2)
    return out, summary


def test_generated_fleet_recall_is_one_and_decoys_survive(fleet, redacted_fleet) -> None:
    _, truth = fleet
    out, summary = redacted_fleet
    task_secrets = [s for s in truth["secrets"] if "/tasks/" in s["file"]]
    assert len(task_secrets) > 20
    for s in task_secrets:
        text = (out / s["file"].removeprefix("raw/")).read_text(errors="replace")
        assert not any(f in text for f in forms(s["value"])), (s["kind"], s["file"])
    for d in truth["decoys"]:
        text = (out / d["file"].removeprefix("raw/")).read_text(errors="replace")
        assert any(f in text for f in forms(d["value"])), (d["kind"], d["value"])
    assert summary["redactions"] >= len(task_secrets)


def test_generated_fleet_json_stays_valid(fleet, redacted_fleet) -> None:
    root, truth = fleet
    out, _ = redacted_fleet
    broken_inputs = {m["file"] for m in truth["malformed"]}
    checked = 0
    for path in out.rglob("*.json"):
        rel = "raw/" + str(path.relative_to(out))
        if rel in broken_inputs:
            continue
        src = orjson.loads((root / rel).read_bytes())
        dst = orjson.loads(path.read_bytes())
        if isinstance(src, list):  # same messages, same fields
            assert [sorted(m) if isinstance(m, dict) else m for m in dst] == [
                sorted(m) if isinstance(m, dict) else m for m in src
            ]
        checked += 1
    assert checked > 10


def test_synthetic_corpus_recall_exact_counts(tmp_path) -> None:
    truth = write_storage(tmp_path / "in", tasks=5, seed=2)
    summary = redact_path(str(tmp_path / "in"), str(tmp_path / "out"), RedactionConfig(), b"k", workers=1)  # fmt: skip
    for s in truth["secrets"]:
        data = (tmp_path / "out" / s["file"]).read_text()
        assert not any(f in data for f in forms(s["value"])), s["kind"]
    blob = "".join(p.read_text() for p in (tmp_path / "out").rglob("*") if p.is_file())
    assert all(d in blob for d in truth["decoys"])
    assert summary["redactions"] == len(truth["secrets"])  # no false positives


def _root() -> click.Group:
    @click.group()
    @click.option("--config", default=None)
    @click.pass_context
    def root(ctx: click.Context, config: str | None) -> None:
        ctx.ensure_object(dict)

    root.add_command(redact)
    return root


def test_cli_folder_file_and_stdin_never_print_a_secret(fleet, tmp_path, caplog) -> None:
    root, truth = fleet
    values = [s["value"] for s in truth["secrets"]]
    runner = CliRunner()
    caplog.set_level(logging.DEBUG)
    res = runner.invoke(_root(), ["redact", "--in", str(root / "raw"), "--out", str(tmp_path / "o"), "--json"])  # fmt: skip
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output)
    assert summary["files"] > 10 and summary["counts"]["email"] > 0
    one = next(s for s in truth["secrets"] if s["file"].endswith("ui_messages.json"))
    res2 = runner.invoke(_root(), ["redact", "--in", str(root / one["file"]), "--out", "-"])
    assert res2.exit_code == 0
    assert one["value"] not in res2.stdout and "[REDACTED:" in res2.stdout
    stdin = (root / one["file"]).read_bytes()
    res3 = runner.invoke(_root(), ["redact", "--in", "-", "--out", "-"], input=stdin)
    assert res3.exit_code == 0 and orjson.loads(res3.stdout_bytes)
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"redaction": {"custom_rules": [{"name": "x"}]}}))
    res4 = runner.invoke(_root(), ["--config", str(bad), "redact", "--in", "-", "--out", "-"])
    assert res4.exit_code != 0 and "redaction.custom_rules.0.kind" in res4.output
    everything = res.output + res2.output + res3.stderr + res4.output + caplog.text
    assert leaks(everything.replace(res2.stdout, "").replace(res3.stdout, ""), values) == []


def test_cli_s3_prefix_to_s3_prefix(buckets, s3, tmp_path) -> None:
    truth = write_storage(tmp_path / "in", tasks=2, seed=4)
    bucket = buckets.data_bucket
    for p in (tmp_path / "in").rglob("*"):
        if p.is_file():
            rel = p.relative_to(tmp_path / "in")
            s3.put_object(Bucket=bucket, Key=f"raw/roo/ann/{rel}", Body=p.read_bytes())
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump({"storage": buckets.model_dump(exclude_none=True)}))
    res = CliRunner().invoke(_root(), ["--config", str(cfg), "redact", "--in", f"s3://{bucket}/raw/roo/ann/", "--out", f"s3://{bucket}/redacted/roo/ann/", "--json"])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["redactions"] == len(truth["secrets"])
    for s in truth["secrets"]:
        body = s3.get_object(Bucket=bucket, Key=f"redacted/roo/ann/{s['file']}")["Body"].read()
        assert not any(f.encode() in body for f in forms(s["value"]))
    assert leaks(res.output, [s["value"] for s in truth["secrets"]]) == []


def test_redacting_twice_changes_nothing(redacted_fleet, tmp_path) -> None:
    """Markers never re-match, so a rerun (and the retention re-scan) sees a clean copy."""
    out, _ = redacted_fleet
    again = redact_path(str(out), str(tmp_path / "again"), RedactionConfig(), b"k", workers=1)
    assert again["redactions"] == 0 and again["files_changed"] == 0
