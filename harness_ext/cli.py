"""The ``sparks`` command line. Each subcommand is one small function; heavy imports stay inside.

A command is a ``run(args, rest) -> exit status`` function whose docstring is its help (the
first line in ``sparks --help``, the whole in ``sparks NAME --help``; nothing else describes a
command), plus an optional ``configure(parser)`` that declares its flags and their help.
Pass-through commands (``eval``) hand everything after their name to another program. The
``sparks --help`` block in README.md and the ``sparks regress --help`` block in
docs/reports.md are this help, checked by tests/cli/test_cli.py (rewritten by
:func:`write_help_docs`).
"""

from __future__ import annotations

import argparse
import inspect
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from harness_ext.errors import SparksError, install_excepthook, sparks_error_in

JSON_EXAMPLES = {
    "--metadata": ('{"repeats": 4}', "repeats=4"),
    None: ('{"key": "value"}', "key=value"),
}
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

    Every lm_eval flag works. ``--backend vllm`` runs ``--model sparks-vllm`` (from .venv-vllm
    when this environment has no vLLM; docs/vllm.md). Interventions can also be given as
    flags, which are added to ``--model_args`` as one ``interventions=`` spec:

      --ablate L12H3 [L14H7 ...]   zero these heads (``L12`` = all heads of layer 12)
      --boost L20H1=1.3 [...]      scale a head's output by a factor (0.5 damps)
      --interventions SPEC         any spec, e.g. 'mean:L3H1;noise:L4H2:0.1'
    """
    if any(arg in ("-h", "--help") for arg in rest):
        eval_parser().print_help()
        return 0
    check_json_flags(rest)
    backend, rest = pop_backend(rest)
    argv = with_intervention_flags(rest)
    if "--model" not in argv and not any(arg.startswith("--model=") for arg in argv):
        argv = ["--model", BACKEND_MODELS[backend], *argv]
    from harness_ext.preflight import check_eval_args

    check_eval_args(argv)  # the spec, paths and sparks' task names, before lm-eval loads
    if backend == "vllm":
        vllm_lm_eval(argv)  # returns only when this interpreter has vLLM
    from lm_eval.__main__ import cli_evaluate

    sys.argv = ["lm_eval", *argv]
    try:
        cli_evaluate()
    except ValueError as error:  # lm-eval's own task check: one line, as sparks' errors are
        if str(error).startswith("Tasks not found"):
            raise SparksError(f"{error}; `sparks tasks` and `lm_eval ls tasks` list them") from None
        raise
    return 0


BACKEND_MODELS = {"transformers": "sparks", "vllm": "sparks-vllm"}


def pop_backend(argv: list[str]) -> tuple[str, list[str]]:
    """``--backend transformers|vllm`` (default transformers) taken out of ``argv``."""
    backend, kept, args = "transformers", [], iter(argv)
    for arg in args:
        if arg == "--backend" or arg.startswith("--backend="):
            value = arg.partition("=")[2] if "=" in arg else next(args, "")
            if value not in BACKEND_MODELS:
                raise SparksError(f"--backend {value!r} is not one of {', '.join(BACKEND_MODELS)}")
            backend = value
        else:
            kept.append(arg)
    return backend, kept


def vllm_lm_eval(argv: list[str]) -> None:
    """Run lm_eval from the vLLM environment (.venv-vllm) unless this interpreter has vLLM."""
    import os

    from harness_ext.vllm_env import vllm_lm_eval as program

    found = program("--backend vllm")
    if found is not None:
        os.execv(str(found), [str(found), *argv])


def add_intervention_flags(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """Declare ``--ablate``, ``--boost`` and ``--interventions`` (help and parsing alike)."""
    parser.add_argument(
        "--ablate",
        nargs="+",
        action="extend",
        default=[],
        metavar="HEAD",
        help="zero these heads' outputs: L12H3, or L12 for every head of layer 12",
    )
    parser.add_argument(
        "--boost",
        nargs="+",
        action="extend",
        default=[],
        metavar="HEAD=FACTOR",
        help="scale a head's output by FACTOR: L20H1=1.3 boosts, L20H1=0.5 damps",
    )
    parser.add_argument(
        "--interventions",
        action="append",
        default=[],
        metavar="SPEC",
        help="any intervention spec, e.g. 'mean:L3H1;noise:L4H2:0.1'",
    )


def eval_parser() -> argparse.ArgumentParser:
    """lm-eval's own ``run`` parser, as ``sparks eval``, with the intervention flags added."""
    from lm_eval._cli.run import Run

    holder = argparse.ArgumentParser(prog="sparks").add_subparsers()
    Run.create(holder)
    parser = holder.choices["run"]
    parser.prog = "sparks eval"
    parser.usage = (
        "sparks eval --tasks <task> [--backend transformers|vllm] [--model_args <arg=value> ...] "
        "[--ablate HEAD ...] [--boost HEAD=FACTOR ...] [--interventions SPEC] "
        "[lm_eval options]"
    )
    parser.description = (
        "lm_eval with --model sparks filled in (pass --model to choose "
        "another). Every lm_eval option below works."
    )
    add_intervention_flags(
        parser.add_argument_group(
            "sparks interventions (added to --model_args as one interventions=SPEC)"
        )
    )
    parser.add_argument(
        "--backend",
        choices=list(BACKEND_MODELS),
        default="transformers",
        help="transformers (--model sparks, default) or vllm (--model sparks-vllm, from "
        ".venv-vllm when needed; docs/vllm.md)",
    )
    return parser


def check_json_flags(argv: list[str]) -> None:
    """A JSON value of a ``key=value``-or-JSON flag (``--metadata``, ``--model_args``, ...)
    that does not parse fails here, in one line naming the JSON problem.

    lm-eval reads the flag's first value as JSON when it holds ``{`` and stops with a
    traceback ("Invalid JSON") when it does not parse.
    """
    flags = json_flags()
    for index, arg in enumerate(argv):
        flag, equals, value = arg.partition("=")
        if flag not in flags:
            continue
        if not equals:
            if index + 1 >= len(argv):
                continue
            value = argv[index + 1]
        if "{" not in value:
            continue
        try:
            json.loads(value)
        except json.JSONDecodeError as error:
            as_json, as_pairs = JSON_EXAMPLES.get(flag, JSON_EXAMPLES[None])
            raise SparksError(
                f"{flag} {value!r} is not valid JSON: {error.msg} at character {error.pos + 1}. "
                f"Write a JSON object with double-quoted keys and strings, e.g. {flag} "
                f"'{as_json}', or key=value pairs: {flag} {as_pairs}"
            ) from None


def json_flags() -> set[str]:
    """lm-eval's options that take ``key=value`` pairs or one JSON object."""
    from lm_eval._cli.utils import MergeDictAction

    return {
        option
        for action in eval_parser()._actions
        if isinstance(action, MergeDictAction)
        for option in action.option_strings
    }


def with_intervention_flags(argv: list[str]) -> list[str]:
    """Turn ``--ablate/--boost/--interventions`` into ``--model_args interventions=...``.

    ``--model_args`` keeps lm-eval's forms: ``a=1,b=2``, ``a=1 b=2`` (several words) and a
    JSON object, given once or several times (lm-eval merges them).
    """
    # allow_abbrev=False: lm-eval's --model must not be read as an abbreviated --model_args
    parser = argparse.ArgumentParser(prog="sparks eval", add_help=False, allow_abbrev=False)
    add_intervention_flags(parser)
    parser.add_argument("--model_args", "-a", nargs="+", action="append", default=[])
    known, others = parser.parse_known_args(argv)
    parts = list(known.interventions)
    if known.ablate:
        parts.append("zero:" + "+".join(known.ablate))
    for boost in known.boost:
        head, equals, factor = boost.partition("=")
        if not equals or not head or not factor:
            raise SparksError(f"--boost {boost!r}: expected HEAD=FACTOR, e.g. --boost L20H1=1.3")
        parts.append(f"scale:{head}:{factor}")
    groups = [list(values) for values in known.model_args]
    if parts:
        if any(_sets_interventions(values) for values in groups):
            raise SparksError(
                "interventions are given both in --model_args and as flags; use one of the two."
            )
        _add_model_arg(groups, f"interventions={';'.join(parts)}")
    return [*others, *(arg for values in groups for arg in ("--model_args", *values))]


def _add_model_arg(groups: list[list[str]], pair: str) -> None:
    """Add ``key=value`` to the last ``key=value`` word, or as a ``--model_args`` of its own."""
    if groups and not _is_json(groups[-1][0]):
        groups[-1][-1] = f"{groups[-1][-1]},{pair}"
    else:
        groups.append([pair])


def _sets_interventions(values: list[str]) -> bool:
    """Whether one ``--model_args`` occurrence sets ``interventions`` (read as lm-eval does)."""
    from harness_ext.model_args import parse_model_args_words

    try:
        return "interventions" in parse_model_args_words(values)
    except SparksError:  # invalid JSON: check_json_flags has reported it already
        return False


def _is_json(value: str) -> bool:
    return value.lstrip().startswith("{")


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
            console.print(
                f"  labeler [cyan]{labeler.name}[/]: {labeler.doc.splitlines()[0] if labeler.doc else ''}"
            )
    return 0


def configure_fold(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model", default=None, help="Hub id or local folder (default: the embedded model)"
    )
    parser.add_argument(
        "--interventions",
        required=True,
        help="a foldable spec (zero/scale), e.g. 'zero:L12H3+L14H7;scale:L20H1:1.3'",
    )
    parser.add_argument("-o", "--output", required=True, help="folder to write")
    parser.add_argument("--dtype", default="auto", help="dtype to load and save (default: auto)")


def run_fold(args: argparse.Namespace, rest: list[str]) -> int:
    """Write a checkpoint with static interventions folded into o_proj's weights.

    Any engine (vLLM, lm-eval --model vllm or hf, plain transformers) then runs the
    intervened model at full speed; the folder's sparks_interventions.json records the spec.
    """
    from harness_ext.preflight import check_interventions, model_config

    check_interventions(args.interventions, model_config(args.model))  # before torch loads
    from harness_ext.interventions import fold_checkpoint

    model = args.model
    if model is None:
        from harness_ext.embedded import embedded_model_path

        model = str(embedded_model_path())
    print(fold_checkpoint(model, args.interventions, args.output, dtype=args.dtype))
    return 0


def run_report(args: argparse.Namespace, rest: list[str]) -> int:
    """Compare lm-eval runs per task and difficulty tier, with failure labels.

    Each RUN is an lm-eval output folder (--output_path of a run with --log_samples) or its
    results_*.json, optionally named: NAME=PATH. The report pairs problems across runs and
    gives accuracy per task and difficulty tier, paired deltas with 95% intervals and
    significance tests (McNemar / paired bootstrap), a failure label (with evidence) for
    every wrong response and the problems that flipped, in report.md, report.html and
    report.json (-o DIR). --fail-on-regression exits 1 when a task or tier of a candidate is
    significantly worse than --baseline.
    """
    from harness_ext.reports.command import run_report as run

    return run(args)


def configure_report(parser: argparse.ArgumentParser) -> None:
    from harness_ext.reports.command import configure_report as configure

    configure(parser)


def run_regress(args: argparse.Namespace, rest: list[str]) -> int:
    """Run a regression spec (model, tasks, runs) through lm-eval, then report on it.

    SPEC.yaml names the model, tasks, limits, generation settings and the runs (a baseline
    and intervention sets). The spec, sparks' task names, its paths and each run's heads
    (against the model's config.json) are checked before lm-eval loads. Finished runs are
    reused unless --rerun; while the others run, each run's state, progress and log are
    shown. The report of `sparks report` then compares every run with the baseline. See
    docs/reports.md.
    """
    from harness_ext.preflight import check_regress_spec
    from harness_ext.reports.regress_spec import load_spec

    check_regress_spec(load_spec(args.spec))  # before lm-eval or torch loads
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
        description="Study the attention heads that make language models reason, on lm-eval.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, command in COMMANDS.items():
        doc = inspect.cleandoc(command.run.__doc__ or "")
        summary = (doc.splitlines() or [""])[0]
        child = sub.add_parser(
            name,
            help=summary,
            description=doc,
            formatter_class=argparse.RawDescriptionHelpFormatter,
            add_help=not command.passthrough,
        )
        if command.configure is not None:
            command.configure(child)
    return parser


# where the command line's help is quoted in the docs: a marker, then a code block
HELP_BLOCK = re.compile(r"<!-- help: (?P<argv>[^>]*?) -->\n```\n(?P<body>.*?)```\n", re.S)
HELP_WIDTH = "100"  # the docs' blocks are rendered at this many columns
DOCS_WITH_HELP = ("README.md", "docs/reports.md")


def help_text(argv: Sequence[str]) -> str:
    """What ``sparks ARGV`` (ending in ``--help``) prints, at the docs' width."""
    import contextlib
    import io
    import os

    saved = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = HELP_WIDTH  # argparse reads the width from COLUMNS
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
            build_parser().parse_args(list(argv))
    finally:
        if saved is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = saved
    return out.getvalue()


def help_docs(root: Path) -> dict[Path, str]:
    """Each file of :data:`DOCS_WITH_HELP` under ``root`` with its help blocks regenerated."""
    found = {}
    for name in DOCS_WITH_HELP:
        path = root / name
        text = path.read_text(encoding="utf-8")
        found[path] = HELP_BLOCK.sub(
            lambda block: (
                f"<!-- help: {block['argv']} -->\n```\n{help_text(block['argv'].split()[1:])}```\n"
            ),
            text,
        )
    return found


def write_help_docs(root: Path | None = None) -> None:
    """Rewrite the help blocks of the docs (for maintainers, after changing a command's help)."""
    for path, text in help_docs(root or Path(__file__).resolve().parents[1]).items():
        path.write_text(text, encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``sparks`` console script."""
    install_excepthook()  # a SparksError raised outside the try below is one line too
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if argv and argv[0] in COMMANDS and COMMANDS[argv[0]].passthrough:
        args, rest = parser.parse_args(argv[:1]), argv[1:]
    else:
        args, rest = parser.parse_args(argv), []
    try:
        return COMMANDS[args.command].run(args, rest)
    except KeyboardInterrupt:
        print("sparks: interrupted", file=sys.stderr)
        return 130  # 128 + SIGINT, as shells report it
    except Exception as error:
        ours = sparks_error_in(error)
        if ours is None:
            raise
        print(f"sparks: error: {ours}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
