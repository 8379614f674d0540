"""End to end: two real runs of the embedded model through `sparks regress`, then reports.

The runs differ by their token budget. A deterministic "drop" is also made by deriving a
baseline from the first real run in which every problem is solved. The real drop (heads found
by ``sparks discover``, ablated, failing the gate) is tests/reports/test_reports_real_drop.py.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness_ext.reports.command import configure_report, run_report
from harness_ext.reports.fixtures import derive_run
from harness_ext.reports.regress import configure_regress, run_regress

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 6  # McNemar needs 6 discordant problems for p < 0.05
SPEC = f"""
tasks: [amc_sparks_greedy, aime24_sparks]
limit: {LIMIT}
metadata: {{repeats: 2}}
gen_kwargs: {{max_gen_toks: 12}}
batch_size: 8
apply_chat_template: true
output: out
runs:
  - name: short
  - name: shorter
    gen_kwargs: {{max_gen_toks: 8}}
"""


def _parse(configure, *argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    configure(parser)
    return parser.parse_args(list(argv))


@pytest.fixture(scope="module")
def regress_out(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    """`sparks regress` on two real runs of the embedded model (the module's one model work)."""
    folder = tmp_path_factory.mktemp("regress")
    (folder / "regress.yaml").write_text(SPEC)
    patch = pytest.MonkeyPatch()
    patch.setenv("SPARKS_DATA_DIR", str(shared_data))
    if "OMP_NUM_THREADS" not in os.environ:  # torch's thread pool crawls on a shared CPU
        patch.setenv("OMP_NUM_THREADS", "1")
    try:
        assert run_regress(_parse(configure_regress, str(folder / "regress.yaml"))) == 0
    finally:
        patch.undo()
    return folder / "out"


def test_regress_writes_the_report(regress_out: Path) -> None:
    report = regress_out / "report"
    assert sorted(p.name for p in report.iterdir()) == [
        ".sparks-manifest.json",
        ".sparks-report.json",
        "report.html",
        "report.json",
        "report.md",
    ]
    data = json.loads((report / "report.json").read_text())
    assert [run["name"] for run in data["runs"]] == ["short", "shorter"]
    assert data["runs"][0]["role"] == "baseline"
    assert "SmolLM2-135M-Instruct" in data["runs"][0]["pretrained"]
    assert data["runs"][0]["lm_eval_version"] == "0.4.13"
    budgets = {
        run["name"]: run["tasks"]["amc_sparks_greedy"]["max_gen_toks"] for run in data["runs"]
    }
    assert budgets == {"short": 12, "shorter": 8}
    samples = data["samples"]
    assert len(samples) == 2 * (LIMIT + 2 * LIMIT)
    for sample in samples:
        assert sample["tier"] in ("easy", "medium", "hard")
        assert sample["label"] and sample["label"] != "unlabeled"
        assert (sample["label"] == "correct") == sample["correct"]
    failed = [s for s in samples if not s["correct"]]
    assert failed and all(s["evidence"] or s["note"] for s in failed)
    # a 8- or 12-token budget cuts almost every response: the tokenizer sees it
    assert sum(s["label"] == "truncated" for s in failed) >= len(failed) // 2
    md = (report / "report.md").read_text()
    assert "short" in md and "max_gen_toks=8" in md and "0.4.13" in md


def test_finished_runs_are_reused(
    regress_out: Path,
    capsys: pytest.CaptureFixture[str],
    shared_data: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SPARKS_DATA_DIR", str(shared_data))  # the data the runs read: reused
    spec = regress_out.parent / "regress.yaml"
    assert run_regress(_parse(configure_regress, str(spec), "-o", str(regress_out / "again"))) == 0
    out = capsys.readouterr().out
    assert out.count("reusing the finished run") == 2
    assert (regress_out / "again" / "report.html").is_file()


def test_identical_runs_pass_the_gate(regress_out: Path, tmp_path: Path) -> None:
    run = regress_out / "runs" / "short"
    args = _parse(
        configure_report, str(run), str(run), "--fail-on-regression", "-o", str(tmp_path / "same")
    )
    assert run_report(args) == 0
    data = json.loads((tmp_path / "same" / "report.json").read_text())
    assert not data["regression"] and not data["flips"]
    assert all(d["delta"] == 0 for d in data["deltas"])


def test_a_derived_drop_fails_the_gate(regress_out: Path, tmp_path: Path) -> None:
    real = regress_out / "runs" / "short"
    results = json.loads(next(real.rglob("results_*.json")).read_text())
    assert results["results"]["amc_sparks_greedy"]["exact_match,extracted"] == 0.0
    samples = next(real.rglob("samples_amc_sparks_greedy_*.jsonl")).read_text().splitlines()
    solved = [json.loads(line)["doc"]["problem_id"] for line in samples]
    derive_run(real, tmp_path / "good", solve=solved)
    args = _parse(
        configure_report,
        f"good={tmp_path / 'good'}",
        f"real={real}",
        "--fail-on-regression",
        "-o",
        str(tmp_path / "drop"),
    )
    assert run_report(args) == 1
    data = json.loads((tmp_path / "drop" / "report.json").read_text())
    regression = [d for d in data["deltas"] if d["regression"]]
    assert {(d["task"], d["tier"]) for d in regression} >= {("amc_sparks_greedy", "all")}
    assert all(d["test"] == "mcnemar-exact" for d in regression)
    broke = [f for f in data["flips"] if f["direction"] == "broke"]
    assert sorted(f["problem_id"] for f in broke) == sorted(solved)
    assert all(f["candidate_labels"] and "correct" not in f["candidate_labels"] for f in broke)


def test_real_report_renders_in_chromium(regress_out: Path, tmp_path: Path) -> None:
    if not any(shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome")):
        pytest.skip("headless Chromium is not installed (apt-get install chromium)")
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "check_report_html.py"),
            str(regress_out / "report" / "report.html"),
            "--screenshot",
            str(tmp_path / "real.png"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
