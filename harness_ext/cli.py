"""The ``sparks`` command line. Each subcommand is one small function; heavy imports stay inside.

A command is a ``run(args, rest) -> exit status`` function whose docstring is its help, plus an
optional ``configure(parser)`` that declares its flags. Pass-through commands (``eval``) hand
everything after their name to another program.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import Callable, Sequence

from harness_ext.errors import SparksError

Run = Callable[[argparse.Namespace, list[str]], int]
Configure = Callable[[argparse.ArgumentParser], None]


@dataclass(frozen=True)
class Command:
    """One subcommand: what it runs, how its flags are declared, and whether it passes through."""

    run: Run
    configure: Configure | None = None
    passthrough: bool = False


def run_eval(args: argparse.Namespace, rest: list[str]) -> int:
    """Run lm-eval with the sparks model (--model sparks unless you pass another).

    Every lm_eval flag works. Interventions can also be given as flags, which are added to
    ``--model_args`` as one ``interventions=`` spec:

      --ablate L12H3 [L14H7 ...]   zero these heads (``L12`` = all heads of layer 12)
      --boost L20H1=1.3 [...]      scale a head's output by a factor (0.5 damps)
      --interventions SPEC         any spec, e.g. 'mean:L3H1;noise:L4H2:0.1'
    """
    from lm_eval.__main__ import cli_evaluate

    argv = with_intervention_flags(rest)
    if "--model" not in argv and not any(arg.startswith("--model=") for arg in argv):
        argv = ["--model", "sparks", *argv]
    sys.argv = ["lm_eval", *argv]
    cli_evaluate()
    return 0


def with_intervention_flags(argv: list[str]) -> list[str]:
    """Turn ``--ablate/--boost/--interventions`` into ``--model_args interventions=...``."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--ablate", nargs="+", action="extend", default=[])
    parser.add_argument("--boost", nargs="+", action="extend", default=[])
    parser.add_argument("--interventions", action="append", default=[])
    parser.add_argument("--model_args", default=None)
    known, others = parser.parse_known_args(argv)
    parts = list(known.interventions)
    if known.ablate:
        parts.append("zero:" + "+".join(known.ablate))
    for boost in known.boost:
        head, equals, factor = boost.partition("=")
        if not equals or not head or not factor:
            raise SparksError(f"--boost {boost!r}: expected HEAD=FACTOR, e.g. --boost L20H1=1.3")
        parts.append(f"scale:{head}:{factor}")
    model_args = known.model_args
    if parts:
        if model_args and "interventions=" in model_args:
            raise SparksError("interventions are given both in --model_args and as flags; "
                              "use one of the two.")
        spec = ";".join(parts)
        model_args = f"{model_args},interventions={spec}" if model_args else f"interventions={spec}"
    return [*others, *(["--model_args", model_args] if model_args else [])]


def run_model(args: argparse.Namespace, rest: list[str]) -> int:
    """Prepare the embedded model (SmolLM2-135M-Instruct) and print its folder."""
    from harness_ext.embedded import embedded_model_path

    print(embedded_model_path())
    return 0


def run_tasks(args: argparse.Namespace, rest: list[str]) -> int:
    """List the sparks tasks and groups that lm-eval sees."""
    from lm_eval.tasks import TaskManager

    from harness_ext.lm_eval_bridge import tasks_dir

    manager = TaskManager(include_path=str(tasks_dir()), include_defaults=False)
    for name in manager.all_tasks:
        print(name)
    return 0


def run_plugins(args: argparse.Namespace, rest: list[str]) -> int:
    """List installed plugins, their versions and the interventions and labelers they give.

    ``SPARKS_LOAD_PLUGINS`` limits which installed plugins load ("" = built-ins only,
    otherwise comma-separated distribution names).
    """
    from rich.console import Console

    from harness_ext.plugins import describe_plugins

    console = Console(highlight=False, soft_wrap=True)
    for info in describe_plugins():
        origin = f"{info.distribution} {info.version}" if info.distribution else "built-in"
        console.print(f"[bold]{info.name}[/] ({origin}) hooks: {', '.join(info.hooks)}")
        for item in info.interventions:
            console.print(f"  [cyan]{item.usage}[/]")
            for line in item.doc.splitlines():
                console.print(f"      {line}")
        for labeler in info.labelers:
            console.print(f"  labeler [cyan]{labeler.name}[/]: {labeler.doc.splitlines()[0] if labeler.doc else ''}")
    return 0


def configure_fold(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default=None,
                        help="Hub id or local folder (default: the embedded model)")
    parser.add_argument("--interventions", required=True,
                        help="a foldable spec (zero/scale), e.g. 'zero:L12H3+L14H7;scale:L20H1:1.3'")
    parser.add_argument("-o", "--output", required=True, help="folder to write")
    parser.add_argument("--dtype", default="auto", help="dtype to load and save (default: auto)")


def run_fold(args: argparse.Namespace, rest: list[str]) -> int:
    """Write a checkpoint with static interventions folded into o_proj's weights.

    Any engine (vLLM, lm-eval --model vllm or hf, plain transformers) then runs the
    intervened model at full speed; the folder's sparks_interventions.json records the spec.
    """
    from harness_ext.interventions import fold_checkpoint

    model = args.model
    if model is None:
        from harness_ext.embedded import embedded_model_path

        model = str(embedded_model_path())
    print(fold_checkpoint(model, args.interventions, args.output, dtype=args.dtype))
    return 0


def run_report(args: argparse.Namespace, rest: list[str]) -> int:
    """Compare lm-eval runs per task and difficulty tier, with failure labels.

    Reads lm-eval output folders or results files (with their --log_samples files), pairs
    problems across runs, tests significance (McNemar / paired bootstrap) and writes
    report.md, report.html and report.json to -o DIR. --fail-on-regression exits 1 when a
    task or tier of a candidate is significantly worse than --baseline.
    """
    from harness_ext.reports.command import run_report as run

    return run(args)


def configure_report(parser: argparse.ArgumentParser) -> None:
    from harness_ext.reports.command import configure_report as configure

    configure(parser)


def run_regress(args: argparse.Namespace, rest: list[str]) -> int:
    """Run a regression spec (model, tasks, runs) through lm-eval, then report on it.

    SPEC.yaml names the model, tasks, limits, generation settings and the runs (a baseline
    and intervention sets); finished runs are reused unless --rerun. See docs/reports.md.
    """
    from harness_ext.reports.regress import run_regress as run

    return run(args)


def configure_regress(parser: argparse.ArgumentParser) -> None:
    from harness_ext.reports.regress import configure_regress as configure

    configure(parser)


def run_discover(args: argparse.Namespace, rest: list[str]) -> int:
    """Rank attention heads by attribution and find the ones post-training made emerge.

    Writes heads.json (every head's importance and effect, each model's circuit, the emergent
    heads in rank order) and a heat map PNG next to it; interventions take the file directly
    (interventions=zero:@heads.json#5). See docs/discover.md.
    """
    from harness_ext.discovery import run_discover as run

    return run(args)


def configure_discover(parser: argparse.ArgumentParser) -> None:
    from harness_ext.discovery import configure_discover as configure

    configure(parser)


COMMANDS: dict[str, Command] = {
    "eval": Command(run_eval, passthrough=True),
    "tasks": Command(run_tasks),
    "model": Command(run_model),
    "plugins": Command(run_plugins),
    "fold": Command(run_fold, configure_fold),
    "report": Command(run_report, configure_report),
    "regress": Command(run_regress, configure_regress),
    "discover": Command(run_discover, configure_discover),
}


def build_parser() -> argparse.ArgumentParser:
    """The ``sparks`` argument parser, one subparser per command (help from docstrings)."""
    parser = argparse.ArgumentParser(
        prog="sparks",
        description="Study the attention heads that make language models reason, on lm-eval.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, command in COMMANDS.items():
        doc = (command.run.__doc__ or "").strip()
        summary = (doc.splitlines() or [""])[0]
        child = sub.add_parser(name, help=summary, description=doc,
                               formatter_class=argparse.RawDescriptionHelpFormatter,
                               add_help=not command.passthrough)
        if command.configure is not None:
            command.configure(child)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``sparks`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if argv and argv[0] in COMMANDS and COMMANDS[argv[0]].passthrough:
        args, rest = parser.parse_args(argv[:1]), argv[1:]
    else:
        args, rest = parser.parse_args(argv), []
    try:
        return COMMANDS[args.command].run(args, rest)
    except SparksError as error:
        print(f"sparks: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
