"""The report tells the true story: numeric id order, "no signal", folded checkpoints'
interventions, and --predict_only runs graded from their responses."""

from __future__ import annotations

import json
from pathlib import Path

from harness_ext.reports.command import make_report
from harness_ext.reports.fixtures import FakeProblem, write_run
from harness_ext.reports.views import flip_rows, verdict

TASK = "amc_sparks_greedy"


def _problems(answers: list[str], ids: list[str] | None = None) -> list[FakeProblem]:
    ids = ids or [f"arith/{i}" for i in range(len(answers))]
    return [FakeProblem(pid, "7", [f"\\boxed{{{a}}}"]) for pid, a in zip(ids, answers)]


def test_problem_ids_sort_by_number(tmp_path: Path) -> None:
    ids = ["arith/17", "arith/7", "arith/100", "arith/2"]
    write_run(tmp_path / "a", {TASK: _problems(["7"] * 4, ids)})
    write_run(tmp_path / "b", {TASK: _problems(["1"] * 4, ids)})
    report = make_report([str(tmp_path / "a"), str(tmp_path / "b")], truncation="estimate")
    assert list(report.runs[0].tasks[TASK].problems) == [
        "arith/2",
        "arith/7",
        "arith/17",
        "arith/100",
    ]
    assert [f.problem_id for f in flip_rows(report)] == [
        "arith/2",
        "arith/7",
        "arith/17",
        "arith/100",
    ]


def test_both_runs_at_zero_is_no_signal(tmp_path: Path) -> None:
    write_run(tmp_path / "a", {TASK: _problems(["1"] * 5)})
    write_run(tmp_path / "b", {TASK: _problems(["2"] * 5)})
    word, lines = verdict(
        make_report([str(tmp_path / "a"), str(tmp_path / "b")], truncation="estimate")
    )
    assert word == "NO SIGNAL" and "both score 0% on amc_sparks_greedy (5 problems)" in lines[0]
    write_run(tmp_path / "c", {TASK: _problems(["7", "1", "7", "1", "7"])})
    word, _ = verdict(
        make_report([str(tmp_path / "c"), str(tmp_path / "c")], truncation="estimate")
    )
    assert word == "OK"


def test_a_folded_checkpoint_shows_its_interventions(tmp_path: Path) -> None:
    folded = tmp_path / "folded-model"
    folded.mkdir()
    (folded / "sparks_interventions.json").write_text(
        json.dumps({"interventions": "zero:L1H3", "source_model": "base"})
    )
    write_run(tmp_path / "run", {TASK: _problems(["7"])}, model_args=f"pretrained={folded}")
    run = make_report([str(tmp_path / "run")], truncation="estimate").runs[0]
    assert run.interventions == "zero:L1H3" and run.folded
    assert run.header()["interventions"] == "zero:L1H3 (folded into the checkpoint)"


def test_a_predict_only_run_is_graded_from_its_responses(tmp_path: Path) -> None:
    results = write_run(tmp_path / "run", {TASK: _problems(["7", "1", "7"])})
    data = json.loads(results.read_text())
    data["results"][TASK] = {
        "alias": TASK,
        "bypass,extracted": 999,
        "bypass_stderr,extracted": "N/A",
    }
    results.write_text(json.dumps(data))
    samples = next(results.parent.glob("samples_*.jsonl"))
    rows = [json.loads(line) for line in samples.read_text().splitlines()]
    for row in rows:
        row["bypass"] = None
        del row["exact_match"]
        row["metrics"] = ["bypass"]
    samples.write_text("".join(json.dumps(row) + "\n" for row in rows))
    task = make_report([str(tmp_path / "run")], truncation="estimate").runs[0].tasks[TASK]
    assert task.metric == "exact_match" and task.aggregate is None
    assert [p.score for p in task.problems.values()] == [1.0, 0.0, 1.0]
    assert [p.responses[0].label for p in task.problems.values()][1] != "correct"


def test_report_shows_its_phases_on_stderr(tmp_path: Path, capsys) -> None:
    from harness_ext.cli import main

    write_run(tmp_path / "a", {TASK: _problems(["7", "1"])})
    assert (
        main(
            ["report", str(tmp_path / "a"), "-o", str(tmp_path / "out"), "--truncation", "estimate"]
        )
        == 0
    )
    err = capsys.readouterr().err
    assert "reading" in err and "a: grading and labelling amc_sparks_greedy" in err
    assert "2/2" in err and "writing" in err


def test_recorded_generation_facts_decide_truncation(tmp_path: Path) -> None:
    """A garbled ablated response re-tokenizes shorter than it was generated: the recorded
    stop reason, not an estimate, says it ran out of budget."""
    garbled = "the the the ".strip()
    results = write_run(
        tmp_path / "run",
        {TASK: [FakeProblem("p1", "7", [garbled]), FakeProblem("p2", "7", ["\\boxed{7}"])]},
        max_gen_toks=96,
    )
    samples = next(results.parent.glob("samples_*.jsonl"))
    rows = [json.loads(line) for line in samples.read_text().splitlines()]
    rows[0]["arguments"]["gen_args_0"]["arg_1"]["sparks_generation"] = [
        {"generated_tokens": 96, "stop_reason": "length", "max_gen_toks": 96}
    ]
    samples.write_text("".join(json.dumps(row) + "\n" for row in rows))
    run = make_report([str(tmp_path / "run")], truncation="estimate").runs[0]
    cut, solved = (p.responses[0] for p in run.tasks[TASK].problems.values())
    assert cut.truncated and cut.recorded and cut.n_tokens == 96 and cut.label == "truncated"
    assert not solved.recorded and run.truncation.startswith("recorded for 1 of 2 responses")


def test_a_run_is_compared_with_its_pooled_random_controls(tmp_path: Path) -> None:
    from harness_ext.cli import main

    ids = [f"p{i}" for i in range(12)]
    write_run(tmp_path / "base", {TASK: _problems(["7"] * 12, ids)})
    write_run(tmp_path / "ablate", {TASK: _problems(["1"] * 12, ids)})  # the chosen heads
    for seed, wrong in ((0, {0}), (1, {1}), (2, set())):  # random heads: hardly any harm
        write_run(
            tmp_path / f"ctl-s{seed}",
            {TASK: _problems(["1" if i in wrong else "7" for i in range(12)], ids)},
        )
    runs = [f"{n}={tmp_path / n}" for n in ("base", "ablate", "ctl-s0", "ctl-s1", "ctl-s2")]
    report = make_report(
        runs, truncation="estimate", controls={"ablate": ["ctl-s0", "ctl-s1", "ctl-s2"]}
    )
    assert report.role("ctl-s1") == "control of ablate" and report.role("ablate") == "candidate"
    whole = next(d for d in report.control_deltas if d.tier == "all")
    assert whole.controls == ("ctl-s0", "ctl-s1", "ctl-s2") and whole.comparison.n == 12
    assert abs(whole.comparison.baseline - (1 - 2 / 36)) < 1e-9  # pooled: mean over the seeds
    assert whole.comparison.candidate == 0.0 and whole.significant
    out = tmp_path / "out"
    assert (
        main(
            [
                "report",
                *runs,
                "--control",
                "ablate=ctl-s0,ctl-s1,ctl-s2",
                "-o",
                str(out),
                "--truncation",
                "estimate",
            ]
        )
        == 0
    )
    assert "Against matched random controls" in (out / "report.md").read_text()
    data = json.loads((out / "report.json").read_text())
    assert data["controls"] == {"ablate": ["ctl-s0", "ctl-s1", "ctl-s2"]}
    assert [r["role"] for r in data["runs"]][2] == "control of ablate"
    assert data["control_deltas"][0]["significant"] is True


def test_a_task_without_tiers_is_counted_once(tmp_path: Path) -> None:
    """Control tasks have the single tier "all", the name of the whole-task row too."""
    answers = [["7"] * 20, ["7"] * 16 + ["1"] * 4]
    for name, given in zip(("a", "b"), answers):
        write_run(
            tmp_path / name,
            {
                "triviaqa_sparks": [
                    FakeProblem(f"q{i}", "7", [f"\\boxed{{{a}}}"], tier="all")
                    for i, a in enumerate(given)
                ]
            },
        )
    report = make_report([str(tmp_path / "a"), str(tmp_path / "b")], truncation="estimate")
    assert report.tiers("triviaqa_sparks") == []
    (delta,) = report.deltas
    assert delta.comparison.n == 20 and abs(delta.comparison.p_value - 0.125) < 1e-9
    assert [c.problems for c in report.cells if c.run == "a"] == [20]


def test_report_md_shows_the_top_flips_as_examples(tmp_path: Path) -> None:
    from harness_ext.reports.markdown import render_markdown

    write_run(tmp_path / "a", {TASK: _problems(["7", "7"])})
    write_run(
        tmp_path / "b",
        {
            TASK: [
                FakeProblem("arith/0", "7", ["so ``` \\boxed{1}"]),
                FakeProblem("arith/1", "7", ["\\boxed{7}"]),
            ]
        },
    )
    text = render_markdown(
        make_report([f"a={tmp_path / 'a'}", f"b={tmp_path / 'b'}"], truncation="estimate")
    )
    assert "<details><summary>b broke amc_sparks_greedy arith/0 (1.00 → 0.00)</summary>" in text
    assert "````text\nso ``` \\boxed{1}\n````" in text  # the fence outlasts the response's


def test_a_report_writes_responses_with_lone_surrogates(tmp_path: Path) -> None:
    from harness_ext.reports.command import write_report

    write_run(tmp_path / "a", {TASK: [FakeProblem("p1", "7", ["x \ud800 y \\boxed{1}"])]})
    write_run(tmp_path / "b", {TASK: [FakeProblem("p1", "7", ["\\boxed{7}"])]})
    report = make_report([str(tmp_path / "a"), str(tmp_path / "b")], truncation="estimate")
    write_report(report, tmp_path / "out")
    assert "x ? y" in (tmp_path / "out" / "report.html").read_text(encoding="utf-8")


def test_ungraded_answers_are_counted_apart_and_labelled(tmp_path: Path) -> None:
    """A response whose check ran out of time in the run (sample log ``ungraded``) counts as
    wrong, is labelled ``ungraded`` (not a failure), and every view shows how many."""
    from harness_ext.reports.markdown import render_markdown
    from harness_ext.reports.report_json import to_json

    problems = _problems(["7", "7", "1"])
    problems[1] = FakeProblem("arith/1", "7", ["\\boxed{7}"], correct=[False], ungraded=1)
    write_run(tmp_path / "run", {TASK: problems})
    report = make_report([str(tmp_path / "run")], truncation="estimate")
    task = report.runs[0].tasks[TASK]
    assert task.ungraded == 1 and task.problems["arith/1"].ungraded == 1
    response = task.problems["arith/1"].responses[0]
    assert (response.ungraded, response.correct, response.label) == (True, False, "ungraded")
    assert task.problems["arith/2"].responses[0].label != "ungraded"
    cell = report.cell(report.runs[0].name, TASK, "all")
    assert (cell.ungraded, round(cell.accuracy, 3)) == (1, 0.333)
    assert "33.3% (n=3, 1 ungraded)" in render_markdown(report)
    assert any("1 answer(s) ungraded" in w for w in report.warnings)
    data = to_json(report)
    assert [a["ungraded"] for a in data["accuracy"] if a["tier"] == "all"] == [1]
    assert sum(s["ungraded"] for s in data["samples"]) == 1
