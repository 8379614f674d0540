"""Reliability of sparks regress and sparks report: nothing lost, nothing stale, no empty gate.

lm_eval is replaced by a small script (FAKE_LM_EVAL) that writes a run in lm-eval's format,
so these tests exercise sparks' own handling of folders, stamps, reuse and damaged output.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from harness_ext.errors import SparksError
from harness_ext.reports import regress
from harness_ext.reports.command import REPORT_STAMP, check_report_folder, write_report
from harness_ext.reports.fixtures import FakeProblem, write_run
from harness_ext.reports.regress import STAMP, configure_regress, execute_run, load_spec

FAKE_LM_EVAL = textwrap.dedent("""
    import os, sys
    from pathlib import Path
    from harness_ext.reports.fixtures import FakeProblem, write_run
    out = Path(sys.argv[sys.argv.index("--output_path") + 1])
    with open(os.environ["FAKE_LOG"], "a") as log:
        log.write(" ".join(sys.argv[1:]) + "\\n")
    for done in range(4):  # sparks' token bar of a batch, then lm-eval's request bar moves
        print(f"generating 1 response: 50%|#  | {5 * done}/16 [00:01<00:01]", end="\\r",
              file=sys.stderr)
        print(f"Running generate_until requests: {done * 33}%|#  | {done}/3 [00:01<00:01]",
              end="\\r", file=sys.stderr)
    if os.environ.get("FAKE_FAIL") and "interventions" in " ".join(sys.argv):
        sys.exit(3)
    problems = [FakeProblem(f"p{i}", str(i), [f"\\\\boxed{{{i}}}"]) for i in range(3)]
    results = write_run(out, {"amc_sparks_greedy": problems})
    if os.environ.get("FAKE_CUT"):  # a full disk: lm-eval's writer stops mid-line, exit 0
        samples = next(results.parent.glob("samples_*.jsonl"))
        samples.write_bytes(samples.read_bytes()[:-40])
""")

SPEC = """
tasks: [amc_sparks_greedy]
limit: 3
output: out
runs:
  - name: base
  - name: ablate
    interventions: zero:@h.json#1
"""


@pytest.fixture
def fake_lm_eval(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """lm_eval replaced by FAKE_LM_EVAL; returns the file each call appends its argv to."""
    script = tmp_path / "fake_lm_eval.py"
    script.write_text(FAKE_LM_EVAL)
    calls = tmp_path / "calls.log"
    calls.touch()
    monkeypatch.setenv("FAKE_LOG", str(calls))
    monkeypatch.setattr(regress, "_lm_eval", lambda model: [sys.executable, str(script)])
    monkeypatch.setattr(regress, "check_names", lambda spec: None)  # real one: its own test
    return calls


def _heads(path: Path, layer: int, head: int) -> None:
    path.write_text(json.dumps({"emergent": [{"layer": layer, "head": head}]}))


def _spec(tmp_path: Path, text: str = SPEC) -> Path:
    (tmp_path / "spec").mkdir(exist_ok=True)
    _heads(tmp_path / "spec" / "h.json", 1, 1)
    path = tmp_path / "spec" / "regress.yaml"
    path.write_text(text)
    return path


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    configure_regress(parser)
    return parser.parse_args(list(argv))


def _calls(log: Path) -> int:
    return len(log.read_text().splitlines())


# ---------------------------------------------------------------- data loss


@pytest.mark.integration  # 3.5 s
def test_regress_refuses_a_folder_it_did_not_make(tmp_path: Path, fake_lm_eval: Path) -> None:
    spec = _spec(tmp_path)
    victim = tmp_path / "spec" / "out" / "runs" / "base"
    write_run(victim, {"amc_sparks_greedy": [FakeProblem("p0", "0", ["\\boxed{0}"])]})
    (victim / "notes.txt").write_text("mine")
    with pytest.raises(SparksError, match=f"(?s){victim}.*not made by sparks regress.*--force"):
        regress.run_regress(_args(str(spec)))
    assert (victim / "notes.txt").read_text() == "mine" and _calls(fake_lm_eval) == 0
    assert regress.run_regress(_args(str(spec), "--force")) == 0
    assert not (victim / "notes.txt").exists() and (victim / STAMP).is_file()


def test_an_unstamped_partial_folder_is_refused_too(tmp_path: Path, fake_lm_eval: Path) -> None:
    spec = _spec(tmp_path)
    partial = tmp_path / "spec" / "out" / "runs" / "ablate.partial"
    partial.mkdir(parents=True)
    (partial / "data.csv").write_text("1,2")
    with pytest.raises(SparksError, match="ablate.partial exists but was not made by"):
        regress.run_regress(_args(str(spec)))
    assert (partial / "data.csv").is_file()


def test_a_run_folder_is_stamped_from_the_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = load_spec(_spec(tmp_path))
    monkeypatch.setattr(regress, "_lm_eval", lambda model: ["sh", "-c", "exit 9", "x"])
    with pytest.raises(SparksError, match="exit status 9"):
        execute_run(spec, spec.runs[0], rerun=False, log=lambda message: None)
    stamp = json.loads((spec.output / "runs" / "base.partial" / STAMP).read_text())
    assert stamp["made_by"] == "sparks regress" and stamp["state"] == "running"
    assert not (spec.output / "runs" / "base").exists()


def test_a_cut_samples_file_fails_the_run(
    tmp_path: Path, fake_lm_eval: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = load_spec(_spec(tmp_path))
    monkeypatch.setenv("FAKE_CUT", "1")
    with pytest.raises(
        SparksError, match="(?s)lm_eval exited 0, but its output is damaged.*cut off.*disk full"
    ):
        execute_run(spec, spec.runs[0], rerun=False, log=lambda message: None)
    assert not (spec.output / "runs" / "base").exists()


# ---------------------------------------------------------------- stale reuse


def test_reuse_follows_the_heads_file_and_the_data(
    tmp_path: Path, fake_lm_eval: Path, monkeypatch: pytest.MonkeyPatch, shared_data: Path
) -> None:
    monkeypatch.setenv("SPARKS_DATA_DIR", str(shared_data))
    path = _spec(tmp_path)
    said: list[str] = []
    spec = load_spec(path)
    for run in spec.runs:
        execute_run(spec, run, rerun=False, log=said.append)
    assert _calls(fake_lm_eval) == 2
    spec = load_spec(path)
    for run in spec.runs:
        execute_run(spec, run, rerun=False, log=said.append)
    assert _calls(fake_lm_eval) == 2 and all("reusing" in line for line in said[-2:])

    _heads(tmp_path / "spec" / "h.json", 5, 5)  # same command text, other heads
    spec = load_spec(path)
    execute_run(spec, spec.runs[0], rerun=False, log=said.append)
    execute_run(spec, spec.runs[1], rerun=False, log=said.append)
    assert _calls(fake_lm_eval) == 3 and "reusing" in said[-2]
    assert "interventions changed (zero:L1H1 -> zero:L5H5)" in said[-1]
    assert "zero:L5H5" in fake_lm_eval.read_text().splitlines()[-1]

    other = tmp_path / "other-data"
    other.mkdir()
    for name in ("amc.jsonl", "aime.jsonl", "math500.jsonl"):
        (other / name).write_text((shared_data / name).read_text()[:2000].rsplit("\n", 1)[0])
    monkeypatch.setenv("SPARKS_DATA_DIR", str(other))
    execute_run(spec, spec.runs[0], rerun=False, log=said.append)
    assert _calls(fake_lm_eval) == 4 and "data changed" in said[-1]


@pytest.mark.integration  # 3 s
def test_reuse_follows_the_task_files_and_versions(
    tmp_path: Path, fake_lm_eval: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "spec" / "mine").mkdir(parents=True)
    task_yaml = tmp_path / "spec" / "mine" / "t.yaml"
    task_yaml.write_text("task: t\n")
    spec = load_spec(_spec(tmp_path, SPEC + "include_path: mine\n"))
    said: list[str] = []
    execute_run(spec, spec.runs[0], rerun=False, log=said.append)
    task_yaml.write_text("task: t\nnum_fewshot: 1\n")
    execute_run(spec, spec.runs[0], rerun=False, log=said.append)
    assert "task files changed (t.yaml)" in said[-1]
    monkeypatch.setenv("SPARKS_LOAD_PLUGINS", "")
    execute_run(spec, spec.runs[0], rerun=False, log=said.append)
    assert "versions changed (SPARKS_LOAD_PLUGINS)" in said[-1] and _calls(fake_lm_eval) == 3


def test_a_local_model_folder_is_part_of_the_identity(tmp_path: Path, fake_lm_eval: Path) -> None:
    model = tmp_path / "spec" / "model"
    model.mkdir(parents=True)
    (model / "tokenizer_config.json").write_text(json.dumps({"chat_template": "{{ a }}"}))
    spec = load_spec(_spec(tmp_path, SPEC + f"model_args: pretrained={model}\n"))
    said: list[str] = []
    execute_run(spec, spec.runs[0], rerun=False, log=said.append)
    (model / "tokenizer_config.json").write_text(json.dumps({"chat_template": "{{ b }}"}))
    execute_run(spec, spec.runs[0], rerun=False, log=said.append)
    assert "model changed (chat_template, files)" in said[-1]


# ---------------------------------------------------------------- report folders


def _report(tmp_path: Path, answer: str = "1"):
    from harness_ext.reports.command import make_report

    runs = []
    for name, response in (("a", "\\boxed{1}"), ("b", f"\\boxed{{{answer}}}")):
        write_run(
            tmp_path / "runs" / name,
            {"amc_sparks_greedy": [FakeProblem(f"p{i}", "1", [response]) for i in range(4)]},
        )
        runs.append(f"{name}={tmp_path / 'runs' / name}")
    return make_report(runs, truncation="estimate")


def _delta(folder: Path) -> float:
    return json.loads((folder / "report.json").read_text())["deltas"][0]["delta"]


def test_report_folder_must_be_empty_absent_or_a_sparks_report(tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "report.md").write_text("my own notes")
    with pytest.raises(SparksError, match=f"-o {mine} holds files that sparks did not write"):
        check_report_folder(mine)
    with pytest.raises(SparksError, match="holds files that sparks did not write"):
        write_report(_report(tmp_path), mine)
    assert (mine / "report.md").read_text() == "my own notes"
    empty = tmp_path / "empty"
    empty.mkdir()
    written = write_report(_report(tmp_path), empty)
    assert sorted(p.name for p in written) == ["report.html", "report.json", "report.md"]
    assert (empty / REPORT_STAMP).is_file()
    write_report(_report(tmp_path, "2"), empty)  # a sparks report: replaced
    assert _delta(empty) == -1.0


def test_report_cwd_with_user_files_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from harness_ext.cli import main

    (tmp_path / "thesis.tex").write_text("x")
    _report(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main(["report", "runs/a", "runs/b", "-o", "."]) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs", "thesis.tex"]


KILLED_WRITE = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    import harness_ext.reports.output as output
    from harness_ext.reports.command import make_report, write_report
    folder, runs = Path(sys.argv[1]), sys.argv[2:]
    real = output._write_file
    def write_then_die(path, text):
        real(path, text)
        if path.name == "report.md":  # the new report.md is on disk, the others are not
            os.kill(os.getpid(), signal.SIGKILL)
    output._write_file = write_then_die
    if os.environ.get("FULL_DISK"):
        import resource
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        output._write_file = real
        report = make_report(runs, truncation="estimate")
        resource.setrlimit(resource.RLIMIT_FSIZE, (2000, 2000))
    else:
        report = make_report(runs, truncation="estimate")
    write_report(report, folder)
""")


def _old_report(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    folder = tmp_path / "report"
    write_report(_report(tmp_path), folder)
    return folder, {p.name: p.read_text() for p in folder.iterdir()}


def _write_in_child(tmp_path: Path, folder: Path, **env: str) -> subprocess.CompletedProcess:
    script = tmp_path / "killed_write.py"
    script.write_text(KILLED_WRITE)
    runs = [f"{name}={tmp_path / 'runs' / name}" for name in ("a", "b")]
    _report(tmp_path, "2")  # the new runs differ from the old report's
    return subprocess.run(
        [sys.executable, str(script), str(folder), *runs],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
    )


@pytest.mark.integration  # a child process
def test_a_killed_report_write_leaves_the_old_set(tmp_path: Path) -> None:
    folder, before = _old_report(tmp_path)
    done = _write_in_child(tmp_path, folder)
    assert done.returncode == -signal.SIGKILL
    assert {p.name: p.read_text() for p in folder.iterdir()} == before
    leftover = list(tmp_path.glob(".report.sparks-new-*"))
    assert len(leftover) == 1 and (leftover[0] / REPORT_STAMP).is_file()
    write_report(_report(tmp_path, "2"), folder)  # the next run cleans up
    assert not list(tmp_path.glob(".report.sparks-*"))
    assert _delta(folder) == -1.0


@pytest.mark.integration  # a child process
def test_a_full_disk_leaves_the_old_set(tmp_path: Path) -> None:
    folder, before = _old_report(tmp_path)
    done = _write_in_child(tmp_path, folder, FULL_DISK="1")
    assert done.returncode == 1
    assert "could not write the report" in done.stderr and "unchanged" in done.stderr
    assert {p.name: p.read_text() for p in folder.iterdir()} == before
    assert not list(tmp_path.glob(".report.sparks-*"))


def test_an_unwritable_report_folder_is_refused_before_the_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "ro" / "report"
    real = os.access
    monkeypatch.setattr(
        os, "access", lambda path, mode, **kw: Path(path) != tmp_path and real(path, mode)
    )
    with pytest.raises(
        SparksError,
        match=f"cannot write the report folder {target}: its folder {tmp_path} is not writable",
    ):
        check_report_folder(target)


# ---------------------------------------------------------------- gates


def test_a_gate_that_compares_nothing_fails(tmp_path: Path, capsys) -> None:
    from harness_ext.cli import main

    write_run(tmp_path / "a", {"amc_sparks_greedy": [FakeProblem("p1", "1", ["\\boxed{1}"])]})
    write_run(tmp_path / "b", {"aime24_sparks_greedy": [FakeProblem("p1", "1", ["\\boxed{1}"])]})
    write_run(tmp_path / "c", {"amc_sparks_greedy": [FakeProblem("q1", "1", ["\\boxed{1}"])]})
    for other in ("b", "c"):
        code = main(
            [
                "report",
                str(tmp_path / "a"),
                str(tmp_path / other),
                "--fail-on-regression",
                "--truncation",
                "estimate",
            ]
        )
        out = capsys.readouterr().out
        assert code == 1 and "NOTHING COMPARED" in out and "no test ran" in out
    assert (
        main(["report", str(tmp_path / "a"), str(tmp_path / "c"), "--truncation", "estimate"]) == 0
    )  # no gate: a report, not a failure


# ---------------------------------------------------------------- the spec


@pytest.mark.parametrize(
    "extra, message",
    [
        ("alpha: abc\n", "'alpha': Input should be a valid number"),
        ("seed: abc\n", "'seed': Input should be a valid integer"),
        ("metadata: '{repeats: 1'\n", "'metadata' is not valid JSON"),
        (
            "metadata: {repeat: 1}\n",
            "unknown metadata key 'repeat' \\(did you mean 'repeats'\\?\\)",
        ),
        (
            "limits: 3\n",
            "unknown key\\(s\\) limits in the spec; valid keys: .*did you mean 'limit'",
        ),
    ],
)
def test_spec_values_are_checked(tmp_path: Path, extra: str, message: str) -> None:
    with pytest.raises(SparksError, match=message):
        load_spec(_spec(tmp_path, SPEC + extra))


def test_spec_paths_resolve_against_the_spec(tmp_path: Path, monkeypatch) -> None:
    path = _spec(tmp_path, SPEC + "metadata: {data_dir: data}\n")
    monkeypatch.chdir(tmp_path)  # h.json is in spec/, not here
    spec = load_spec(path)
    assert spec.runs[1].interventions == "zero:L1H1"
    assert spec.metadata["data_dir"] == str(tmp_path / "spec" / "data")
    (tmp_path / "spec" / "h.json").unlink()
    with pytest.raises(
        SparksError,
        match="run 'ablate': interventions: .*heads file not found: "
        f"{tmp_path / 'spec' / 'h.json'}",
    ):
        load_spec(path)


@pytest.mark.integration  # 13 s under load
def test_unknown_model_and_task_are_named_before_any_run(tmp_path: Path) -> None:
    spec = load_spec(_spec(tmp_path, SPEC.replace("amc_sparks_greedy", "amc_sparks_gredy")))
    with pytest.raises(
        SparksError,
        match="unknown task\\(s\\): 'amc_sparks_gredy' \\(did you mean amc_sparks_greedy",
    ):
        regress.check_names(spec)
    spec = load_spec(_spec(tmp_path, SPEC + "model: sparx\n"))
    with pytest.raises(
        SparksError, match="model 'sparx' is not an lm-eval model \\(did you mean sparks"
    ):
        regress.check_names(spec)


def test_regress_checks_its_output_folder_before_any_run(
    tmp_path: Path, fake_lm_eval: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = _spec(tmp_path)
    real = os.access
    monkeypatch.setattr(
        os, "access", lambda path, mode, **kw: Path(path) != spec.parent and real(path, mode)
    )
    with pytest.raises(SparksError, match="cannot write the report folder .* is not writable"):
        regress.run_regress(_args(str(spec)))
    assert _calls(fake_lm_eval) == 0


@pytest.mark.parametrize(
    "run, message",
    [
        (
            "{name: c, interventions: 'zero:L1H1', seeds: 3, control_for: base}",
            "needs 'control_for: RUN' and interventions of the random kind",
        ),
        ("{name: c, interventions: 'random:@h.json#1', seeds: 3}", "needs 'control_for: RUN'"),
        (
            "{name: c, interventions: 'random:@h.json#1', seeds: [1, 1], control_for: base}",
            "'seeds' must be a count",
        ),
    ],
)
def test_control_runs_are_checked(tmp_path: Path, run: str, message: str) -> None:
    with pytest.raises(SparksError, match=message):
        load_spec(_spec(tmp_path, SPEC + f"  - {run}\n"))


def test_control_runs_expand_one_per_seed(tmp_path: Path) -> None:
    spec = load_spec(
        _spec(
            tmp_path,
            SPEC + "  - {name: ctl, interventions: 'random:@h.json#1', "
            "seeds: 3, control_for: ablate}\n",
        )
    )
    controls = [run for run in spec.runs if run.control_for]
    assert [run.name for run in controls] == ["ctl-s0", "ctl-s1", "ctl-s2"]
    assert [run.interventions for run in controls] == [
        f"random:L1H1:{seed}:zero" for seed in range(3)
    ]
    assert {run.group for run in controls} == {"ctl"}
    assert regress._controls(spec) == {"ablate": ["ctl-s0", "ctl-s1", "ctl-s2"]}


# ---------------------------------------------------------------- the user's files are kept


def test_report_rerun_keeps_the_users_files(tmp_path: Path) -> None:
    folder, _ = _old_report(tmp_path)
    (folder / "NOTES.md").write_text("my notes")
    (folder / "figs").mkdir()
    (folder / "figs" / "plot.svg").write_text("<svg/>")
    (folder / "empty").mkdir()
    write_report(_report(tmp_path, "2"), folder)  # replaced as a set: the user's files stay
    assert _delta(folder) == -1.0
    assert (folder / "NOTES.md").read_text() == "my notes"
    assert (folder / "figs" / "plot.svg").read_text() == "<svg/>"
    assert (folder / "empty").is_dir()
    write_report(_report(tmp_path), folder)  # and again: still there
    assert (folder / "NOTES.md").read_text() == "my notes" and _delta(folder) == 0.0


def test_report_cli_rerun_keeps_notes(tmp_path: Path) -> None:
    from harness_ext.cli import main

    _report(tmp_path)
    runs = [str(tmp_path / "runs" / "a"), str(tmp_path / "runs" / "b")]
    out = tmp_path / "out"
    assert main(["report", *runs, "-o", str(out), "--truncation", "estimate"]) == 0
    (out / "NOTES.md").write_text("mine")
    assert main(["report", *runs, "-o", str(out), "--truncation", "estimate"]) == 0
    assert (out / "NOTES.md").read_text() == "mine"


def test_a_file_sparks_now_writes_is_not_taken_from_the_user(tmp_path: Path) -> None:
    from harness_ext.atomic import MANIFEST

    folder, before = _old_report(tmp_path)
    manifest = json.loads((folder / MANIFEST).read_text())
    manifest["files"].remove("report.md")  # as if an older sparks had not written report.md
    (folder / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(SparksError, match="report.md, which sparks did not write but now would"):
        write_report(_report(tmp_path, "2"), folder)
    assert (folder / "report.md").read_text() == before["report.md"]
    assert not list(tmp_path.glob(".report.sparks-*"))


@pytest.mark.integration  # 4 s
def test_regress_rerun_keeps_the_users_files(tmp_path: Path, fake_lm_eval: Path) -> None:
    spec = _spec(tmp_path)
    assert regress.run_regress(_args(str(spec))) == 0
    out = tmp_path / "spec" / "out"
    (out / "runs" / "base" / "NOTES.md").write_text("run notes")
    (out / "report" / "NOTES.md").write_text("report notes")
    assert regress.run_regress(_args(str(spec), "--rerun")) == 0
    assert _calls(fake_lm_eval) == 4  # both runs ran twice
    assert (out / "runs" / "base" / "NOTES.md").read_text() == "run notes"
    assert (out / "report" / "NOTES.md").read_text() == "report notes"
    assert len(list((out / "runs" / "base").rglob("results_*.json"))) == 1


def test_a_finished_run_without_its_samples_is_run_again(
    tmp_path: Path, fake_lm_eval: Path
) -> None:
    spec = load_spec(_spec(tmp_path))
    said: list[str] = []
    folder = execute_run(spec, spec.runs[0], rerun=False, log=said.append)
    assert execute_run(spec, spec.runs[0], rerun=False, log=said.append) == folder
    assert "reusing" in said[-1] and _calls(fake_lm_eval) == 1
    next(folder.rglob("samples_*.jsonl")).unlink()
    execute_run(spec, spec.runs[0], rerun=False, log=said.append)
    assert _calls(fake_lm_eval) == 2
    assert "samples_amc_sparks_greedy" in said[-1] and "missing" in said[-1]
    assert len(list(folder.rglob("samples_*.jsonl"))) == 1


@pytest.mark.integration  # 4 s
def test_regress_shows_every_run_its_state_progress_and_log(
    tmp_path: Path, fake_lm_eval: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Not a terminal (pytest captures stdout): plain lines, as in CI."""
    spec = _spec(tmp_path, SPEC + "  - name: never\n")
    assert regress.run_regress(_args(str(spec))) == 0
    out = capsys.readouterr().out
    runs = tmp_path / "spec" / "out" / "runs"
    assert "regress 3 run(s): base, ablate, never" in out
    assert "[1/3] base: done; generate_until requests 3/3; " in out
    assert f"log: {runs / 'base' / 'lm_eval.log'}" in out
    assert "regress never: done; generate_until requests 3/3; " in out
    # run again: all three are reused, and the view still says where each log is
    assert regress.run_regress(_args(str(spec))) == 0
    out = capsys.readouterr().out
    reused = [line for line in out.splitlines() if line.startswith("regress ablate: reused;")]
    assert reused == [
        f"regress ablate: reused; generate_until requests 3/3; "
        f"log: {runs / 'ablate' / 'lm_eval.log'}"
    ]


def test_a_failed_run_is_shown_with_its_log_and_the_rest_pending(
    tmp_path: Path,
    fake_lm_eval: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FAKE_FAIL", "1")  # the run with interventions exits 3
    spec = _spec(tmp_path, SPEC + "  - name: never\n")
    with pytest.raises(SparksError, match="run 'ablate': lm_eval failed"):
        regress.run_regress(_args(str(spec)))
    lines = capsys.readouterr().out.splitlines()
    partial = tmp_path / "spec" / "out" / "runs" / "ablate.partial" / "lm_eval.log"
    assert lines[-3].startswith("regress base: done;")
    assert lines[-2].startswith("regress ablate: failed; generate_until requests 3/3;")
    assert lines[-2].endswith(f"log: {partial}")
    assert lines[-1] == "regress never: pending"


# ---------------------------------------------------------------- one regress per folder

HOLD_LOCK = textwrap.dedent("""
    import os, signal, sys, time
    from pathlib import Path
    from harness_ext.locks import folder_lock
    from harness_ext.reports.regress import LOCK
    name = sys.argv[3] if len(sys.argv) > 3 else LOCK
    with folder_lock(Path(sys.argv[1]), name=name, what="x", log=print):
        print("locked", flush=True)
        if sys.argv[2] == "die":
            os.kill(os.getpid(), signal.SIGKILL)
        sys.stdin.read()  # held until the test closes stdin
""")


def _holder(tmp_path: Path, folder: Path, mode: str, *lock: str) -> subprocess.Popen:
    script = tmp_path / "hold_lock.py"
    script.write_text(HOLD_LOCK)
    child = subprocess.Popen(
        [sys.executable, str(script), str(folder), mode, *lock],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None and child.stdout.readline().strip() == "locked"
    return child


@pytest.mark.integration  # a child process
def test_a_second_regress_into_one_folder_is_refused(tmp_path: Path, fake_lm_eval: Path) -> None:
    spec = _spec(tmp_path)
    out = tmp_path / "spec" / "out"
    child = _holder(tmp_path, out, "hold")
    try:
        with pytest.raises(SparksError) as refused:
            regress.run_regress(_args(str(spec)))
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait()
    message = str(refused.value)
    assert f"pid {child.pid}" in message and "hold_lock.py" in message and "in use" in message
    assert _calls(fake_lm_eval) == 0 and not (out / "runs").exists()
    assert regress.run_regress(_args(str(spec))) == 0  # released: the next run proceeds


@pytest.mark.integration  # a child process
def test_the_lock_of_a_killed_regress_is_taken_over(
    tmp_path: Path, fake_lm_eval: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = _spec(tmp_path)
    child = _holder(tmp_path, tmp_path / "spec" / "out", "die")
    assert child.wait() == -signal.SIGKILL
    assert regress.run_regress(_args(str(spec))) == 0
    said = " ".join(capsys.readouterr().out.split())
    assert f"taking over the lock of pid {child.pid}" in said and "no longer running" in said


# ---------------------------------------------------------------- spread over machines


def test_only_makes_the_named_runs_and_the_full_regress_reuses_them(
    tmp_path: Path, fake_lm_eval: Path
) -> None:
    """Each GPU or node makes its runs with --only into the shared OUTPUT; the last regress
    reuses them all and reports."""
    spec = _spec(tmp_path)
    out = tmp_path / "spec" / "out"
    assert regress.run_regress(_args(str(spec), "--only", "ablate")) == 0
    assert _calls(fake_lm_eval) == 1 and "interventions" in fake_lm_eval.read_text()
    assert not (out / "runs" / "base").exists() and not (out / "report").exists()
    assert regress.run_regress(_args(str(spec), "--only", "base")) == 0
    assert regress.run_regress(_args(str(spec))) == 0
    assert _calls(fake_lm_eval) == 2  # the full regress made nothing again
    assert (out / "report" / "report.json").is_file()


def test_only_names_runs_of_the_spec(tmp_path: Path, fake_lm_eval: Path) -> None:
    with pytest.raises(SparksError, match="'abalte' is not a run of regress.yaml") as refused:
        regress.run_regress(_args(str(_spec(tmp_path)), "--only", "base,abalte"))
    assert "its runs are base, ablate" in str(refused.value)
    assert _calls(fake_lm_eval) == 0


def test_a_run_another_machine_is_making_is_refused(tmp_path: Path, fake_lm_eval: Path) -> None:
    spec = _spec(tmp_path)
    out = tmp_path / "spec" / "out"
    child = _holder(tmp_path, out, "hold", f"{regress.LOCK}.ablate")
    try:
        assert regress.run_regress(_args(str(spec), "--only", "base")) == 0  # another run: free
        with pytest.raises(SparksError, match="in use") as refused:
            regress.run_regress(_args(str(spec), "--only", "ablate"))
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait()
    assert f"pid {child.pid}" in str(refused.value)
    assert _calls(fake_lm_eval) == 1
