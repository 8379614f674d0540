"""report.md shows the runs' text as text (no raw HTML), and samples are read as a stream."""

from __future__ import annotations

import re
from pathlib import Path

from harness_ext.reports.command import make_report
from harness_ext.reports.fixtures import FakeProblem, write_run
from harness_ext.reports.markdown import render_markdown

HOSTILE_NAME = "<img src=x onerror=alert(1)>"
HOSTILE_ID = "<script>alert(2)</script>"
HOSTILE_SPEC = "zero:L0H1<b>bold</b>"


def _outside_fences(markdown: str) -> str:
    return re.sub(r"(?ms)^(`{3,})text\n.*?^\1$", "", markdown)


def test_report_md_escapes_html_from_the_runs(tmp_path: Path) -> None:
    problems = [FakeProblem(HOSTILE_ID, "1", ["\\boxed{1}"]), FakeProblem("p1", "1", ["x"])]
    flipped = [FakeProblem(HOSTILE_ID, "1", ["\\boxed{2} <i>"]), FakeProblem("p1", "1", ["x"])]
    write_run(tmp_path / HOSTILE_NAME, {"amc_sparks_greedy": problems})  # named after its folder
    write_run(tmp_path / "cand", {"amc_sparks_greedy": flipped}, interventions=HOSTILE_SPEC)
    report = make_report(
        [str(tmp_path / HOSTILE_NAME), f"cand={tmp_path / 'cand'}"],
        truncation="estimate",
    )
    report.warnings.append("a warning with <marquee>")
    markdown = render_markdown(report)
    prose = _outside_fences(markdown)
    for raw in (HOSTILE_NAME, HOSTILE_ID, "<b>bold</b>", "<marquee>"):
        assert raw not in prose
    assert "&lt;img src=x onerror=alert(1)&gt;" in prose  # shown, as text
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in prose
    assert "zero:L0H1&lt;b&gt;bold&lt;/b&gt;" in prose
    tags = set(re.findall(r"</?([a-zA-Z]+)", prose))
    assert tags <= {"details", "summary", "sub"}  # only the report's own markup
