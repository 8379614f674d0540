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

Each run is one ``lm_eval`` command (the ``lm_eval`` of this Python environment), written to
``OUTPUT/runs/NAME``. A run whose folder holds a finished run of the same command is reused
unless ``--rerun``; a run is written to ``NAME.partial`` and renamed when lm-eval succeeds, so an
interrupted run is never reused. The report goes to ``OUTPUT/report`` (or ``-o DIR``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

from harness_ext.errors import SparksError

__all__ = ["RegressSpec", "RunSpec", "configure_regress", "lm_eval_command", "load_spec",
           "run_regress"]

STAMP = "sparks-run.json"
SPEC_KEYS = ("model", "model_args", "tasks", "limit", "gen_kwargs", "metadata", "batch_size",
             "apply_chat_template", "device", "output", "baseline", "alpha", "seed", "heads",
             "include_path", "runs")
RUN_KEYS = ("name", "interventions", "model_args", "gen_kwargs")
LOG_TAIL_LINES = 25


@dataclass(frozen=True)
class RunSpec:
    name: str
    interventions: str = ""
    model_args: dict[str, str] = field(default_factory=dict)
    gen_kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RegressSpec:
    path: Path
    model: str
    model_args: dict[str, str]
    tasks: list[str]
    limit: Optional[float]
    gen_kwargs: dict[str, Any]
    metadata: dict[str, Any]
    batch_size: Optional[str]
    apply_chat_template: bool
    device: Optional[str]
    output: Path
    baseline: str
    alpha: float
    seed: int
    runs: list[RunSpec]
    heads: Optional[Path] = None
    include_path: Optional[Path] = None


def _fail(spec_path: Path, problem: str) -> SparksError:
    return SparksError(f"{spec_path}: {problem} (see docs/reports.md for the spec format)")


def _kv(value: Any, what: str, spec_path: Path) -> dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return {str(k): v for k, v in value.items()}
    if isinstance(value, str):
        result: dict[str, Any] = {}
        for part in filter(None, (p.strip() for p in value.split(","))):
            if "=" not in part:
                raise _fail(spec_path, f"{what}: {part!r} is not key=value")
            key, item = part.split("=", 1)
            result[key.strip()] = item.strip()
        return result
    raise _fail(spec_path, f"{what} must be a mapping or a 'k=v,k=v' string, not {value!r}")


def _unknown(keys: Sequence[str], allowed: Sequence[str], where: str, spec_path: Path) -> None:
    extra = [key for key in keys if key not in allowed]
    if extra:
        raise _fail(spec_path, f"unknown key(s) {', '.join(map(str, extra))} in {where}; "
                               f"valid keys: {', '.join(allowed)}")


def load_spec(path: Path) -> RegressSpec:
    """Read and check a regress spec; every problem names the key and the fix."""
    import yaml

    if not path.is_file():
        raise SparksError(f"regress spec {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise SparksError(f"{path} is not valid YAML: {error}") from None
    if not isinstance(data, dict):
        raise _fail(path, "the spec must be a mapping with at least 'tasks' and 'runs'")
    _unknown(list(data), SPEC_KEYS, "the spec", path)
    tasks = data.get("tasks")
    if isinstance(tasks, str):
        tasks = [t.strip() for t in tasks.split(",") if t.strip()]
    if not tasks or not isinstance(tasks, list) or not all(isinstance(t, str) for t in tasks):
        raise _fail(path, "'tasks' must list task names, e.g. [aime24_sparks_greedy]")
    runs = _runs(data.get("runs"), path)
    names = [run.name for run in runs]
    baseline = str(data.get("baseline") or names[0])
    if baseline not in names:
        raise _fail(path, f"baseline {baseline!r} is not one of the runs ({', '.join(names)})")
    output = Path(data.get("output") or f"{path.stem}-out")
    if not output.is_absolute():
        output = path.parent / output
    limit = data.get("limit")
    if limit is not None and (not isinstance(limit, (int, float)) or limit <= 0):
        raise _fail(path, f"'limit' must be a positive number, not {limit!r}")
    alpha = float(data.get("alpha", 0.05))
    heads, include = (_near(path, data.get(key)) for key in ("heads", "include_path"))
    if include is not None and not include.is_dir():
        raise _fail(path, f"include_path {include} is not a folder (of task YAML files)")
    batch = data.get("batch_size")
    return RegressSpec(
        path=path, model=str(data.get("model") or "sparks"),
        model_args={k: str(v) for k, v in _kv(data.get("model_args"), "model_args", path).items()},
        tasks=tasks, limit=limit, gen_kwargs=_kv(data.get("gen_kwargs"), "gen_kwargs", path),
        metadata=dict(_kv(data.get("metadata"), "metadata", path)),
        batch_size=str(batch) if batch is not None else None,
        apply_chat_template=bool(data.get("apply_chat_template", False)),
        device=str(data["device"]) if data.get("device") else None, output=output,
        baseline=baseline, alpha=alpha, seed=int(data.get("seed", 0)), runs=runs,
        heads=heads, include_path=include)


def _near(spec_path: Path, value: Any) -> Optional[Path]:
    """A path from the spec, relative to the spec's folder."""
    if not value:
        return None
    found = Path(str(value))
    return found if found.is_absolute() else spec_path.parent / found


def _runs(value: Any, path: Path) -> list[RunSpec]:
    if isinstance(value, Mapping):  # name: {settings}
        value = [{"name": name, **(settings or {})} for name, settings in value.items()]
    if not isinstance(value, list) or len(value) < 1:
        raise _fail(path, "'runs' must list at least one run, e.g. [{name: base}, "
                          "{name: ablated, interventions: 'zero:L3H1'}]")
    runs = []
    for index, item in enumerate(value):
        if not isinstance(item, Mapping) or not item.get("name"):
            raise _fail(path, f"run {index + 1} needs a 'name'")
        _unknown(list(item), RUN_KEYS, f"run {item['name']!r}", path)
        name = str(item["name"])
        if not all(c.isalnum() or c in "-_." for c in name) or name.startswith("."):
            raise _fail(path, f"run name {name!r} may only use letters, digits, '-', '_' and '.'")
        interventions = str(item.get("interventions") or "")
        if "," in interventions or "=" in interventions:
            raise _fail(path, f"run {name!r}: interventions {interventions!r} may not contain "
                              f"',' or '=' (join items with ';')")
        runs.append(RunSpec(name=name, interventions=interventions,
                            model_args={k: str(v) for k, v in
                                        _kv(item.get("model_args"), "model_args", path).items()},
                            gen_kwargs=_kv(item.get("gen_kwargs"), "gen_kwargs", path)))
    names = [run.name for run in runs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise _fail(path, f"run name(s) {', '.join(duplicates)} used twice")
    return runs


def _lm_eval() -> list[str]:
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


def _finished(folder: Path, argv: list[str]) -> bool:
    stamp = folder / STAMP
    if not stamp.is_file() or not any(folder.rglob("results_*.json")):
        return False
    try:
        return json.loads(stamp.read_text(encoding="utf-8")).get("argv") == argv
    except (OSError, json.JSONDecodeError):
        return False


def execute_run(spec: RegressSpec, run: RunSpec, *, rerun: bool, log: Any) -> Path:
    """Run (or reuse) one run; returns its output folder."""
    folder = spec.output / "runs" / run.name
    partial = folder.with_name(run.name + ".partial")
    argv = lm_eval_command(spec, run, Path("OUTPUT"))  # the stamp ignores where it was written
    if not rerun and _finished(folder, argv):
        log(f"{run.name}: reusing the finished run in {folder}")
        return folder
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    command = [*_lm_eval(), *lm_eval_command(spec, run, partial)]
    log(f"{run.name}: running lm_eval (log: {partial / 'lm_eval.log'})")
    with open(partial / "lm_eval.log", "w", encoding="utf-8") as stream:
        stream.write(" ".join(command) + "\n")
        stream.flush()
        code = subprocess.call(command, stdout=stream, stderr=subprocess.STDOUT,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    if code != 0 or not any(partial.rglob("results_*.json")):
        tail = (partial / "lm_eval.log").read_text(encoding="utf-8", errors="replace")
        tail = "\n".join(tail.splitlines()[-LOG_TAIL_LINES:])
        raise SparksError(f"run {run.name!r}: lm_eval failed (exit status {code}); the end of "
                          f"its log ({partial / 'lm_eval.log'}):\n{tail}")
    (partial / STAMP).write_text(json.dumps({"argv": argv, "run": run.name}, indent=1),
                                 encoding="utf-8")
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(partial, folder)
    return folder


def configure_regress(parser: argparse.ArgumentParser) -> None:
    """Add the ``sparks regress`` arguments to ``parser``."""
    parser.description = (
        "Run a baseline and intervention sets through lm-eval as a YAML spec describes "
        "(model, tasks, limit, generation settings, runs), reusing finished runs, then write "
        "the report of `sparks report` comparing every run with the baseline.")
    parser.add_argument("spec", type=Path, metavar="SPEC.yaml", help="the regress spec")
    parser.add_argument("--rerun", action="store_true",
                        help="run every run again, even when a finished one exists")
    parser.add_argument("-o", "--output", type=Path, metavar="DIR",
                        help="where the report goes (default: OUTPUT/report of the spec)")
    parser.add_argument("--fail-on-regression", action="store_true",
                        help="exit with status 1 when a run is significantly worse than the "
                             "baseline on any task or tier")
    parser.add_argument("--dry-run", action="store_true",
                        help="print the lm_eval commands and stop")
    parser.add_argument("--truncation", choices=("auto", "tokenizer", "estimate"),
                        default="auto", help="as for `sparks report`")


def run_regress(args: argparse.Namespace) -> int:
    """Run ``sparks regress``; the exit status is 1 only for a gated regression."""
    from harness_ext.reports.command import finish_report, make_report
    from harness_ext.reports.terminal import summary_console

    console = summary_console()
    spec = load_spec(args.spec)
    if args.dry_run:
        for run in spec.runs:
            command = [*_lm_eval(), *lm_eval_command(spec, run, spec.output / "runs" / run.name)]
            console.print(" ".join(command), highlight=False, soft_wrap=True)
        return 0

    def log(message: str) -> None:
        console.print(f"[bold]regress[/] {message}", highlight=False)

    folders = {run.name: execute_run(spec, run, rerun=args.rerun, log=log) for run in spec.runs}
    report = make_report([f"{name}={folder}" for name, folder in folders.items()],
                         baseline=spec.baseline, alpha=spec.alpha, seed=spec.seed,
                         truncation=args.truncation, heads=spec.heads)
    return finish_report(report, args.output or spec.output / "report", args.fail_on_regression,
                         console)
