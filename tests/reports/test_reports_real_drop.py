"""End to end, a real drop: find heads, ablate them, and the regression gate fails.

The embedded model scores 0% on AMC/AIME/MATH-500, so the gate needs a task it can solve: a
user task built from the sparks machinery (``write_arithmetic_task``: one-digit additions,
plain prompt, found by lm-eval through ``--include_path``). ``sparks discover`` ranks the
embedded model's heads on those problems, ``sparks regress`` runs the baseline and the model
with the top 5 heads zeroed (``zero:@heads.json#5``), and the report must show the drop as
significant, exit 1 with ``--fail-on-regression``, and exit 0 on identical runs.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import pytest

from harness_ext.discovery import configure_discover, run_discover
from harness_ext.reports.command import configure_report, run_report
from harness_ext.reports.fixtures import ARITHMETIC_TASK, write_arithmetic_task
from harness_ext.reports.regress import configure_regress, run_regress

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _parse(configure, *argv: str) -> argparse.Namespace:  # noqa: ANN001
    parser = argparse.ArgumentParser()
    configure(parser)
    return parser.parse_args(list(argv))


@pytest.fixture(scope="module")
def drop(tmp_path_factory: pytest.TempPathFactory, embedded_model: Path) -> tuple[Path, int]:
    """The regress output folder and the exit status of ``sparks regress --fail-on-regression``."""
    folder = tmp_path_factory.mktemp("drop")
    tasks, data = write_arithmetic_task(folder, problems=24)
    heads = folder / "heads.json"
    patch = pytest.MonkeyPatch()
    patch.setenv("SPARKS_DATA_DIR", str(data))
    if "OMP_NUM_THREADS" not in os.environ:
        patch.setenv("OMP_NUM_THREADS", "1")
    try:
        assert (
            run_discover(
                _parse(
                    configure_discover,
                    "--tasks",
                    "math500_sparks",
                    "--limit",
                    "8",
                    "--opening-tokens",
                    "16",
                    "--method",
                    "fisher",
                    "--corrupt",
                    "zeros",
                    "--device",
                    "cpu",
                    "-o",
                    str(heads),
                )
            )
            == 0
        )
        (folder / "regress.yaml").write_text(
            f"tasks: [{ARITHMETIC_TASK}]\ninclude_path: tasks\nbatch_size: 8\n"
            f"apply_chat_template: true\nheads: heads.json\noutput: out\nruns:\n"
            f"  - name: base\n  - name: ablated\n    interventions: 'zero:@{heads}#5'\n"
        )
        status = run_regress(
            _parse(configure_regress, str(folder / "regress.yaml"), "--fail-on-regression")
        )
    finally:
        patch.undo()
    return folder / "out", status


def test_ablating_the_top_heads_is_a_significant_regression(drop: tuple[Path, int]) -> None:
    out, status = drop
    assert status == 1
    data = json.loads((out / "report" / "report.json").read_text())
    accuracy = {c["run"]: c["accuracy"] for c in data["accuracy"] if c["tier"] == "all"}
    assert accuracy["base"] >= 0.3  # the embedded model does solve these
    overall = next(d for d in data["deltas"] if d["tier"] == "all")
    assert overall["regression"] and overall["p_value"] < 0.05 and overall["delta"] <= -0.25
    assert overall["test"] == "mcnemar-exact"
    ablated = next(r for r in data["runs"] if r["name"] == "ablated")
    assert (
        ablated["interventions"].startswith("zero:L") and ablated["interventions"].count("H") == 5
    )
    broke = [f for f in data["flips"] if f["direction"] == "broke"]
    assert len(broke) >= 6
    failed = [s for s in data["samples"] if not s["correct"]]
    assert failed and all(s["label"] not in ("", "correct", "unlabeled") for s in failed)
    assert all(s["evidence"] or s["note"] for s in failed)
    assert data["heads"]["emergent"][:1] and len(data["heads"]["emergent"]) == 27
    html = (out / "report" / "report.html").read_text()
    assert "<h2>Heads</h2>" in html and "ablated intervened on it" in html


def test_identical_real_runs_pass_the_gate(drop: tuple[Path, int], tmp_path: Path) -> None:
    base = drop[0] / "runs" / "base"
    assert (
        run_report(
            _parse(
                configure_report,
                f"a={base}",
                f"b={base}",
                "--fail-on-regression",
                "-o",
                str(tmp_path / "same"),
            )
        )
        == 0
    )
