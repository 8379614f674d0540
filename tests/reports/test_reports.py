"""sparks report on fake lm-eval runs (no model): loading, pairing, statistics, the three files,
the exit status, and clear errors for bad input."""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness_ext.errors import SparksError
from harness_ext.reports.command import configure_report, make_report, run_report, write_report
from harness_ext.reports.fixtures import FakeProblem, derive_run, write_run
from harness_ext.reports.stats import compare_paired, mcnemar_exact, paired_bootstrap

ROOT = Path(__file__).resolve().parents[2]
LOOP = "Let me check the sum again: 3 + 4 = 7, so the total is 7. " * 12
RIGHT = "We compute 2 + 3 = 5 and so \\boxed{{{gold}}}."
CALC = "We compute 12 \\times 13 = 198, so \\boxed{{{wrong}}}."
LOST = "So the answer is \\boxed{{{gold}}}. Wait, no: \\boxed{{{wrong}}}."


def _aime(i: int, responses: list[str], gold: str = "204") -> FakeProblem:
    tier = "easy" if i <= 5 else "medium" if i <= 10 else "hard"
    return FakeProblem(
        f"2024-I-{i}",
        gold,
        [r.format(gold=gold, wrong=int(gold) + 1) for r in responses],
        tier=tier,
        number=i,
    )


def _amc(i: int, right: bool, gold: str = "142") -> FakeProblem:
    tier = "easy" if i <= 10 else "medium" if i <= 20 else "hard"
    text = RIGHT if right else CALC
    return FakeProblem(
        f"2022-AMC12A-{i}", gold, [text.format(gold=gold, wrong=int(gold) + 1)], tier=tier, number=i
    )


@pytest.fixture
def two_runs(tmp_path: Path) -> tuple[Path, Path]:
    """A baseline that solves 8 easy AMC problems and a candidate that breaks all 8 of them
    (calculation errors) but solves the hard ones; AIME with n = 2 samples."""
    base_amc = [_amc(i, True) for i in range(1, 9)] + [_amc(i, False) for i in (21, 22, 23)]
    cand_amc = [_amc(i, False) for i in range(1, 9)] + [_amc(i, True) for i in (21, 22, 23)]
    base_aime = [_aime(1, [RIGHT, RIGHT]), _aime(6, [RIGHT, LOOP]), _aime(11, [LOST, CALC])]
    cand_aime = [_aime(1, [RIGHT, LOST]), _aime(6, [LOOP, LOOP]), _aime(11, [RIGHT, RIGHT])]
    base = tmp_path / "base"
    cand = tmp_path / "cand"
    write_run(base, {"amc_sparks_greedy": base_amc, "aime24_sparks": base_aime})
    write_run(
        cand,
        {"amc_sparks_greedy": cand_amc, "aime24_sparks": cand_aime},
        model_args="interventions=scale:L3H1:1.3",
        interventions="scale:L3H1:1.3",
    )
    return base, cand


def _report(run_specs: list[str], **options: object):
    """make_report without tokenizing (the fake runs name no tokenizer; keeps tests fast)."""
    return make_report(run_specs, truncation="estimate", **options)


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    configure_report(parser)
    return parser.parse_args([*argv, "--truncation", "estimate"])


# ---------------------------------------------------------------- statistics


def test_mcnemar_exact_matches_the_binomial_test() -> None:
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(6, 0) == pytest.approx(2 / 64)
    assert mcnemar_exact(5, 0) == pytest.approx(2 / 32)
    assert mcnemar_exact(3, 3) == 1.0
    assert mcnemar_exact(10, 2) == pytest.approx(0.0386, abs=1e-4)  # scipy.stats.binomtest


def test_paired_bootstrap_is_seeded_and_floored() -> None:
    diffs = [-0.5, -0.25, 0.0, -0.75, -0.5, 0.25, -0.5, -0.25, -0.5, -1.0]
    assert paired_bootstrap(diffs, seed=3) == paired_bootstrap(diffs, seed=3)
    low, high, p = paired_bootstrap(diffs, seed=0)
    assert low < -0.4 < high < 0 and p < 0.01
    assert paired_bootstrap([-0.5, -0.5], seed=0)[2] == pytest.approx(0.5)  # 2 pairs: p >= 1/2
    assert paired_bootstrap([0.0, 0.0], seed=0)[2] == 1.0


def test_compare_paired_picks_the_test() -> None:
    binary = compare_paired([1.0] * 8, [0.0] * 8)
    assert binary.test == "mcnemar-exact" and binary.regression() and binary.worse == 8
    averaged = compare_paired([1.0, 0.5, 0.5], [0.5, 0.5, 0.0])
    assert averaged.test == "paired-bootstrap" and not averaged.significant()


# ---------------------------------------------------------------- the report


def test_report_finds_the_regression_per_tier(two_runs: tuple[Path, Path]) -> None:
    base, cand = two_runs
    report = _report([f"base={base}", f"cand={cand}"])
    assert report.baseline == "base"
    amc = {d.tier: d for d in report.deltas if d.task == "amc_sparks_greedy"}
    assert amc["easy"].regression and amc["easy"].comparison.delta == -1.0
    assert amc["easy"].comparison.test == "mcnemar-exact"
    assert amc["all"].comparison.n == 11
    assert not amc["hard"].regression  # 3 problems better: not significant
    aime = {d.tier: d for d in report.deltas if d.task == "aime24_sparks"}
    assert aime["all"].comparison.test == "paired-bootstrap"
    flips = {(f.task, f.problem_id): f for f in report.flips}
    assert flips[("amc_sparks_greedy", "2022-AMC12A-3")].direction == "broke"
    assert flips[("amc_sparks_greedy", "2022-AMC12A-3")].candidate_labels == ("calculation_error",)
    assert flips[("aime24_sparks", "2024-I-11")].direction == "fixed"
    labels = report.labels[("cand", "aime24_sparks", "all")]
    assert labels["logical_loop"] == 2 and labels["found_then_lost"] == 1
    assert report.labels[("base", "aime24_sparks", "hard")] == {
        "found_then_lost": 1,
        "calculation_error": 1,
    }


def test_report_files(two_runs: tuple[Path, Path], tmp_path: Path) -> None:
    base, cand = two_runs
    report = _report([f"base={base}", f"cand={cand}"])
    out = tmp_path / "out"
    written = write_report(report, out)
    assert sorted(p.name for p in written) == ["report.html", "report.json", "report.md"]
    assert sorted(p.name for p in out.iterdir()) == [
        ".sparks-manifest.json",  # what sparks wrote: a later report keeps everything else
        ".sparks-report.json",
        "report.html",
        "report.json",
        "report.md",
    ]
    data = json.loads((out / "report.json").read_text())
    assert data["regression"] is True
    failed = [s for s in data["samples"] if not s["correct"]]
    assert failed and all(s["label"] not in ("", "correct") for s in failed)
    for sample in data["samples"]:
        assert {"run", "task", "doc_id", "tier", "correct", "label"} <= set(sample)
    assert len(data["samples"]) == 2 * (11 + 3 * 2)
    cand_run = next(r for r in data["runs"] if r["name"] == "cand")
    assert cand_run["interventions"] == "scale:L3H1:1.3" and cand_run["lm_eval_version"] == "0.4.13"
    md = (out / "report.md").read_text()
    html = (out / "report.html").read_text()
    for text in (md, html):
        assert "scale:L3H1:1.3" in text and "0.4.13" in text and "2026-01-01" in text
        assert "SmolLM2-135M-Instruct (embedded)" in text
        assert "REGRESSION" in text and "2022-AMC12A-3" in text
    assert html.count('<svg class="plot"') == 3
    namespaces = ("http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink")  # names only
    assert "http://" not in re.sub("|".join(map(re.escape, namespaces)), "", html)
    # each bar, label segment and box is a mark with its numbers as a tooltip
    assert re.search(r'<g id="mark-bar-0"><title>base, [^<]*% \(95% CI', html)
    assert re.search(r'<g id="mark-segment-0"><title>[^<]* of \d+ \(\d+%\)</title>', html)
    assert re.search(r'<g id="mark-box-0"><title>base: n=\d+, median', html)
    assert "https://" not in html


def test_fail_on_regression_exit_status(
    two_runs: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base, cand = two_runs
    assert run_report(_args(str(base), str(cand), "--fail-on-regression")) == 1
    assert run_report(_args(str(base), str(cand))) == 0  # without the flag: report only
    assert run_report(_args(str(base), str(base), "--fail-on-regression")) == 0
    assert (
        run_report(
            _args(
                str(cand),
                str(base),
                "--baseline",
                str(base),
                "--fail-on-regression",
                "-o",
                str(tmp_path / "o"),
            )
        )
        == 1
    )
    out = capsys.readouterr().out
    assert "REGRESSION" in out and "amc_sparks_greedy" in out and "easy" in out
    assert (tmp_path / "o" / "report.md").is_file()


def test_same_run_twice_gets_two_names(two_runs: tuple[Path, Path]) -> None:
    base, _ = two_runs
    report = _report([str(base), str(base)])
    assert [run.name for run in report.runs] == ["base", "base-2"]
    assert not report.regressions() and not report.flips


def test_labels_option_and_tasks_option(two_runs: tuple[Path, Path]) -> None:
    base, cand = two_runs
    report = _report(
        [str(base), str(cand)], tasks=["aime24_sparks"], labels=["correct", "reasoning_error"]
    )
    assert report.tasks() == ["aime24_sparks"]
    assert set(report.label_names()) <= {"correct", "reasoning_error"}
    with pytest.raises(SparksError, match="nope_sparks.*check --tasks"):
        _report([str(base)], tasks=["nope_sparks"])


def test_derive_run_flips_answers(two_runs: tuple[Path, Path], tmp_path: Path) -> None:
    base, _ = two_runs
    derive_run(base, tmp_path / "worse", fail=[f"2022-AMC12A-{i}" for i in range(1, 9)])
    report = _report([str(base), str(tmp_path / "worse")])
    easy = next(d for d in report.deltas if (d.task, d.tier) == ("amc_sparks_greedy", "easy"))
    assert easy.regression and easy.comparison.worse == 8


# ---------------------------------------------------------------- robustness


def test_missing_inputs_are_explained(tmp_path: Path) -> None:
    with pytest.raises(SparksError, match="does not exist"):
        _report([str(tmp_path / "nope")])
    (tmp_path / "empty").mkdir()
    with pytest.raises(SparksError, match="no lm-eval results file.*--log_samples"):
        _report([str(tmp_path / "empty")])
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(SparksError, match="not an lm-eval results file"):
        _report([str(tmp_path / "bad.json")])


def test_missing_samples_file(two_runs: tuple[Path, Path]) -> None:
    base, _ = two_runs
    for samples in base.rglob("samples_aime24_sparks_*.jsonl"):
        samples.unlink()
    with pytest.raises(SparksError, match="no samples file samples_aime24_sparks_.*--log_samples"):
        _report([str(base)])


def test_truncated_samples_file(two_runs: tuple[Path, Path]) -> None:
    base, _ = two_runs
    samples = next(base.rglob("samples_amc_sparks_greedy_*.jsonl"))
    text = samples.read_text()
    samples.write_text(text[: len(text) - 40])  # cut inside the last line
    with pytest.raises(SparksError, match="last line is cut off.*truncated"):
        _report([str(base)])
    samples.write_text("".join(text.splitlines(keepends=True)[:5]))  # whole lines missing
    with pytest.raises(SparksError, match="has 5 of the 11 problems.*truncated"):
        _report([str(base)])


def test_foreign_samples_file(two_runs: tuple[Path, Path]) -> None:
    base, _ = two_runs
    samples = next(base.rglob("samples_amc_sparks_greedy_*.jsonl"))
    lines = [json.loads(line) for line in samples.read_text().splitlines()]
    for line in lines:
        del line["doc"]["problem_id"]
    samples.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    with pytest.raises(SparksError, match="no doc.problem_id.*not written by a sparks task"):
        _report([str(base)])


def test_foreign_task_is_skipped_with_a_warning(two_runs: tuple[Path, Path]) -> None:
    base, _ = two_runs
    results = next(base.rglob("results_*.json"))
    data = json.loads(results.read_text())
    data["results"]["gsm8k"] = {"exact_match,strict-match": 0.5}
    data["configs"]["gsm8k"] = {"task": "gsm8k"}
    results.write_text(json.dumps(data))
    report = _report([str(base)])
    assert "gsm8k" not in report.tasks()
    assert any("gsm8k" in w and "not sparks tasks" in w for w in report.warnings)
    only_foreign = {
        "results": {"gsm8k": data["results"]["gsm8k"]},
        "configs": {"gsm8k": {"task": "gsm8k"}},
    }
    results.write_text(json.dumps(only_foreign))
    with pytest.raises(SparksError, match="has no sparks task"):
        _report([str(base)])


def test_different_problem_sets_compare_the_intersection(tmp_path: Path) -> None:
    write_run(tmp_path / "a", {"amc_sparks_greedy": [_amc(i, True) for i in range(1, 9)]})
    write_run(
        tmp_path / "b",
        {
            "amc_sparks_greedy": [_amc(i, False) for i in range(5, 13)],
            "aime24_sparks": [_aime(1, [RIGHT])],
        },
    )
    report = _report([str(tmp_path / "a"), str(tmp_path / "b")])
    all_tiers = next(d for d in report.deltas if d.tier == "all")
    assert all_tiers.comparison.n == 4
    assert any("comparing the 4 in both" in w for w in report.warnings)
    assert any("aime24_sparks is only in run b" in w for w in report.warnings)


def test_several_results_files_use_the_newest(two_runs: tuple[Path, Path]) -> None:
    base, _ = two_runs
    write_run(base, {"amc_sparks_greedy": [_amc(1, False)]}, date_id="2027-01-01T00-00-00.0")
    report = _report([str(base)])
    assert len(report.runs[0].tasks["amc_sparks_greedy"].problems) == 1
    assert any("using the newest" in w for w in report.warnings)


def test_baseline_by_folder_name_and_unknown(two_runs: tuple[Path, Path]) -> None:
    base, cand = two_runs
    assert _report([str(base), str(cand)], baseline="cand").baseline == "cand"
    with pytest.raises(SparksError, match="--baseline 'zzz' is neither a run name"):
        _report([str(base), str(cand)], baseline="zzz")


def test_atomic_write_leaves_no_temporary_files(tmp_path: Path) -> None:
    from harness_ext.reports.output import write_text_atomic

    target = tmp_path / "r" / "report.md"
    write_text_atomic(target, "one")
    write_text_atomic(target, "two")
    assert target.read_text() == "two"
    assert [p.name for p in target.parent.iterdir()] == ["report.md"]


def test_model_text_is_escaped_in_html(tmp_path: Path) -> None:
    hostile = "So \\boxed{</pre><script>alert(1)</script>}"
    boxed = "So \\boxed{<b>5</b>}"
    write_run(
        tmp_path / "a",
        {"amc_sparks_greedy": [FakeProblem("p1", "7", [hostile]), FakeProblem("p2", "7", [boxed])]},
    )
    write_report(_report([str(tmp_path / "a")]), tmp_path / "out")
    html = (tmp_path / "out" / "report.html").read_text()
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html
    assert "<b>5</b>" not in html and "&lt;b&gt;5&lt;/b&gt;" in html


def test_command_line_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from harness_ext.cli import main

    assert main(["report", str(tmp_path / "missing")]) == 2
    assert "sparks: error:" in capsys.readouterr().err


# ---------------------------------------------------------------- the HTML in a browser


@pytest.mark.integration
def test_html_renders_in_chromium(two_runs: tuple[Path, Path], tmp_path: Path) -> None:
    browsers = ("chromium", "chromium-browser", "google-chrome")
    if not any(shutil.which(name) for name in browsers):
        message = (
            "headless Chromium is not installed (apt-get install chromium); "
            "scripts/check_report_html.py needs it"
        )
        if os.environ.get("CI"):  # .ci/run installs it: a missing browser is a CI failure
            pytest.fail(message)
        pytest.skip(message)
    base, cand = two_runs
    out = tmp_path / "out"
    heads = _heads_file(tmp_path / "heads.json")  # the heat map's labels are checked too
    write_report(_report([f"base={base}", f"cand={cand}"], heads=heads), out)
    shot = tmp_path / "report.png"
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "check_report_html.py"),
            str(out / "report.html"),
            "--screenshot",
            str(shot),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "4 plots" in done.stdout and shot.stat().st_size > 10_000
    assert "drill-down opened" in done.stdout
    # the checker fails on an empty plot and on a JavaScript error
    html = (out / "report.html").read_text()
    broken = tmp_path / "broken.html"
    broken.write_text(
        html.replace('class="mark"', 'class="nomark"', 10**6)
        .replace('id="mark-', 'id="nomark-', 10**6)
        .replace("</body>", "<script>undefinedFunction();</script></body>")
    )
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "check_report_html.py"),
            str(broken),
            "--screenshot",
            str(tmp_path / "b.png"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1
    assert "empty plot" in done.stderr and "undefinedFunction" in done.stderr


# ---------------------------------------------------------------- heads file (sparks discover)


def _heads_file(path: Path) -> Path:
    from harness_ext.discovery.heads_file import build_result, write_json

    importance_post = [[0.1, 5.0], [0.2, 0.3], [0.1, 0.1], [4.0, 0.2]]
    importance_base = [[0.1, 0.0], [0.2, 0.3], [0.1, 0.1], [0.1, 0.2]]
    write_json(
        build_result(
            importance_post, importance_base, 2, {"model_post": "post", "model_base": "base"}
        ),
        path,
    )
    return path


def test_report_shows_a_heads_file(
    two_runs: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base, cand = two_runs
    heads = _heads_file(tmp_path / "heads.json")
    assert (
        run_report(_args(str(base), str(cand), "--heads", str(heads), "-o", str(tmp_path / "o")))
        == 0
    )
    out = capsys.readouterr().out
    assert "4 layers x 2 heads of post vs base base; 2 emergent, top: L0H1, L3H0" in out
    assert "cand intervened on L3H1: 0 of the 2 listed heads" in out
    html = (tmp_path / "o" / "report.html").read_text()
    assert html.count('<svg class="plot"') == 4
    heat = html[html.index("<h2>Heads</h2>") :]
    # harness_ext.charts' SVG: one image per panel (importance, effect), text kept as <text>
    assert re.findall(r'id="(mark-[^"]*)"', heat) == ["mark-heat-0", "mark-heat-1"]
    texts = re.findall(r"<text\b[^>]*>([^<]*)</text>", heat)
    assert {"importance (post)", "effect (post - base)", "head", "layer"} <= set(texts)
    assert heat.count("stroke: #d62728") == 2 * 2 + 1  # emergent: both panels, and the legend
    assert "emergent head (in the file's emergent list)" in texts  # legend
    assert "cand intervened on it" in texts  # cand's marker, on L3H1
    data = json.loads((tmp_path / "o" / "report.json").read_text())
    assert data["heads"]["emergent"] == [
        {"layer": 0, "head": 1, "stable": None},
        {"layer": 3, "head": 0, "stable": None},
    ]
    assert "## Heads" in (tmp_path / "o" / "report.md").read_text()
    assert _report([str(base)]).heads is None


def test_bad_heads_file_is_explained(two_runs: tuple[Path, Path], tmp_path: Path) -> None:
    base, _ = two_runs
    (tmp_path / "bad.json").write_text('{"heads": [{"layer": 0}]}')
    (tmp_path / "text.json").write_text("not json")
    for path, message in [
        (tmp_path / "none.json", "heads file not found"),
        (tmp_path / "text.json", "not valid JSON"),
        (tmp_path / "bad.json", "malformed head entry"),
    ]:
        with pytest.raises(SparksError, match=message):
            _report([str(base)], heads=path)


def test_report_shows_a_checkpoint_series(two_runs: tuple[Path, Path], tmp_path: Path) -> None:
    from harness_ext.discovery.heads_file import build_result, write_json
    from harness_ext.discovery.series import build_series
    from harness_ext.reports.html import render_html

    base = [[1.0, 0.0], [1.0, 0.0]]
    results = [
        build_result(post, base, 2, {})
        for post in ([[1.0, 5.0], [1.0, 0.0]], [[1.0, 5.0], [1.0, 4.0]])
    ]
    series = build_series(["ckpt-1", "ckpt-2"], results)
    write_json({**results[-1], **series}, tmp_path / "heads.json")
    report = _report([str(two_runs[0])], heads=tmp_path / "heads.json")
    assert report.heads.checkpoints == ("ckpt-1", "ckpt-2")
    heads_part = render_html(report).split("<h2>Heads</h2>")[1]
    assert heads_part.count('<svg class="plot"') == 2
    series_svg = heads_part[heads_part.index('aria-label="emergent heads over checkpoints"') :]
    texts = re.findall(r"<text\b[^>]*>([^<]*)</text>", series_svg)
    assert {"L1H1", "ckpt-1", "ckpt-2", "emergent", "not emergent", "checkpoint"} <= set(texts)
    assert 'id="mark-series"' in series_svg
