"""sparks regress without a model: the spec, the lm_eval commands, reuse of finished runs."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from harness_ext.errors import SparksError
from harness_ext.reports.regress import (
    STAMP,
    configure_regress,
    execute_run,
    lm_eval_command,
    load_spec,
    run_regress,
)

SPEC = """
model: sparks
model_args: dtype=float32
tasks: [aime24_sparks_greedy, amc_sparks_greedy]
limit: 3
gen_kwargs: {max_gen_toks: 64}
metadata: {repeats: 2}
batch_size: 4
apply_chat_template: true
output: out
runs:
  - name: base
  - name: ablate
    interventions: zero:L3H1+L5H2
  - name: short
    gen_kwargs: {max_gen_toks: 16}
    model_args: {intervention_mode: fold}
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "regress.yaml"
    path.write_text(text)
    return path


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    configure_regress(parser)
    return parser.parse_args(list(argv))


def test_spec_and_commands(tmp_path: Path) -> None:
    spec = load_spec(_write(tmp_path, SPEC))
    assert [run.name for run in spec.runs] == ["base", "ablate", "short"]
    assert spec.baseline == "base" and spec.output == tmp_path / "out" and spec.heads is None
    assert (
        load_spec(_write(tmp_path, SPEC + "heads: h/heads.json\n")).heads
        == tmp_path / "h/heads.json"
    )
    (tmp_path / "mine").mkdir()
    mine = load_spec(_write(tmp_path, SPEC + "include_path: mine\n"))
    assert lm_eval_command(mine, mine.runs[0], Path("o"))[4:6] == [
        "--include_path",
        str(tmp_path / "mine"),
    ]
    with pytest.raises(SparksError, match="include_path .* is not a folder"):
        load_spec(_write(tmp_path, SPEC + "include_path: nope\n"))
    base, ablate, short = (lm_eval_command(spec, run, Path("o")) for run in spec.runs)
    assert base == [
        "--model",
        "sparks",
        "--tasks",
        "aime24_sparks_greedy,amc_sparks_greedy",
        "--model_args",
        "dtype=float32",
        "--gen_kwargs",
        "max_gen_toks=64",
        "--metadata",
        '{"repeats": 2}',
        "--limit",
        "3",
        "--batch_size",
        "4",
        "--apply_chat_template",
        "--log_samples",
        "--output_path",
        "o",
    ]
    assert "dtype=float32,interventions=zero:L3H1+L5H2" in ablate
    assert "max_gen_toks=16" in short and "dtype=float32,intervention_mode=fold" in short


def test_runs_as_a_mapping(tmp_path: Path) -> None:
    spec = load_spec(
        _write(
            tmp_path,
            "tasks: amc_sparks_greedy\nbaseline: b\n"
            "runs:\n  a: {interventions: 'zero:L1H1'}\n  b:\n",
        )
    )
    assert [run.name for run in spec.runs] == ["a", "b"] and spec.baseline == "b"
    assert spec.tasks == ["amc_sparks_greedy"]


@pytest.mark.parametrize(
    "text, message",
    [
        ("tasks: [x]\nrunz: []\n", "unknown key\\(s\\) runz in the spec; valid keys: model"),
        ("runs: [{name: a}]\n", "'tasks' must list task names"),
        ("tasks: [x]\n", "'runs' must list at least one run"),
        (
            "tasks: [x]\nruns: [{name: a, intervention: 'zero:L1'}]\n",
            "unknown key\\(s\\) intervention in run 'a'; valid keys: name, interventions",
        ),
        ("tasks: [x]\nruns: [{name: a}, {name: a}]\n", "run name\\(s\\) a used twice"),
        ("tasks: [x]\nruns: [{name: 'a/b'}]\n", "may only use letters"),
        ("tasks: [x]\nruns: [{name: a, interventions: 'zero:L1,L2'}]\n", "may not contain ','"),
        ("tasks: [x]\nbaseline: z\nruns: [{name: a}]\n", "baseline 'z' is not one of the runs"),
        ("tasks: [x]\nlimit: -1\nruns: [{name: a}]\n", "'limit' must be a positive number"),
        ("tasks: [x\n", "not valid YAML"),
    ],
)
def test_spec_errors_name_the_problem(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(SparksError, match=message):
        load_spec(_write(tmp_path, text))


def test_missing_spec(tmp_path: Path) -> None:
    with pytest.raises(SparksError, match="does not exist"):
        load_spec(tmp_path / "nope.yaml")


def test_finished_runs_are_reused(tmp_path: Path) -> None:
    from harness_ext.reports.run_identity import run_identity

    spec = load_spec(_write(tmp_path, SPEC))
    run = spec.runs[0]
    folder = spec.output / "runs" / run.name
    (folder / "model").mkdir(parents=True)
    (folder / "model" / "results_x.json").write_text("{}")
    identity = run_identity(spec, run, lm_eval_command(spec, run, Path("OUTPUT")))
    (folder / STAMP).write_text(
        json.dumps(
            {
                "made_by": "sparks regress",
                "run": run.name,
                "state": "finished",
                "identity": identity,
            }
        )
    )
    messages: list[str] = []
    assert execute_run(spec, run, rerun=False, log=messages.append) == folder
    assert "reusing" in messages[0]


def test_failed_lm_eval_run_shows_its_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import harness_ext.reports.regress as regress

    spec = load_spec(_write(tmp_path, SPEC))
    monkeypatch.setattr(
        regress, "_lm_eval", lambda model: ["sh", "-c", "echo the cause; exit 3", "x"]
    )
    with pytest.raises(SparksError, match="(?s)lm_eval failed \\(exit status 3\\).*the cause"):
        execute_run(spec, spec.runs[0], rerun=False, log=lambda message: None)
    assert not (spec.output / "runs" / "base").exists()  # only the .partial folder


def test_dry_run_prints_the_commands(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import harness_ext.reports.regress as regress

    monkeypatch.setattr(regress, "check_names", lambda spec: None)  # tested on its own
    assert run_regress(_args(str(_write(tmp_path, SPEC)), "--dry-run")) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3 and all("lm_eval" in line and "--log_samples" in line for line in lines)
