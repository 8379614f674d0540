"""benchmarks/answers.py without the third-party data (not in git): missing suites are reported
with the way to regenerate them, and the loaders, pairing and report work on rows of ours in
the same formats. The benchmark itself is run by hand (its numbers are in docs/answers.md)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
import answers as bench  # noqa: E402  (benchmarks/answers.py)


@pytest.fixture
def no_data(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.setattr(bench, "data_dirs", lambda: [tmp_path])
    return tmp_path


def test_missing_suites_say_how_to_get_them(no_data: Path) -> None:
    cases, missing = bench.load(["a", "b", "c", "d"])
    assert {c.suite for c in cases} == {"d"}  # our own cases are in git
    assert len(missing) == 3
    for line in missing:
        assert "not found" in line and "PROVENANCE.md" in line and "SPARKS_GRADER_SUITES" in line


def test_the_data_folder_is_found_through_the_environment(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SPARKS_GRADER_SUITES", str(tmp_path))
    assert bench.data_dirs()[0] == tmp_path
    (tmp_path / "math_verify_cases.jsonl").write_text("")
    assert bench.find_suite_file("math_verify_cases.jsonl") == tmp_path / "math_verify_cases.jsonl"


def _rows(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def test_upstream_rows_load_with_their_options_and_our_labels(no_data: Path) -> None:
    options = {"extraction_config": [{"type": "LatexExtractionConfig"}]}
    letters = {"pred_extraction_target": [{"type": "IndicesExtractionConfig"}]}
    _rows(
        no_data / "math_verify_cases.jsonl",
        [
            {
                "id": "test_yujianll.py::test_string_extraction::9",
                "gold": "$1$",
                "prediction": "$2$",
                "expected": True,
                "options": options,
            },
            {
                "id": "mine::1",
                "gold": "$1$",
                "prediction": "$1$",
                "expected": True,
                "options": options,
            },
        ],
    )
    _rows(
        no_data / "lighteval_cases.jsonl",
        [
            {
                "id": "mine::2",
                "gold": "C",
                "prediction": "the answer is C",
                "expected": True,
                "options": letters,
            },
        ],
    )
    cases, _ = bench.load(["a", "b"])
    relabelled, plain, letter = cases
    assert (relabelled.upstream, relabelled.label) == (True, False)  # in RELABELLED
    assert (plain.upstream, plain.label, plain.kind) == (True, True, "math")
    assert letter.kind == "letter" and letter.mv["mode"] == "options"


def test_published_solutions_get_a_pair_that_must_be_wrong(no_data: Path) -> None:
    _rows(
        no_data / "published_solutions.jsonl",
        [
            {"id": "math500::a", "solution": "so $\\boxed{5}$.", "gold": "5"},
            {
                "id": "math500::b",
                "solution": "so $x=\\boxed{5}$.",
                "gold": "x=5",
            },  # the same answer
            {"id": "math500::c", "solution": "so $\\boxed{\\frac12}$.", "gold": "\\frac{1}{2}"},
        ],
    )
    cases, _ = bench.load(["c"])
    own = [c for c in cases if c.label]
    other = [c for c in cases if not c.label]
    assert len(own) == len(other) == 3
    assert other[0].id == "math500::a vs math500::c"  # b's gold x=5 is a's answer: skipped
    assert all(bench.clearly_different(c.gold, o.gold) for c, o in zip(own, other))


def test_clearly_different_needs_no_checker() -> None:
    assert not bench.clearly_different("\\dfrac{1}{2}", "\\frac{1}{2}")
    assert not bench.clearly_different("0.5", "\\frac{1}{2}")
    assert not bench.clearly_different("x=5", "5")
    assert bench.clearly_different("5", "6")
    assert bench.clearly_different("(1,2)", "\\frac12")


def test_relabelled_cases_give_a_reason() -> None:
    for case_id, (label, reason) in bench.RELABELLED.items():
        assert "::" in case_id and isinstance(label, bool) and len(reason) > 20


def test_the_report_prints_every_suite(no_data: Path, capsys) -> None:
    cases, _ = bench.load(["d"])
    cases = cases[:5]
    results = [
        {
            "ours": c.label,
            "mv": not c.label,
            "reason": "exact",
            "extracted": "1",
            "ours_s": 0.0001,
            "mv_s": 0.001,
        }
        for c in cases
    ]
    assert bench.report(cases, results, show=2)  # no public suite: nothing to be behind on
    text = capsys.readouterr().out
    assert "(d) our own cases" in text and "ours FP" not in text and "all" in text
