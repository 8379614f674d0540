"""``sparks regress SPEC.yaml``: run a baseline and intervention sets through lm-eval, then report.

A spec (YAML)::

    model: sparks                     # lm-eval --model (default sparks)
    model_args: dtype=float32         # shared model_args: "k=v,k=v" or a mapping (optional)
    tasks: [aime24_sparks_greedy, amc_sparks_greedy]
    include_path: my-tasks            # optional (--include_path): a folder of your own task YAMLs
    limit: 10                         # problems per task (optional)
    gen_kwargs: {max_gen_toks: 2048}  # optional; a run may override single keys
    metadata: {repeats: 4}            # optional (--metadata): repeats, data_dir
    batch_size: 8                     # optional
    apply_chat_template: true         # optional
    output: regress-out               # runs and report go here (default: <spec>-out next to it)
    baseline: base                    # default: the first run
    alpha: 0.05                       # optional
    heads: heads.json                 # optional: a sparks discover file shown in the report
    runs:
      - name: base
      - name: ablate-l3
        interventions: zero:L3H1+L5H2

Paths in the spec resolve against the spec's folder. Each run is one ``lm_eval`` command (the
``lm_eval`` of this Python environment), written to ``OUTPUT/runs/NAME``:

* Ownership: sparks stamps a run folder (``sparks-run.json``) the moment it creates it, and
  only ever replaces stamped folders. A ``NAME`` or ``NAME.partial`` folder without the stamp
  is refused before anything runs (``--force`` replaces it anyway).
* Reuse: a finished run is reused unless ``--rerun``, and only when its identity
  (``reports.run_identity``: the command, the resolved heads, the data and task files, the
  model and its chat template, the versions) is unchanged; otherwise the log says what
  changed and the run is made again.
* A run is written to ``NAME.partial``; when lm-eval exits 0, its results and sample files are
  read back (a file cut by a full disk fails the run), and only then is the folder swapped in
  for ``NAME``. An interrupted or failed run is never reused, nor one whose samples file is
  gone.
* Files the user added to ``runs/NAME`` or to the report folder are kept when they are
  replaced (:mod:`harness_ext.atomic`).
* One ``sparks regress`` at a time writes into ``OUTPUT``: it holds a lock (:data:`LOCK`, with
  the holder's pid, host, start time and command); a second one is refused with the holder
  named. The lock of a killed run is taken over, with a message. Each run has a lock of its
  own too: ``--only NAME`` makes only the named runs (no report), so the runs of one spec can
  be spread over GPUs or nodes that share ``OUTPUT``; a run another process is making is
  refused, and the final ``sparks regress`` without ``--only`` reuses them all.

The report goes to ``OUTPUT/report`` (or ``-o DIR``), replaced as a whole set.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional

from harness_ext.errors import SparksError
from harness_ext.reports.regress_spec import RegressSpec, RunSpec, load_spec

if TYPE_CHECKING:
    from harness_ext.reports.regress_view import RunsView

__all__ = [
    "RegressSpec",
    "RunSpec",
    "check_names",
    "configure_regress",
    "execute_run",
    "lm_eval_command",
    "load_spec",
    "run_regress",
]

STAMP = "sparks-run.json"
LOCK = ".sparks-regress.lock"  # in OUTPUT: who is running sparks regress into it
MAKER = "sparks regress"
LOG_TAIL_LINES = 25
Log = Callable[[str], None]


def _lm_eval(model: str) -> list[str]:
    """The lm_eval program of a run: this environment's, or .venv-vllm's for sparks-vllm when
    this environment has no vLLM (harness_ext.vllm_env)."""
    if model == "sparks-vllm":
        from harness_ext.vllm_env import vllm_lm_eval

        program = vllm_lm_eval("model: sparks-vllm")
        if program is not None:
            return [str(program)]
    script = Path(sys.executable).with_name("lm_eval")
    return [str(script)] if script.exists() else [sys.executable, "-m", "lm_eval"]


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def lm_eval_command(spec: RegressSpec, run: RunSpec, output_path: Path) -> list[str]:
    """The lm_eval arguments of one run (without the program)."""
    model_args = {**spec.model_args, **run.model_args}
    if run.interventions:
        model_args["interventions"] = run.interventions
    gen_kwargs = {**spec.gen_kwargs, **run.gen_kwargs}
    argv = ["--model", spec.model, "--tasks", ",".join(spec.tasks)]
    if spec.include_path is not None:
        argv += ["--include_path", str(spec.include_path)]
    if model_args:
        argv += ["--model_args", ",".join(f"{k}={_value(v)}" for k, v in model_args.items())]
    if gen_kwargs:
        argv += ["--gen_kwargs", ",".join(f"{k}={_value(v)}" for k, v in gen_kwargs.items())]
    if spec.metadata:
        argv += ["--metadata", json.dumps(spec.metadata, sort_keys=True)]
    if spec.limit is not None:
        argv += ["--limit", _value(spec.limit)]
    if spec.batch_size:
        argv += ["--batch_size", spec.batch_size]
    if spec.device:
        argv += ["--device", spec.device]
    if spec.apply_chat_template:
        argv += ["--apply_chat_template"]
    return argv + ["--log_samples", "--output_path", str(output_path)]


# ---------------------------------------------------------------- ownership


def _stamp(folder: Path) -> Optional[dict[str, Any]]:
    try:
        data = json.loads((folder / STAMP).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def _ours(folder: Path) -> bool:
    """A folder sparks regress made: stamped now, or by an older sparks (``argv`` and ``run``)."""
    stamp = _stamp(folder)
    return stamp is not None and (
        stamp.get("made_by") == MAKER or ("argv" in stamp and "run" in stamp)
    )


def _write_stamp(
    folder: Path, run: RunSpec, state: str, identity: Optional[dict[str, Any]] = None
) -> None:
    from harness_ext.reports.output import write_text_atomic

    stamp = {"made_by": MAKER, "run": run.name, "state": state, "identity": identity}
    write_text_atomic(folder / STAMP, json.dumps(stamp, indent=1, sort_keys=True))


def claim_run_folders(
    spec: RegressSpec, *, force: bool, runs: Optional[list[RunSpec]] = None
) -> None:
    """Refuse, before anything runs, any run folder (of ``runs``, default all) that sparks
    did not make."""
    for run in spec.runs if runs is None else runs:
        folder = spec.output / "runs" / run.name
        for path in (folder, folder.with_name(run.name + ".partial")):
            if path.is_symlink() or (path.exists() and not path.is_dir()):
                raise SparksError(
                    f"{path} exists and is not a folder; sparks regress will not "
                    f"replace it. Remove it, or set another 'output' in the spec"
                )
            if force or not path.is_dir() or _ours(path) or not any(path.iterdir()):
                continue
            raise SparksError(
                f"{path} exists but was not made by sparks regress (it has no {STAMP}); it "
                f"would be replaced by run {run.name!r}. Set another 'output' in the spec, or "
                f"pass --force to replace it"
            )


# ---------------------------------------------------------------- one run


def _reuse_reason(folder: Path, identity: dict[str, Any]) -> Optional[str]:
    """None when ``folder`` holds this very run, finished; else why it must be made again."""
    from harness_ext.reports.run_identity import differences

    stamp = _stamp(folder) if folder.is_dir() else None
    if stamp is None:
        return "no finished run yet"
    if not any(folder.rglob("results_*.json")):
        return "its folder holds no results"
    if stamp.get("made_by") != MAKER or not isinstance(stamp.get("identity"), dict):
        return "it was made by an older sparks that did not record what it ran"
    if stamp.get("state") != "finished":
        return "it did not finish"
    missing = _missing_samples(folder)
    if missing:
        return f"its samples file is missing ({', '.join(missing)})"
    changed = differences(stamp["identity"], identity)
    return "; ".join(changed) if changed else None


def _missing_samples(folder: Path) -> list[str]:
    """The samples files that the run's results file names (one per task) but are gone."""
    missing = []
    for results in sorted(folder.rglob("results_*.json")):
        try:
            configs = json.loads(results.read_text(encoding="utf-8")).get("configs") or {}
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, AttributeError):
            return [results.name]
        date_id = results.stem[len("results_") :]
        for task in sorted(configs):
            name = f"samples_{task}_{date_id}.jsonl"
            if not (results.parent / name).is_file():
                missing.append(name)
    return missing


def check_run_output(folder: Path, run: RunSpec) -> None:
    """Read back what lm-eval wrote: lm-eval exits 0 even when a full disk cut a file."""
    from harness_ext.formats.samples import read_samples

    results = sorted(folder.rglob("results_*.json"))
    if not results:
        raise SparksError(f"run {run.name!r}: lm_eval wrote no results file into {folder}")
    try:
        for path in results:
            try:
                json.loads(path.read_text(encoding="utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as error:
                raise SparksError(f"{path} is not complete JSON ({error})") from None
        for path in sorted(folder.rglob("samples_*.jsonl")):
            for _ in read_samples(path):
                pass
    except SparksError as error:
        raise SparksError(
            f"run {run.name!r}: lm_eval exited 0, but its output is damaged: "
            f"{error}. Was the disk full? The run was not kept; free space and "
            f"run sparks regress again"
        ) from None


def execute_run(
    spec: RegressSpec,
    run: RunSpec,
    *,
    rerun: bool,
    log: Log,
    force: bool = False,
    view: Optional["RunsView"] = None,
) -> Path:
    """Run (or reuse) one run; returns its output folder.

    ``force`` lets the finished run replace a folder that sparks did not make; ``view`` shows
    the run's state and lm-eval's own progress, read from the run's log as it is written.
    """
    from harness_ext.reports.output import replace_folder
    from harness_ext.reports.run_identity import run_identity

    folder = spec.output / "runs" / run.name
    partial = folder.with_name(run.name + ".partial")
    identity = run_identity(spec, run, lm_eval_command(spec, run, Path("OUTPUT")))
    reason = "--rerun" if rerun else _reuse_reason(folder, identity)
    if reason is None:
        log(f"{run.name}: reusing the finished run in {folder}")
        if view is not None:
            view.finish(run.name, "reused", folder / LOG)
        return folder
    if partial.exists():
        shutil.rmtree(partial)  # ours: claim_run_folders refused anything else
    partial.mkdir(parents=True)
    _write_stamp(partial, run, "running")  # stamped from the first moment
    command = [*_lm_eval(spec.model), *lm_eval_command(spec, run, partial)]
    log(f"{run.name}: running lm_eval ({reason}; log: {partial / LOG})")
    if view is not None:
        view.start(run.name, partial / LOG)
    try:
        _run_lm_eval(command, partial / LOG, run, view)
        check_run_output(partial, run)
    except BaseException:  # a failure or Ctrl-C: the view says which run, and its log
        if view is not None:
            view.finish(run.name, "failed")
        raise
    _write_stamp(partial, run, "finished", identity)
    replace_folder(partial, folder, owned=lambda path: force or _ours(path))
    if view is not None:
        view.finish(run.name, "done", folder / LOG)
    return folder


LOG = "lm_eval.log"  # in each run folder: the command, then lm-eval's stdout and stderr


def _run_lm_eval(
    command: list[str], log_path: Path, run: RunSpec, view: Optional["RunsView"]
) -> None:
    """Run lm-eval into ``log_path``; a non-zero exit fails with the end of the log."""
    with open(log_path, "w", encoding="utf-8") as stream:
        stream.write(" ".join(command) + "\n")
        stream.flush()
        process = subprocess.Popen(
            command,
            stdout=stream,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            code = _follow(process, run.name, view)
        except BaseException:
            process.kill()  # ours: a Ctrl-C or a broken view must not leave lm-eval running
            process.wait()
            raise
    if code != 0:
        tail = log_path.read_text(encoding="utf-8", errors="replace")
        tail = "\n".join(tail.splitlines()[-LOG_TAIL_LINES:])
        raise SparksError(
            f"run {run.name!r}: lm_eval failed (exit status {code}); the end of "
            f"its log ({log_path}):\n{tail}"
        )


def _follow(process: subprocess.Popen, name: str, view: Optional["RunsView"]) -> int:
    """Wait for lm-eval, letting the view read its log twice a second; returns its exit status."""
    if view is None:
        return process.wait()
    while True:
        try:
            return process.wait(timeout=0.5)
        except subprocess.TimeoutExpired:
            view.poll(name)


# ---------------------------------------------------------------- names, before any run


def check_names(spec: RegressSpec) -> None:
    """The model and every task exist, checked before the first run (with the nearest names)."""
    from lm_eval.api.registry import get_model, model_registry
    from lm_eval.tasks import TaskManager

    try:
        if spec.model == "sparks-vllm":  # ours; runs in .venv-vllm when vLLM is not here
            from harness_ext.vllm_env import vllm_lm_eval

            vllm_lm_eval("model: sparks-vllm")
        else:
            get_model(spec.model)
    except ValueError:
        known = sorted(model_registry.keys())
        raise SparksError(
            f"{spec.path}: model {spec.model!r} is not an lm-eval model"
            + _nearest(spec.model, known)
            + f"; e.g. {', '.join(known[:8])}, ..."
        ) from None
    manager = TaskManager(include_path=str(spec.include_path) if spec.include_path else None)
    known = manager.all_tasks
    missing = [task for task in spec.tasks if not manager.match_tasks([task])]
    if missing:
        hints = "; ".join(f"{task!r}" + _nearest(task, known) for task in missing)
        raise SparksError(
            f"{spec.path}: unknown task(s): {hints}. `lm_eval ls tasks` lists "
            f"them (add include_path: for your own task folder)"
        )


def _nearest(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=3)
    return f" (did you mean {', '.join(close)}?)" if close else ""


def _controls(spec: RegressSpec) -> dict[str, list[str]]:
    """Each controlled run's matched random control runs (one per seed)."""
    found: dict[str, list[str]] = {}
    for run in spec.runs:
        if run.control_for:
            found.setdefault(run.control_for, []).append(run.name)
    return found


# ---------------------------------------------------------------- the command


def _only_runs(spec: RegressSpec, names: Optional[str]) -> Optional[list[RunSpec]]:
    """The runs ``--only`` names, in the spec's order; None without ``--only``."""
    if names is None:
        return None
    wanted = [name.strip() for name in names.split(",") if name.strip()]
    known = [run.name for run in spec.runs]
    unknown = [name for name in wanted if name not in known]
    if unknown or not wanted:
        raise SparksError(
            f"--only {names!r}: {', '.join(map(repr, unknown)) or 'no run named'} is not a run of "
            f"{spec.path.name}; its runs are {', '.join(known)}"
        )
    return [run for run in spec.runs if run.name in wanted]


def configure_regress(parser: argparse.ArgumentParser) -> None:
    """Add the ``sparks regress`` arguments to ``parser`` (the command's description is the
    docstring of ``harness_ext.cli.run_regress``)."""
    parser.add_argument("spec", type=Path, metavar="SPEC.yaml", help="the regress spec")
    parser.add_argument(
        "--rerun", action="store_true", help="run every run again, even when a finished one exists"
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="replace run folders that sparks did not make (default: refuse)",
    )
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        metavar="DIR",
        help="where the report goes (default: OUTPUT/report of the spec)",
    )
    parser.add_argument(
        "--fail-on-regression",
        action="store_true",
        help="exit with status 1 when a run is significantly worse than the "
        "baseline on any task or tier, or when nothing was compared",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="check the spec, print the lm_eval commands and stop"
    )
    parser.add_argument(
        "--only",
        metavar="NAME[,NAME]",
        help="make only these runs and no report: spread the runs of one spec over GPUs or "
        "nodes that share OUTPUT, then run without --only to reuse them and report",
    )
    parser.add_argument(
        "--truncation",
        choices=("auto", "tokenizer", "estimate"),
        default="auto",
        help="as for `sparks report`",
    )


def run_regress(args: argparse.Namespace) -> int:
    """Run ``sparks regress``; the exit status is 1 only for a gated regression."""
    from harness_ext.output_check import check_writable
    from harness_ext.progress import Phases
    from harness_ext.reports.command import (
        check_report_folder,
        finish_report,
        make_report,
        write_report,
    )
    from harness_ext.reports.regress_view import RunsView
    from harness_ext.reports.terminal import summary_console

    console = summary_console()
    spec = load_spec(args.spec)
    check_names(spec)
    only = _only_runs(spec, args.only)
    if args.dry_run:
        for run in spec.runs:
            command = [
                *_lm_eval(spec.model),
                *lm_eval_command(spec, run, spec.output / "runs" / run.name),
            ]
            console.print(" ".join(command), highlight=False, soft_wrap=True)
        return 0
    from harness_ext.locks import folder_lock

    report_folder = args.output or spec.output / "report"
    claim_run_folders(spec, force=args.force, runs=only)
    check_report_folder(report_folder)
    check_writable(spec.output, "the runs folder ('output' in the spec)", kind="folder")

    def log(message: str) -> None:
        console.print(f"[bold]regress[/] {message}", highlight=False)

    def run_locked(run: RunSpec, view: RunsView) -> Path:
        # one lock per run, so that regress processes on several machines sharing OUTPUT
        # (--only) never make the same run at once; a second one is refused, its holder named
        with folder_lock(spec.output, name=f"{LOCK}.{run.name}", what=f"run {run.name!r}", log=log):
            return execute_run(spec, run, rerun=args.rerun, log=log, force=args.force, view=view)

    if only is not None:
        with RunsView([run.name for run in only], console) as view:
            for run in only:
                run_locked(run, view)
        log(
            f"made {', '.join(run.name for run in only)}; when every run is made, "
            f"`sparks regress {args.spec}` reuses them and writes the report"
        )
        return 0
    lock = folder_lock(spec.output, name=LOCK, what="the regress output folder", log=log)
    with lock:
        with RunsView([run.name for run in spec.runs], console) as view:
            folders = {run.name: run_locked(run, view) for run in spec.runs}
        with Phases() as progress:
            report = make_report(
                [f"{name}={folder}" for name, folder in folders.items()],
                baseline=spec.baseline,
                alpha=spec.alpha,
                seed=spec.seed,
                truncation=args.truncation,
                heads=spec.heads,
                progress=progress,
                controls=_controls(spec),
            )
            written = write_report(report, report_folder, progress)
    return finish_report(report, written, args.fail_on_regression, console)
