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
    from harness_ext.progress import Phases
    from harness_ext.reports.compare import Report

__all__ = [
    "REPORT_FILES",
    "REPORT_STAMP",
    "check_report_folder",
    "configure_report",
    "make_report",
    "run_report",
    "write_report",
]

REPORT_FILES = ("report.md", "report.html", "report.json")


def configure_report(parser: argparse.ArgumentParser) -> None:
    """Add the ``sparks report`` arguments to ``parser`` (the command's description is the
    docstring of ``harness_ext.cli.run_report``).

    Over 80 lines on purpose: one flat declaration per option, in the order ``--help`` shows
    them; split up, the help text would be scattered over functions that each add a few."""
    parser.add_argument(
        "runs",
        nargs="+",
        metavar="RUN",
        help="PATH or NAME=PATH of an lm-eval output folder or results file",
    )
    parser.add_argument(
        "--baseline",
        metavar="RUN",
        help="the reference run: a NAME or PATH (default: the first RUN)",
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="DIR",
        type=Path,
        help="write report.md, report.html and report.json into DIR",
    )
    parser.add_argument(
        "--fail-on-regression",
        action="store_true",
        help="exit with status 1 when a candidate is significantly worse than "
        "the baseline on any task or tier",
    )
    parser.add_argument(
        "--alpha",
        type=float,
        default=0.05,
        help="significance level of the paired tests (default 0.05)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the bootstrap (default 0)")
    parser.add_argument(
        "--tasks", metavar="T1,T2", help="only these tasks (default: every sparks task in the runs)"
    )
    parser.add_argument(
        "--labels",
        metavar="L1,L2",
        help="only these labelers, in this order (default: all registered, in their order)",
    )
    parser.add_argument(
        "--heads",
        metavar="HEADS_JSON",
        type=Path,
        help="a heads file of `sparks discover`: its heat maps (importance, "
        "effect; emergent heads and each run's intervened heads marked) "
        "go into the report",
    )
    parser.add_argument(
        "--max-response-chars",
        type=_positive,
        default=None,
        metavar="N",
        help="full text shown per failed or flipped response in report.html "
        "(default 12000; longer ones keep the start, the evidence and the "
        "end)",
    )
    parser.add_argument(
        "--control",
        action="append",
        default=[],
        metavar="RUN=C1,C2",
        help="compare RUN with its matched random controls C1, C2, ... (runs "
        "of random:... interventions, one per seed), pooled per problem; "
        "repeatable",
    )
    parser.add_argument(
        "--truncation",
        choices=("auto", "tokenizer", "estimate"),
        default="auto",
        help="how to tell a truncated response: re-tokenize with the run's "
        "tokenizer, or estimate from length (default auto: the tokenizer "
        "when it loads offline)",
    )


def _split_run(spec: str) -> tuple[Optional[str], Path]:
    name, sep, path = spec.partition("=")
    if sep and name and "/" not in name and not Path(spec).exists():
        return name, Path(path)
    return None, Path(spec)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return value


def _controls(values: Sequence[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for value in values:
        run, sep, names = value.partition("=")
        if not sep or not run.strip() or not _csv(names):
            raise SparksError(
                f"--control {value!r}: write RUN=CONTROL1,CONTROL2 (run names as "
                f"given with NAME=PATH)"
            )
        found.setdefault(run.strip(), []).extend(_csv(names) or [])
    return found


def _csv(value: Optional[str]) -> Optional[list[str]]:
    if not value:
        return None
    return [item.strip() for item in value.split(",") if item.strip()]


def make_report(
    run_specs: Sequence[str],
    *,
    baseline: Optional[str] = None,
    alpha: float = 0.05,
    seed: int = 0,
    tasks: Optional[Sequence[str]] = None,
    labels: Optional[Sequence[str]] = None,
    truncation: str = "auto",
    heads: Optional[Path] = None,
    progress: Optional["Phases"] = None,
    controls: Optional[dict[str, list[str]]] = None,
) -> "Report":
    """Load the runs and build the report (see :func:`harness_ext.reports.compare.build_report`).

    ``baseline`` is a run's name (given as ``NAME=PATH``, or its folder's name) or a path; a
    path that is not among ``run_specs`` is loaded as one more run. ``heads`` is a heads file
    of ``sparks discover`` to show; ``progress`` shows the reading and grading; ``controls``
    maps a run's name to the names of its matched random control runs (one per seed).
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
        same = [
            i
            for i, (_, path) in enumerate(specs)
            if base_path.exists() and path.exists() and path.resolve() == base_path.resolve()
        ]
        if same:
            specs.insert(0, specs.pop(same[0]))
            baseline = None
        elif base_path.exists():
            specs.insert(0, (None, base_path))
            baseline = None
    runs = []
    used: set[str] = set()
    for name, path in specs:
        reading = progress.phase(f"reading {name or path.name}", total=1) if progress else None
        run = load_run(
            path,
            name=name,
            tasks=tasks,
            truncation=truncation,
            labelers=labels,
            warn=warnings.append,
            progress=progress,
        )
        if reading is not None:
            reading()
        run.name = _unique(run.name, used)
        used.add(run.name)
        runs.append(run)
    if baseline is not None and baseline not in used:
        raise SparksError(
            f"--baseline {baseline!r} is neither a run name ({', '.join(used)}) "
            f"nor an existing path"
        )
    report = build_report(runs, baseline or runs[0].name, alpha=alpha, seed=seed, controls=controls)
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


REPORT_STAMP = ".sparks-report.json"


def check_report_folder(folder: Path) -> None:
    """Refuse a report folder that sparks may not replace, before any work is done.

    It must be absent, empty, or a report that sparks wrote (it holds :data:`REPORT_STAMP`),
    and its nearest existing folder must be writable.
    """
    from harness_ext.reports.output import is_stamped

    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        raise SparksError(
            f"-o {folder} is not a folder; pass a new or empty folder for the report files"
        )
    if folder.is_dir() and any(folder.iterdir()) and not is_stamped(folder, REPORT_STAMP):
        raise SparksError(
            f"-o {folder} holds files that sparks did not write (no "
            f"{REPORT_STAMP}); sparks only replaces its own reports. Pass a new "
            f"or empty folder, e.g. -o {folder / 'report'}"
        )
    from harness_ext.output_check import check_writable

    check_writable(folder, "the report folder", kind="folder")
    if folder.is_dir():  # the new set is swapped in beside it
        check_writable(folder.parent, "the folder of the report", kind="folder")


def write_report(
    report: "Report",
    folder: Path,
    progress: Optional["Phases"] = None,
    max_response_chars: Optional[int] = None,
) -> list[Path]:
    """Write report.md, report.html and report.json into ``folder``, as one set.

    The three files are rendered first, written into a stamped temporary folder beside
    ``folder`` and swapped in whole (``reports.output.write_folder_atomic``): a crash or a full
    disk leaves the earlier report as it was.
    """
    from harness_ext import __version__
    from harness_ext.reports.html import render_html
    from harness_ext.reports.markdown import render_markdown
    from harness_ext.reports.output import is_stamped, write_folder_atomic
    from harness_ext.reports.report_json import render_json
    from harness_ext.reports.views import RESPONSE_CHARS

    check_report_folder(folder)
    max_response_chars = max_response_chars or RESPONSE_CHARS
    advance = progress.phase(f"writing {folder.name}", total=1) if progress is not None else None
    files = {
        "report.md": render_markdown(report),
        "report.html": render_html(report, folder, max_response_chars),
        "report.json": render_json(report),
    }
    try:
        written = write_folder_atomic(
            folder,
            files,
            stamp_name=REPORT_STAMP,
            stamp={"what": "sparks report", "version": __version__, "files": list(files)},
            owned=lambda path: is_stamped(path, REPORT_STAMP),
        )
    except OSError as error:
        reason = error.strerror or str(error)
        raise SparksError(
            f"could not write the report into {folder} ({reason}); the earlier "
            f"report there, if any, is unchanged"
        ) from None
    if advance is not None:
        advance()
    return written


def run_report(args: argparse.Namespace) -> int:
    """Run ``sparks report``; the exit status is 1 only for a gated regression."""
    from harness_ext import answers
    from harness_ext.progress import Phases
    from harness_ext.reports.terminal import summary_console

    if args.output is not None:
        check_report_folder(args.output)  # before the work, not after
    answers.warm_up()  # the grader's worker starts while the runs are read
    with Phases() as progress:
        report = make_report(
            args.runs,
            baseline=args.baseline,
            alpha=args.alpha,
            seed=args.seed,
            tasks=_csv(args.tasks),
            labels=_csv(args.labels),
            truncation=args.truncation,
            heads=args.heads,
            progress=progress,
            controls=_controls(args.control),
        )
        written = (
            write_report(report, args.output, progress, args.max_response_chars)
            if args.output
            else []
        )
    return finish_report(report, written, args.fail_on_regression, summary_console())


def finish_report(
    report: "Report", written: Sequence[Path], fail_on_regression: bool, console: Any
) -> int:
    """Print the summary and the files written, and give the exit status."""
    from harness_ext.reports.terminal import print_summary

    print_summary(report, console)
    for path in written:
        console.print(f"wrote {path}", highlight=False)
    if not fail_on_regression:
        return 0
    # a gate that compared nothing fails: "no regression (0 tests)" would pass any change
    return 1 if report.regressions() or report.uncompared() or not report.deltas else 0
