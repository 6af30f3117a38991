"""`compliance run … --json` lists every bundle a multi-day run published (audit-trail
publishes one per day); `bundle` stays the last one; the table lists them all."""

from __future__ import annotations

import json

from click.testing import CliRunner

import cli.run as run_mod
from tasks.common.contract import combine


def _day(n: int, status: str = "pass") -> dict:
    return {"job": "audit-trail", "run_id": f"r{n}", "status": status,
            "bundle": f"s3://reports/audit-trail/2026-11-0{n}/r{n}/attestation.dsse.json",
            "counts": {"findings": n}}  # fmt: skip


def _invoke(monkeypatch, result, *extra):
    monkeypatch.setattr(run_mod, "run_local", lambda slug, params: result)
    monkeypatch.setattr(run_mod, "preflight", lambda *args: None)  # no storage here
    return CliRunner().invoke(
        run_mod.run, ["audit-trail", "--since", "2026-11-01", "--until", "2026-11-04", *extra]
    )


def test_multi_day_json_lists_every_bundle(monkeypatch):
    days = [_day(1), _day(2, "fail"), _day(3)]
    out = _invoke(monkeypatch, combine("audit-trail", days), "--json")
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert data["bundles"] == [d["bundle"] for d in days]
    assert data["bundle"] == days[-1]["bundle"] and data["status"] == "fail"


def test_multi_day_table_lists_every_bundle(monkeypatch):
    days = [_day(1), _day(2)]
    out = _invoke(monkeypatch, combine("audit-trail", days))
    assert out.exit_code == 0, out.output
    for d in days:
        assert f"  {d['bundle']}" in out.stdout
    assert "bundles (2, one per day):" in out.stdout


def test_one_day_and_dry_run(monkeypatch):
    one = _invoke(monkeypatch, combine("audit-trail", [_day(1)]), "--json")
    assert json.loads(one.stdout)["bundles"] == [_day(1)["bundle"]]
    dry = {**_day(1), "bundle": None}
    out = _invoke(monkeypatch, dry, "--json")
    assert json.loads(out.stdout)["bundles"] == []
    assert "(dry run: none published)" in _invoke(monkeypatch, dry).stdout
