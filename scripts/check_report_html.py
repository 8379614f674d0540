#!/usr/bin/env python3
"""Open a sparks report.html in headless Chromium, screenshot it, and check it.

    python scripts/check_report_html.py out/report/report.html [--screenshot report.png]

Fails (exit status 1) when the page raises a JavaScript error, when a plot
(``svg.plot``) has no visible data mark (an element of class ``mark``, or, in matplotlib's
SVG, an id starting ``mark-``, with a non-empty box), when two labels
(``<text>``) of a plot overlap, when the page has no plot at all, or when the first drill-down
(a failed response's ``<details>``) does not open to a visible text. The screenshot is taken
with that drill-down (and a flipped problem's, if any) open. Exit status 2: no Chromium found (install Debian's ``chromium``, or set
``CHROMIUM=/path/to/chrome``). The checks run inside the page: a copy of the report gets a
first script that records errors (``window.onerror``) and, after ``load``, measures every
plot; Chromium's ``--dump-dom`` brings the result back. Nothing is fetched from the network.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Optional

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
WIDTH = 1280
MAX_HEIGHT = 12000
TIMEOUT_S = 120

OPEN_DRILLS = """<script>
window.addEventListener('load', function () {
  var first = document.querySelectorAll('#samples details, details.flip');
  for (var i = 0; i < first.length && i < 2; i++) { first[i].open = true; }
});
</script>"""

PROBE = """<script>
window.__sparksErrors = [];
window.addEventListener('error', function (e) {
  window.__sparksErrors.push(String(e.message || e.type) + ' at ' + (e.lineno || '?'));
}, true);
window.addEventListener('load', function () {
  setTimeout(function () {
    var plots = document.querySelectorAll('svg.plot');
    var result = {errors: window.__sparksErrors, plots: [],
                  height: document.documentElement.scrollHeight};
    for (var i = 0; i < plots.length; i++) {
      var svg = plots[i], marks = svg.querySelectorAll('.mark, [id^="mark-"]'), visible = 0;
      for (var j = 0; j < marks.length; j++) {
        var box = marks[j].getBBox();
        if (box.width > 0 && box.height > 0) { visible++; }
      }
      var rect = svg.getBoundingClientRect();
      var texts = svg.querySelectorAll('text'), boxes = [], overlaps = [];
      for (var k = 0; k < texts.length; k++) {
        var b = texts[k].getBoundingClientRect();
        if (b.width > 0 && b.height > 0) { boxes.push([b, texts[k].textContent]); }
      }
      for (var a = 0; a < boxes.length; a++) {
        for (var c = a + 1; c < boxes.length; c++) {
          var p = boxes[a][0], q = boxes[c][0];
          var dx = Math.min(p.right, q.right) - Math.max(p.left, q.left);
          var dy = Math.min(p.bottom, q.bottom) - Math.max(p.top, q.top);
          if (dx > 1 && dy > 1) { overlaps.push(boxes[a][1] + ' / ' + boxes[c][1]); }
        }
      }
      result.plots.push({title: svg.getAttribute('aria-label'), marks: marks.length,
                         visible: visible, width: rect.width, height: rect.height,
                         overlaps: overlaps.slice(0, 5)});
    }
    var drill = document.querySelector('#samples details');
    if (drill) {
      drill.open = true;
      var text = drill.querySelector('pre:last-of-type'), box = text ? text.getBoundingClientRect() : null;
      result.drill = {height: box ? box.height : 0, chars: text ? text.textContent.length : 0,
                      marks: drill.querySelectorAll('mark').length};
    }
    var out = document.createElement('pre');
    out.id = '__sparks_check';
    out.textContent = JSON.stringify(result);
    document.body.appendChild(out);
  }, 0);
});
</script>"""


def find_browser() -> Optional[str]:
    """The Chromium binary: ``$CHROMIUM`` or the first of :data:`BROWSERS` on PATH."""
    explicit = os.environ.get("CHROMIUM")
    if explicit:
        return explicit if Path(explicit).exists() or shutil.which(explicit) else None
    return next((found for name in BROWSERS if (found := shutil.which(name))), None)


def _chromium(browser: str, *args: str) -> subprocess.CompletedProcess:
    profile = tempfile.mkdtemp(prefix="sparks-chromium-")
    try:
        return subprocess.run(
            [
                browser,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-extensions",
                "--no-first-run",
                "--disable-dev-shm-usage",
                "--hide-scrollbars",
                f"--user-data-dir={profile}",
                "--virtual-time-budget=5000",
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
        )
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def probe(browser: str, html: Path) -> dict:
    """Load a probed copy of ``html`` and return what the probe measured."""
    text = html.read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory(prefix="sparks-check-") as folder:
        copy = Path(folder) / "probed.html"
        head = re.search(r"<head[^>]*>", text, re.I)
        at = head.end() if head else 0
        copy.write_text(text[:at] + PROBE + text[at:], encoding="utf-8")
        done = _chromium(browser, f"--window-size={WIDTH},900", "--dump-dom", copy.as_uri())
    found = re.search(r'<pre id="__sparks_check">(.*?)</pre>', done.stdout, re.S)
    if not found:
        raise RuntimeError(
            f"the page did not finish loading in Chromium (exit status "
            f"{done.returncode}); stderr: {done.stderr[-2000:]}"
        )
    import html as html_module

    result = json.loads(html_module.unescape(found.group(1)))
    result["console"] = [
        line
        for line in done.stderr.splitlines()
        if "Uncaught" in line or "CONSOLE" in line and "error" in line.lower()
    ]
    return result


def problems_of(result: dict) -> list[str]:
    """What is wrong with the page, from the probe's result (empty when it is fine)."""
    problems = [f"JavaScript error: {error}" for error in result.get("errors", [])]
    problems += [f"console: {line}" for line in result.get("console", [])]
    plots = result.get("plots", [])
    if not plots:
        problems.append("the page has no plot (svg.plot)")
    for plot in plots:
        if plot["visible"] == 0 or plot["width"] <= 0 or plot["height"] <= 0:
            problems.append(
                f"empty plot: {plot['title']!r} ({plot['marks']} marks, {plot['visible']} visible)"
            )
        for pair in plot.get("overlaps", []):
            problems.append(f"overlapping labels in {plot['title']!r}: {pair}")
    drill = result.get("drill")
    if drill is not None and (drill["height"] <= 0 or drill["chars"] == 0):
        problems.append(f"the first drill-down opens to no visible text ({drill})")
    return problems


def screenshot(browser: str, html: Path, target: Path, height: int) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    text = html.read_text(encoding="utf-8")
    copy = html.with_name(f".{html.stem}.shot.html")  # beside it: relative links still work
    copy.write_text(text.replace("</body>", OPEN_DRILLS + "</body>"), encoding="utf-8")
    try:
        done = _chromium(
            browser,
            f"--screenshot={target}",
            f"--window-size={WIDTH},{max(600, min(height + 800, MAX_HEIGHT))}",
            copy.as_uri(),
        )
    finally:
        copy.unlink(missing_ok=True)
    if not target.is_file():
        raise RuntimeError(
            f"Chromium wrote no screenshot (exit status {done.returncode}): {done.stderr[-2000:]}"
        )


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("html", type=Path, help="the report.html to check")
    parser.add_argument(
        "--screenshot", type=Path, help="where to save the PNG (default: next to the HTML, .png)"
    )
    args = parser.parse_args(argv)
    browser = find_browser()
    if browser is None:
        print(
            "check_report_html: no Chromium found (apt-get install chromium, or set "
            "CHROMIUM=/path/to/chrome)",
            file=sys.stderr,
        )
        return 2
    html = args.html.resolve()
    if not html.is_file():
        print(f"check_report_html: {html} does not exist", file=sys.stderr)
        return 1
    try:
        result = probe(browser, html)
        shot = args.screenshot or html.with_suffix(".png")
        screenshot(browser, html, shot.resolve(), int(result.get("height") or 2000))
    except (RuntimeError, subprocess.TimeoutExpired, json.JSONDecodeError) as error:
        print(f"check_report_html: {error}", file=sys.stderr)
        return 1
    problems = problems_of(result)
    plots = result.get("plots", [])
    drill = result.get("drill")
    opened = (
        f"; drill-down opened ({drill['chars']} characters, {drill['marks']} marked)"
        if drill
        else "; no drill-down"
    )
    print(
        f"{html}: {len(plots)} plots, "
        f"{sum(p['visible'] for p in plots)} visible marks{opened}; screenshot {shot}"
    )
    for problem in problems:
        print(f"FAIL: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
