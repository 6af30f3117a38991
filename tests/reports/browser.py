"""Headless Chromium (Debian's `chromium`) for report tests: screenshot and measure a page.

The page is copied next to a probe script that runs after load and writes what the test
asserts on (scroll vs client width, script errors, element counts) into the DOM, which
`--dump-dom` prints. The report itself carries no JavaScript; only the copy does.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]
PROBE = """<script>
window.__errors = [];
window.addEventListener('error', e => window.__errors.push(String(e.message || e.type)), true);
window.addEventListener('load', () => {
  const d = document.documentElement, b = document.body;
  const wide = [...document.querySelectorAll('body *')]
    .filter(el => el.getBoundingClientRect().right > d.clientWidth + 1)
    .slice(0, 5).map(el => el.tagName + '.' + el.className);
  const out = {scrollWidth: Math.max(d.scrollWidth, b.scrollWidth), clientWidth: d.clientWidth,
    errors: window.__errors, wide: wide,
    svgs: document.querySelectorAll('svg').length,
    brokenImages: [...document.images].filter(i => !i.complete || !i.naturalWidth).length};
  const pre = document.createElement('pre'); pre.id = '__probe';
  pre.textContent = JSON.stringify(out); b.appendChild(pre);
});
</script>"""


def _run(args: list[str], timeout: int = 90) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        return subprocess.run(
            [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


def screenshot(html: Path, png: Path, width: int = 1280, height: int = 4000) -> Path:
    """A full-width screenshot of the first `height` pixels of the page."""
    _run([f"--window-size={width},{height}", f"--screenshot={png}", html.resolve().as_uri()])
    if not png.exists() or png.stat().st_size < 1000:
        raise AssertionError(f"chromium wrote no screenshot of {html}")
    return png


def probe(html: Path, width: int = 1280) -> dict:
    """Layout facts of the page at `width` px: scroll/client width, errors, svg count."""
    with tempfile.TemporaryDirectory(prefix="probe-") as tmp:
        copy = Path(tmp) / html.name
        text = html.read_text(encoding="utf-8")
        copy.write_text(text.replace("<head>", "<head>" + PROBE, 1), encoding="utf-8")
        out = _run([f"--window-size={width},900", "--dump-dom", copy.as_uri()])
    m = re.search(r'<pre id="__probe">(.*?)</pre>', out.stdout, re.S)
    if not m:
        raise AssertionError(f"chromium gave no probe result: {out.stderr[-500:]}")
    return json.loads(m.group(1).replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">"))


def dom(html: Path) -> str:
    """The DOM chromium built from the page."""
    return _run(["--dump-dom", html.resolve().as_uri()]).stdout
