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


# ---------------------------------------------------------------- samples are streamed


def test_samples_are_read_one_line_at_a_time(tmp_path: Path) -> None:
    """A reader that holds the whole file could not hand out the first sample before the
    writer of a pipe has written the second one."""
    import json
    import os
    import threading

    from harness_ext.formats.samples import read_samples

    pipe = tmp_path / "samples.jsonl"
    os.mkfifo(pipe)
    handed, finished = threading.Event(), threading.Event()
    line = {"doc_id": 0, "doc": {}, "target": "1", "resps": [["x"]]}

    def writer() -> None:
        with open(pipe, "w", encoding="utf-8") as stream:
            stream.write(json.dumps(line) + "\n")
            stream.flush()
            handed.wait(timeout=30)  # until the first sample was read (or give up)
            stream.write(json.dumps({**line, "doc_id": 1}) + "\n")
        finished.set()

    thread = threading.Thread(target=writer)
    thread.start()
    samples = read_samples(pipe)
    first = next(samples)
    streamed = not finished.is_set()
    handed.set()
    rest = list(samples)
    thread.join()
    assert streamed, "the first sample came only after the whole file was written"
    assert first.doc_id == 0 and [s.doc_id for s in rest] == [1]


def test_a_report_keeps_no_response_text(tmp_path: Path) -> None:
    import dataclasses

    import pytest

    from harness_ext.errors import SparksError
    from harness_ext.reports.runs import load_run

    texts = [f"step {i}\n" * 500 + f"\\boxed{{{i}}}" for i in range(3)]
    problems = [FakeProblem(f"p{i}", "1", [texts[i], "no answer"]) for i in range(3)]
    write_run(tmp_path / "run", {"amc_sparks": problems})
    run = load_run(tmp_path / "run", truncation="estimate", warn=lambda message: None)
    responses = [r for p in run.tasks["amc_sparks"].problems.values() for r in p.responses]
    for response in responses[::2]:  # no field holds the long text; it is read again
        values = [getattr(response, field.name) for field in dataclasses.fields(response)]
        kept = [value for value in values if isinstance(value, str)]
        assert response.n_chars > 3000 and all(len(v) < response.n_chars for v in kept)
    assert [r.text for r in responses[::2]] == texts
    assert responses[1].text == "no answer" and responses[1].n_chars == len("no answer")
    samples = next((tmp_path / "run").rglob("samples_*.jsonl"))
    samples.write_text(samples.read_text().replace("step", "STEP"))
    with pytest.raises(SparksError, match="changed while the report was being made"):
        assert responses[0].text  # read again: refused
