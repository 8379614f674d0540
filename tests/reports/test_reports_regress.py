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


# ---------------------------------------------------------------- the live view

LM_EVAL_BAR = "Running generate_until requests:  45%|####5     | 9/20 [00:04<00:05]\r"
TOKEN_BAR = "generating 4 responses:  47%|####7     | 120/256 [00:03<00:04, 40.0tok/s]\r"


def test_the_view_reads_lm_evals_and_the_token_bar_from_the_log(tmp_path: Path) -> None:
    from harness_ext.reports.regress_view import Bar, read_progress

    log = tmp_path / "lm_eval.log"
    log.write_text("loading\nRunning generate_until requests:   0%|    | 0/20 [00:00<?]\r")
    assert read_progress(log) == (Bar("Running generate_until requests", 0, 20), None)
    log.write_text(log.read_text() + LM_EVAL_BAR + TOKEN_BAR)
    assert read_progress(log) == (
        Bar("Running generate_until requests", 9, 20),
        Bar("generating 4 responses", 120, 256),
    )
    # the batch is done: lm-eval's bar moved past the token bar, which is no longer current
    log.write_text(log.read_text() + LM_EVAL_BAR.replace("9/20", "13/20"))
    assert read_progress(log) == (Bar("Running generate_until requests", 13, 20), None)
    log.write_text("no bar yet\n")
    assert read_progress(log) == (None, None)
    assert read_progress(tmp_path / "gone.log") == (None, None)


def _console(terminal: bool):
    import io

    from rich.console import Console

    return Console(file=io.StringIO(), force_terminal=terminal, width=250, color_system=None)


def test_the_plain_view_lists_every_run_with_its_state_progress_and_log(tmp_path: Path) -> None:
    from harness_ext.reports.regress_view import RunsView

    console = _console(terminal=False)
    log = tmp_path / "base.partial" / "lm_eval.log"
    log.parent.mkdir()
    log.write_text("lm_eval --model sparks\n" + LM_EVAL_BAR + TOKEN_BAR)
    with RunsView(["base", "ablate", "ctrl"], console, interval=0) as view:
        view.start("base", log)
        view.poll("base")
        view.finish("base", "done", tmp_path / "base" / "lm_eval.log")
        view.finish("ablate", "reused", tmp_path / "ablate" / "lm_eval.log")
        view.start("ctrl", tmp_path / "ctrl.partial" / "lm_eval.log")
        view.finish("ctrl", "failed")
    lines = console.file.getvalue().splitlines()  # type: ignore[attr-defined]
    assert lines[0] == "regress 3 run(s): base, ablate, ctrl"
    assert lines[1].startswith(
        "regress [1/3] base: generate_until requests 9/20, tokens 120/256 (4 responses) ("
    )
    assert lines[2].startswith("regress [1/3] base: done; generate_until requests 9/20")
    assert lines[2].endswith(f"log: {tmp_path / 'base' / 'lm_eval.log'}")
    assert lines[3].startswith("regress [3/3] ctrl: failed;")
    assert lines[3].endswith(f"log: {tmp_path / 'ctrl.partial' / 'lm_eval.log'}")
    summary = lines[4:]
    assert [line.split(";")[0] for line in summary] == [
        "regress base: done",
        "regress ablate: reused",
        "regress ctrl: failed",
    ]
    assert summary[1] == f"regress ablate: reused; log: {tmp_path / 'ablate' / 'lm_eval.log'}"


def test_a_pending_run_stays_listed_and_progress_lines_are_spaced(tmp_path: Path) -> None:
    from harness_ext.reports.regress_view import RunsView

    console = _console(terminal=False)
    log = tmp_path / "lm_eval.log"
    log.write_text(LM_EVAL_BAR)
    with RunsView(["base", "later"], console, interval=3600) as view:
        view.start("base", log)
        for _ in range(3):
            view.poll("base")  # one line, not three, within the interval
    lines = console.file.getvalue().splitlines()  # type: ignore[attr-defined]
    assert sum("requests 9/20 (" in line for line in lines) == 1
    assert lines[-2].startswith("regress base: running; generate_until requests 9/20")
    assert lines[-1] == "regress later: pending"


def test_the_live_view_is_a_table_of_every_run(tmp_path: Path) -> None:
    from harness_ext.reports.regress_view import RunsView

    console = _console(terminal=True)
    log = tmp_path / "lm_eval.log"
    log.write_text(LM_EVAL_BAR + TOKEN_BAR)
    with RunsView(["base", "ablate"], console) as view:
        view.start("base", log)
        view.poll("base")
    shown = console.file.getvalue()  # type: ignore[attr-defined]
    assert "2 run(s)" not in shown and "[1/2]" not in shown  # no plain lines on a terminal
    rows = [line.split() for line in reversed(shown.splitlines())]  # the last drawing first
    base = next(row for row in rows if row and row[0] == "base")
    assert base[1] == "running" and "9/20," in base and "120/256" in base
    assert base[-1] == str(log)
    assert next(row for row in rows if row and row[0] == "ablate")[1:] == ["pending"]


def test_an_interrupted_regress_stops_its_lm_eval_and_marks_the_run_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os
    import sys

    import harness_ext.reports.regress as regress
    from harness_ext.reports.regress_view import RunsView

    pid_file, finished = tmp_path / "pid", tmp_path / "finished"
    spec = load_spec(_write(tmp_path, SPEC))
    script = (  # a long lm-eval: it would write `finished` if it were waited for, not stopped
        f"import os, sys, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); "
        f"time.sleep(60); open({str(finished)!r}, 'w').write('x')"
    )
    monkeypatch.setattr(regress, "_lm_eval", lambda model: [sys.executable, "-c", script, "x"])

    class Interrupting(RunsView):
        def poll(self, name: str) -> None:
            if pid_file.exists() and pid_file.read_text().strip():
                raise KeyboardInterrupt  # Ctrl-C while lm-eval runs

    console = _console(terminal=False)
    with pytest.raises(KeyboardInterrupt), Interrupting(["base"], console) as view:
        execute_run(spec, spec.runs[0], rerun=False, log=lambda message: None, view=view)
    assert not finished.exists()  # stopped, not waited for
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid_file.read_text()), 0)  # and reaped: it no longer exists
    assert "regress base: failed;" in console.file.getvalue()  # type: ignore[attr-defined]
