"""index.html over a folder of downloaded bundles: by control, by job, by period.

The folder is what `compliance reports download` writes (reports/<job>/<Y>/<M>/<D>/<run>/
with the same keys as the bucket). Every bundle is listed with its status, whether it
verified (signature, digests, chain) and relative links to its files, so the folder can
be zipped and handed to an auditor: the page needs no network and no script. Controls come
from each bundle's assessment-results.oscal.json (the state it gives each control), or,
for bundles older than that file, from the checks' mappings.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, select_autoescape

from tasks.evidence.verify import BUNDLE_KEY_RE, ENVELOPE_NAME
from tasks.reports.oscal import FILENAME as OSCAL_FILE
from tasks.reports.oscal import control_ids

INDEX_NAME = "index.html"
_env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
_template = _env.from_string((Path(__file__).with_name("index.html.j2")).read_text())


def _controls(folder: Path, report: dict[str, Any]) -> dict[str, str]:
    """control id -> satisfied | not-satisfied, the worst over the bundle's findings."""
    out: dict[str, str] = {}
    try:
        doc = json.loads((folder / OSCAL_FILE).read_text(encoding="utf-8"))
        for f in doc["assessment-results"]["results"][0].get("findings", []):
            state = f["target"]["status"]["state"]
            cid = f["target"]["target-id"]
            out[cid] = "not-satisfied" if "not-satisfied" in (state, out.get(cid)) else state
        return out
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        pass
    findings = report.get("findings") if isinstance(report.get("findings"), list) else []
    for f in (f for f in findings if isinstance(f, dict)):
        state = "satisfied" if f.get("status") == "pass" else "not-satisfied"
        for cid, _ in control_ids(f.get("check", "")):
            out[cid] = "not-satisfied" if "not-satisfied" in (state, out.get(cid)) else state
    return out


def _verdict(prefix: str, verification: dict[str, Any] | None) -> tuple[str, list[str]]:
    if verification is None:
        return "not verified", []
    problems = [
        f"{f.get('check')}: {f.get('message')}"
        for f in verification.get("failures", [])
        if prefix in str(f.get("object", ""))
    ]
    return ("failed" if problems else "verified"), problems


def collect(
    root: Path, verification: dict[str, Any] | None = None, since: date | None = None
) -> list[dict[str, Any]]:
    """One entry per bundle folder under root/reports/, newest first."""
    bundles = []
    for envelope in sorted((root / "reports").glob(f"*/*/*/*/*/{ENVELOPE_NAME}")):
        folder = envelope.parent
        rel = folder.relative_to(root).as_posix() + "/"
        m = BUNDLE_KEY_RE.match(rel + ENVELOPE_NAME)
        if not m:
            continue
        day = date(int(m.group(3)), int(m.group(4)), int(m.group(5)))
        if since and day < since:
            continue
        try:
            if (folder / "report.json").is_symlink():  # never follow a link out of the bundle
                raise ValueError("a symlink")
            report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
            if not isinstance(report, dict):
                raise ValueError("not an object")
        except (OSError, ValueError) as exc:
            report = {"status": "unreadable", "error": f"report.json: {type(exc).__name__}"}
        verdict, problems = _verdict(rel, verification)
        # report.json may be hostile (a bundle that failed verification is listed too)
        period = report.get("period") if isinstance(report.get("period"), dict) else {}
        findings = report.get("findings") if isinstance(report.get("findings"), list) else []
        open_ = [f for f in findings if isinstance(f, dict) and f.get("status") != "pass"]
        bundles.append({
            "job": m.group(2), "run_id": m.group(6), "prefix": rel, "day": day.isoformat(),
            "status": str(report.get("status", "unknown")), "verdict": verdict, "problems": problems,
            "period": f"{str(period.get('start', '?'))[:10]} → {str(period.get('end', '?'))[:10]}",
            "month": str(period.get("start", day.isoformat()))[:7],
            "open": len(open_),
            "files": sorted(p.name for p in folder.iterdir() if p.is_file() and not p.is_symlink()),
            "controls": _controls(folder, report),
        })  # fmt: skip
    return sorted(bundles, key=lambda b: (b["day"], b["run_id"]), reverse=True)


def _control_key(cid: str) -> tuple:
    family = 0 if cid.startswith("cc") else 1 if cid.startswith("cis-") else 2
    # (0, n) before (1, text) at each position: ids from hostile OSCAL files mix both
    parts = [
        (0, int(p), "") if p.isdigit() else (1, 0, p) for p in cid.replace("-", ".").split(".")
    ]
    return (family, parts)


def relative_link(prefix: str, name: str) -> str:
    """A bundle file's link beside the downloaded tree (names URL-quoted)."""
    return prefix + quote(name)


def render_index(
    bundles: list[dict[str, Any]],
    title: str = "Evidence index",
    link: Callable[[str, str], str] = relative_link,
) -> bytes:
    """The index page; `link(prefix, file name)` makes each file's URL (relative to the
    downloaded tree by default, presigned GET URLs for `reports index --share`)."""
    by_control: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for b in bundles:
        for cid, state in b["controls"].items():
            by_control[cid].append({**b, "state": state})
    by_job: dict[str, list[dict[str, Any]]] = defaultdict(list)
    by_month: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for b in bundles:
        by_job[b["job"]].append(b)
        by_month[b["month"]].append(b)
    html = _template.render(
        title=title,
        generated=datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        bundles=bundles,
        failed=[b for b in bundles if b["verdict"] == "failed"],
        by_control=sorted(by_control.items(), key=lambda kv: _control_key(kv[0])),
        by_job=sorted(by_job.items()),
        by_month=sorted(by_month.items(), reverse=True),
        link=link,
    )
    return html.encode()


def write_index(
    root: Path, verification: dict[str, Any] | None = None, since: date | None = None
) -> Path:
    """root/index.html, beside reports/ (never inside a bundle: that is an extra object)."""
    path = root / INDEX_NAME
    path.write_bytes(render_index(collect(root, verification, since)))
    return path
