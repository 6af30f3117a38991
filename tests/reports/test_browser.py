"""Every job's report.html, from a real demo run, in headless Chromium.

Each page is screenshotted (kept under $REPORT_SCREENSHOTS when set, for a person to look
at), measured at desktop and narrow widths (no horizontal overflow, no script error) and
checked for the elements a manager and an auditor need.
"""

from __future__ import annotations

import os
import re
from html import unescape
from pathlib import Path

import pytest

from tests.reports.browser import dom, probe, screenshot
from tests.reports.conftest import JOBS

RAW = re.compile(r"\bTrue\b|\bFalse\b|\bNone\b|\[\]|\['|entries \(see report\.json\)|\d\.\d{6,}")
CHARTS = {"telemetry-quality": 4, "log-retention": 0, "audit-trail": 1, "cost-budget": 4}


def _text(html: str) -> str:
    body = html[html.index("<body") : html.index('id="verify"')]  # the footer's recipe has jq []
    body = re.sub(r"<(style|svg)\b.*?</\1>", " ", body, flags=re.S)
    return unescape(re.sub(r"<[^>]+>", " ", body))


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    where = os.environ.get("REPORT_SCREENSHOTS")
    path = Path(where) if where else tmp_path_factory.mktemp("shots")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.mark.parametrize("job", JOBS)
def test_job_report_renders_in_chromium(job, job_pages, demo_out, shots):
    page = job_pages[job]
    png = screenshot(page, shots / f"{job}.png")
    assert png.stat().st_size > 20_000  # a rendered page, not a blank one
    for width in (1280, 1024, 800):
        layout = probe(page, width)
        assert layout["errors"] == [], layout
        assert layout["scrollWidth"] <= layout["clientWidth"], (width, layout)
    built = dom(page)
    for anchor in ("status", "headline", "counts", "summary", "findings", "not-evaluated",
                   "passed", "verify"):  # fmt: skip
        assert f'id="{anchor}"' in built, anchor
    text = _text(built)
    assert not RAW.search(text), RAW.search(text)
    assert built.count("<svg") >= CHARTS.get(job, 0)
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    from tasks.evidence.signer import fingerprint

    pub = load_pem_public_key((demo_out / "keys" / "signing-key.pub.pem").read_bytes())
    assert f'<code id="fingerprint">{fingerprint(pub)}</code>' in built
    assert "README" not in built[built.index('id="verify"') :]


def test_telemetry_quality_headline_separates_data_from_behaviour(job_pages):
    html = job_pages["telemetry-quality"].read_text()
    headline = unescape(re.search(r'id="headline">(.*?)</p>', html, re.S).group(1))
    assert headline.startswith("FAIL because")
    assert "passed its quality gate" in headline and "not about the quality of the data" in headline


def test_access_review_root_checks_without_root_row_are_not_evaluated(job_pages):
    html = job_pages["access-review"].read_text()
    ne = html[html.index('id="not-evaluated"') : html.index('id="passed"')]
    passed = html[html.index('id="passed"') : html.index('id="verify"')]
    assert "iam_root_mfa_disabled" in ne and "nothing to check" in ne
    assert "iam_root_mfa_disabled</code></td><td>" not in passed.split("Findings by check")[0]
    findings = html[html.index('id="findings"') : html.index('id="not-evaluated"')]
    assert findings.count("Remediation") >= 10 and "SOC 2 CC6." in findings


def test_log_retention_deleted_table_says_it_is_cut(job_pages, demo_out):
    html = job_pages["log-retention"].read_text()
    deleted = re.search(
        r"Showing the first 100 of ([\d,]+) rows; every row is in manifest.csv", html
    )
    assert deleted and int(deleted.group(1).replace(",", "")) > 100


def test_cost_budget_series_keep_their_colours(job_pages):
    from tasks.reports.charts import series_color

    html = job_pages["cost-budget"].read_text()
    spend = series_color("spend to date")
    team_charts = [c for c in html.split("<figure>") if "spend to date" in c]
    assert len(team_charts) >= 2
    for chart in team_charts:
        assert f'stroke="{spend}"' in chart
        assert "2.00<" not in chart


def test_probe_catches_overflow_and_script_errors(tmp_path):
    page = tmp_path / "wide.html"
    page.write_text(
        "<!doctype html><html><head></head><body><div style='width:3000px'>x</div>"
        "<script>undefinedFunction()</script></body></html>"
    )
    layout = probe(page, 1024)
    assert layout["scrollWidth"] > layout["clientWidth"]
    assert layout["errors"] and "undefinedFunction" in layout["errors"][0]
