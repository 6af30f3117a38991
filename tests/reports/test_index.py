"""The evidence index over real downloaded bundles (the demo's), and over hostile folders."""

from __future__ import annotations

import json
import re
import shutil
from html import unescape

from click.testing import CliRunner

from cli.reports_index import index
from tasks.reports.index import collect, render_index
from tests.reports.browser import probe
from tests.reports.conftest import JOBS


def _pin(demo_out) -> list[str]:
    """The demo's public key, as an auditor receives it out of band."""
    return ["--public-key", str(demo_out / "keys" / "signing-key.pub.pem")]


def _copy(demo_out, tmp_path):
    root = tmp_path / "bundles"
    shutil.copytree(demo_out / "bundles", root)
    (root / "index.html").unlink()  # the demo's own; each test builds its own
    return root


def test_the_demo_builds_the_index(demo_out):
    html = (demo_out / "bundles" / "index.html").read_text()
    assert 'id="by-control"' in html and ">verified<" in html


def test_index_of_the_demo_bundles(demo_out, tmp_path):
    root = _copy(demo_out, tmp_path)
    result = CliRunner().invoke(
        index, ["--to", str(root), "--from-folder", "--json", *_pin(demo_out)]
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["failed_verification"] == 0 and out["bundles"] >= len(JOBS)
    html = (root / "index.html").read_text()
    for anchor in ("by-control", "by-job", "by-period", "control-cc6.1", "control-cc7.2"):
        assert f'id="{anchor}"' in html, anchor
    for job in JOBS:
        assert f'id="job-{job}"' in html
    # every link resolves to a file of the downloaded tree
    links = re.findall(r'href="([^"#]+)"', html)
    assert links and all((root / unescape(link)).is_file() for link in links)
    assert "assessment-results.oscal.json" in html and ">verified<" in html
    layout = probe(root / "index.html", 1024)
    assert layout["scrollWidth"] <= layout["clientWidth"] and not layout["errors"]


def test_a_tampered_bundle_is_flagged_and_the_command_fails(demo_out, tmp_path):
    root = _copy(demo_out, tmp_path)
    report = sorted((root / "reports" / "cost-budget").rglob("report.json"))[-1]
    report.write_text(report.read_text().replace('"fail"', '"pass"', 1))
    result = CliRunner().invoke(index, ["--to", str(root), "--from-folder", *_pin(demo_out)])
    assert result.exit_code == 1 and "1 failed verification" in result.output
    html = (root / "index.html").read_text()
    assert 'id="verification-failures"' in html and report.parent.name in html


def test_hostile_folder_contents_are_escaped_and_links_stay_inside(tmp_path):
    bundle = (
        tmp_path / "reports" / "access-review" / "2026" / "11" / "20" / "20261120T060000Z-abcd1234"
    )
    bundle.mkdir(parents=True)
    (bundle / "attestation.dsse.json").write_text("{}")
    (bundle / 'x"><img src=x onerror=alert(1)>.csv').write_text("x")
    (bundle / "a b#c?.csv").write_text("x")
    secret = tmp_path / "secret.json"
    secret.write_text('{"status": "pass", "findings": []}')
    (bundle / "report.json").symlink_to(secret)
    odd = tmp_path / "reports" / "x" / "2026" / "11" / "20" / "bad run!"
    odd.mkdir(parents=True)
    (odd / "attestation.dsse.json").write_text("{}")  # not a bundle key: skipped
    bundles = collect(tmp_path)
    assert [b["run_id"] for b in bundles] == ["20261120T060000Z-abcd1234"]
    assert bundles[0]["status"] == "unreadable"  # the symlinked report.json is not followed
    html = render_index(bundles).decode()
    assert "<img src=x" not in html and "a%20b%23c%3F.csv" in html


def test_index_without_a_trust_anchor_refuses(demo_out, tmp_path, monkeypatch):
    monkeypatch.delenv("COMPLIANCE_TRUSTED_KEYS", raising=False)
    root = _copy(demo_out, tmp_path)
    result = CliRunner().invoke(index, ["--to", str(root), "--from-folder"])
    assert result.exit_code != 0 and not (root / "index.html").exists()


def test_hostile_report_json_and_control_ids_do_not_break_the_index(tmp_path):
    from tasks.reports.index import _control_key

    for i, body in enumerate(['{"findings": ["x"], "period": "p"}', '{"findings": 5}']):
        bundle = (
            tmp_path
            / "reports"
            / "cost-budget"
            / "2026"
            / "11"
            / "20"
            / f"20261120T06000{i}Z-abcd123{i}"
        )
        bundle.mkdir(parents=True)
        (bundle / "attestation.dsse.json").write_text("{}")
        (bundle / "report.json").write_text(body)
    bundles = collect(tmp_path)
    assert len(bundles) == 2 and all(b["open"] == 0 for b in bundles)
    assert sorted(["cc6.1", "cc6.a", "om-1", "om-access"], key=_control_key)
    assert render_index(bundles)
