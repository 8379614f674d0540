"""The ``sparks`` command line. Each subcommand is one small function; heavy imports stay inside."""

from __future__ import annotations

import argparse
import sys
from typing import Callable, Sequence

from harness_ext.errors import SparksError

Handler = Callable[[argparse.Namespace, list[str]], int]


def cmd_eval(args: argparse.Namespace, rest: list[str]) -> int:
    """Run lm-eval with the sparks model (``--model sparks`` unless you pass another)."""
    from lm_eval.__main__ import cli_evaluate

    argv = list(rest)
    if "--model" not in argv and not any(arg.startswith("--model=") for arg in argv):
        argv = ["--model", "sparks", *argv]
    sys.argv = ["lm_eval", *argv]
    cli_evaluate()
    return 0


def cmd_model(args: argparse.Namespace, rest: list[str]) -> int:
    """Prepare the embedded model (SmolLM2-135M-Instruct) and print its folder."""
    from harness_ext.embedded import embedded_model_path

    print(embedded_model_path())
    return 0


def cmd_tasks(args: argparse.Namespace, rest: list[str]) -> int:
    """List the sparks tasks and groups that lm-eval sees."""
    from lm_eval.tasks import TaskManager

    from harness_ext.lm_eval_bridge import tasks_dir

    manager = TaskManager(include_path=str(tasks_dir()), include_defaults=False)
    for name in manager.all_tasks:
        print(name)
    return 0


COMMANDS: dict[str, Handler] = {"eval": cmd_eval, "model": cmd_model, "tasks": cmd_tasks}
PASSTHROUGH = {"eval"}  # these take the rest of the command line as they are


def build_parser() -> argparse.ArgumentParser:
    """The ``sparks`` argument parser, one subparser per command (help from docstrings)."""
    parser = argparse.ArgumentParser(
        prog="sparks",
        description="Study the attention heads that make language models reason, on lm-eval.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, handler in COMMANDS.items():
        summary = ((handler.__doc__ or "").strip().splitlines() or [""])[0]
        sub.add_parser(name, help=summary, description=summary,
                       add_help=name not in PASSTHROUGH)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``sparks`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if argv and argv[0] in PASSTHROUGH:
        args, rest = parser.parse_args(argv[:1]), argv[1:]
    else:
        args, rest = parser.parse_args(argv), []
    try:
        return COMMANDS[args.command](args, rest)
    except SparksError as error:
        print(f"sparks: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
