"""``sparks report``: compare lm-eval runs of the sparks tasks, per difficulty tier.

``configure_report(parser)`` adds the arguments, ``run_report(args)`` runs it and returns the
exit status (1 with ``--fail-on-regression`` when a candidate is significantly worse than the
baseline on any task or tier). Problems with the input raise :class:`SparksError`.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, Sequence

from harness_ext.errors import SparksError

if TYPE_CHECKING:
    from harness_ext.reports.compare import Report

__all__ = ["REPORT_FILES", "configure_report", "make_report", "run_report", "write_report"]

REPORT_FILES = ("report.md", "report.html", "report.json")


def configure_report(parser: argparse.ArgumentParser) -> None:
    """Add the ``sparks report`` arguments to ``parser``."""
    parser.description = (
        "Compare lm-eval runs of the sparks tasks: accuracy per task and difficulty tier, "
        "paired deltas with 95% intervals and significance tests, a failure label (with "
        "evidence) for every wrong response, and the problems that flipped. Each RUN is an "
        "lm-eval output folder (--output_path of a run with --log_samples) or its "
        "results_*.json, optionally named: NAME=PATH.")
    parser.add_argument("runs", nargs="+", metavar="RUN",
                        help="PATH or NAME=PATH of an lm-eval output folder or results file")
    parser.add_argument("--baseline", metavar="RUN",
                        help="the reference run: a NAME or PATH (default: the first RUN)")
    parser.add_argument("-o", "--output", metavar="DIR", type=Path,
                        help="write report.md, report.html and report.json into DIR")
    parser.add_argument("--fail-on-regression", action="store_true",
                        help="exit with status 1 when a candidate is significantly worse than "
                             "the baseline on any task or tier")
    parser.add_argument("--alpha", type=float, default=0.05,
                        help="significance level of the paired tests (default 0.05)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the bootstrap (default 0)")
    parser.add_argument("--tasks", metavar="T1,T2",
                        help="only these tasks (default: every sparks task in the runs)")
    parser.add_argument("--labels", metavar="L1,L2",
                        help="only these labelers, in this order (default: all registered, in "
                             "their order)")
    parser.add_argument("--heads", metavar="HEADS_JSON", type=Path,
                        help="a heads file of `sparks discover`: its heat maps (importance, "
                             "effect; emergent heads and each run's intervened heads marked) "
                             "go into the report")
    parser.add_argument("--truncation", choices=("auto", "tokenizer", "estimate"),
                        default="auto",
                        help="how to tell a truncated response: re-tokenize with the run's "
                             "tokenizer, or estimate from length (default auto: the tokenizer "
                             "when it loads offline)")


def _split_run(spec: str) -> tuple[Optional[str], Path]:
    name, sep, path = spec.partition("=")
    if sep and name and "/" not in name and not Path(spec).exists():
        return name, Path(path)
    return None, Path(spec)


def _csv(value: Optional[str]) -> Optional[list[str]]:
    if not value:
        return None
    return [item.strip() for item in value.split(",") if item.strip()]


def make_report(run_specs: Sequence[str], *, baseline: Optional[str] = None,
                alpha: float = 0.05, seed: int = 0, tasks: Optional[Sequence[str]] = None,
                labels: Optional[Sequence[str]] = None, truncation: str = "auto",
                heads: Optional[Path] = None) -> "Report":
    """Load the runs and build the report (see :func:`harness_ext.reports.compare.build_report`).

    ``baseline`` is a run's name (given as ``NAME=PATH``, or its folder's name) or a path; a
    path that is not among ``run_specs`` is loaded as one more run. ``heads`` is a heads file
    of ``sparks discover`` to show.
    """
    from harness_ext.reports.compare import build_report
    from harness_ext.reports.heads import load_heads
    from harness_ext.reports.runs import load_run

    if not 0 < alpha < 1:
        raise SparksError(f"--alpha {alpha} must be between 0 and 1")
    warnings: list[str] = []
    heads_map = load_heads(heads) if heads is not None else None  # its errors before run loading
    specs = [_split_run(spec) for spec in run_specs]
    if baseline is not None and not any(name == baseline for name, _ in specs):
        base_path = Path(baseline)
        same = [i for i, (_, path) in enumerate(specs)
                if base_path.exists() and path.exists() and path.resolve() == base_path.resolve()]
        if same:
            specs.insert(0, specs.pop(same[0]))
            baseline = None
        elif base_path.exists():
            specs.insert(0, (None, base_path))
            baseline = None
    runs = []
    used: set[str] = set()
    for name, path in specs:
        run = load_run(path, name=name, tasks=tasks, truncation=truncation, labelers=labels,
                       warn=warnings.append)
        run.name = _unique(run.name, used)
        used.add(run.name)
        runs.append(run)
    if baseline is not None and baseline not in used:
        raise SparksError(f"--baseline {baseline!r} is neither a run name ({', '.join(used)}) "
                          f"nor an existing path")
    report = build_report(runs, baseline or runs[0].name, alpha=alpha, seed=seed)
    report.warnings[:0] = warnings
    report.heads = heads_map
    return report


def _unique(name: str, used: set[str]) -> str:
    if name not in used:
        return name
    index = 2
    while f"{name}-{index}" in used:
        index += 1
    return f"{name}-{index}"


def write_report(report: "Report", folder: Path) -> list[Path]:
    """Write report.md, report.html and report.json into ``folder`` (atomically)."""
    from harness_ext.reports.html import render_html
    from harness_ext.reports.markdown import render_markdown
    from harness_ext.reports.output import write_text_atomic
    from harness_ext.reports.report_json import render_json

    if folder.exists() and not folder.is_dir():
        raise SparksError(f"-o {folder} is a file; pass a folder for the report files")
    return [write_text_atomic(folder / "report.md", render_markdown(report)),
            write_text_atomic(folder / "report.html", render_html(report)),
            write_text_atomic(folder / "report.json", render_json(report))]


def run_report(args: argparse.Namespace) -> int:
    """Run ``sparks report``; the exit status is 1 only for a gated regression."""
    report = make_report(args.runs, baseline=args.baseline, alpha=args.alpha, seed=args.seed,
                         tasks=_csv(args.tasks), labels=_csv(args.labels),
                         truncation=args.truncation, heads=args.heads)
    from harness_ext.reports.terminal import summary_console

    return finish_report(report, args.output, args.fail_on_regression, summary_console())


def finish_report(report: "Report", output: Optional[Path], fail_on_regression: bool,
                  console: Any) -> int:
    """Print the summary, write the files (if ``output``), and give the exit status."""
    from harness_ext.reports.terminal import print_summary

    print_summary(report, console)
    if output is not None:
        for path in write_report(report, output):
            console.print(f"wrote {path}", highlight=False)
    return 1 if fail_on_regression and report.regressions() else 0
