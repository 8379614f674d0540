"""``sparks discover``: find the attention heads that post-training added (head attribution).

For each problem, the post-trained model's own greedy opening of its response is the clean
input and the base model's opening of the same problem is the corrupted one (without a base:
the next problem's opening, after the same prompt). Each head's importance is the sum over
problems of its absolute score (``--method``: fisher by default, eap-ig, ablation; see
:mod:`harness_ext.discovery.attribution`); each model's circuit is its top heads, or the fewest
carrying a share of its importance (:mod:`harness_ext.discovery.circuits`); emergent heads are
in the post circuit and not in the base circuit. ``--compare-thinking`` pairs one model with
itself, thinking on against thinking off (:mod:`harness_ext.discovery.thinking`);
``--checkpoints`` runs a series and sets its circuit changes against the training reward
(:mod:`harness_ext.discovery.series`, :mod:`harness_ext.discovery.rewards`). This module runs
the command: checks, models, :func:`discover_heads` per model, heads.json. The flags are in
:mod:`harness_ext.discovery.flags`, loading in :mod:`harness_ext.discovery.loading`. Details and
the ``heads.json`` schema: docs/discover.md. torch is imported inside functions.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from harness_ext.discovery.engine import CORRUPT_MODES, Attribution, Discovery, discover_heads
from harness_ext.discovery.flags import configure_discover
from harness_ext.discovery.loading import (
    TASK_LOADERS,
    check_device,
    eos_ids,
    load_model,
    load_task_rows,
    load_tokenizer,
)
from harness_ext.discovery.prompts import Problem, prompt_ids
from harness_ext.discovery.summary import print_summary
from harness_ext.errors import SparksError
from harness_ext.progress import Phases

if TYPE_CHECKING:
    from transformers import PreTrainedModel

    from harness_ext.discovery.circuits import CircuitRule
    from harness_ext.discovery.rewards import CheckpointRewards
    from harness_ext.discovery.samples import LoggedResponse

__all__ = [
    "CORRUPT_MODES",
    "TASK_LOADERS",
    "Attribution",
    "Discovery",
    "Problem",
    "check_device",
    "configure_discover",
    "discover_heads",
    "load_model",
    "load_task_rows",
    "load_tokenizer",
    "prompt_ids",
    "run_discover",
]

Rows = list[tuple[str, dict[str, Any]]]  # (task, doc) per problem
Loaded = tuple[str, "PreTrainedModel", Any]  # (name, model, tokenizer)


def run_discover(args: argparse.Namespace) -> int:
    """Find emergent heads: EAP-IG importance per head in POST (and BASE), written to heads.json
    with a heat map beside it; with ``--checkpoints``, for each checkpoint, plus a plot of the
    heads appearing and disappearing against the reward; with ``--compare-thinking``, POST with
    thinking on against itself with thinking off. Use the result with
    interventions=zero:@heads.json#5."""
    from harness_ext.discovery.checks import check_args, check_models
    from harness_ext.discovery.heads_file import write_heatmap, write_json
    from harness_ext.discovery.series import series_plot_path, write_series_plot

    check_args(args)
    output = Path(args.output)
    _check_outputs(args, output)
    device = check_device(args.device)
    rows, logged = _problem_rows(args)  # data errors before any model work
    check_models(args)  # every model's config, and one architecture, before any weights
    rewards = _series_rewards(args)  # and so are a series' step and reward errors
    log = lambda message: print(f"sparks discover: {message}", file=sys.stderr)  # noqa: E731
    with Phases() as progress:
        if args.compare_thinking:
            result = _discover_thinking(args, rows, device, log, progress)
        else:
            result = _discover_models(args, rows, logged, rewards, device, log, progress)
    plots = [output.with_suffix(".png"), *([series_plot_path(output)] if args.checkpoints else [])]
    write_json(result, output)
    drawn = write_heatmap(result, plots[0])
    if args.checkpoints and drawn:
        drawn = write_series_plot(result, plots[1])
    if not drawn:
        log("matplotlib is not installed: no plots (pip install matplotlib)")
    print_summary(result, output, plots if drawn else [])
    return 0


def _discover_models(
    args: argparse.Namespace,
    rows: Rows,
    logged: list[LoggedResponse] | None,
    rewards: CheckpointRewards | None,
    device: str,
    log: Callable[[str], None],
    progress: Phases,
) -> dict[str, Any]:
    """POST, or each of ``--checkpoints``, against BASE. A series' file has the last
    checkpoint's heads at the top (zero:@heads.json#5 uses them) and the series entries."""
    posts = args.checkpoints or [args.model]
    results, names = [], []
    known: dict[str, list[list[int]]] = {}  # BASE's openings: generated once for a whole series
    loading = progress.phase(f"loading the base model {args.base}", total=1) if args.base else None
    base = load_model(args.base, args.dtype, device) if args.base else None
    if loading is not None:
        loading()
    models = progress.phase("models", total=len(posts)) if len(posts) > 1 else None
    for index, name in enumerate(posts):
        post_name, result = _discover_one(
            args, name, base, rows, logged, known, device, log, progress
        )
        results.append(result)
        names.append(post_name)
        if models is not None:
            models(description=f"checkpoints: {index + 1}/{len(posts)} done ({post_name})")
    if not args.checkpoints:
        return results[0]
    from harness_ext.discovery.series import build_series

    return {
        **results[-1],
        **build_series(names, results, rewards),
        "settings": {**results[-1]["settings"], "checkpoints": names},
    }


def _series_rewards(args: argparse.Namespace) -> CheckpointRewards | None:
    """Each checkpoint's step and reward (``--checkpoints`` only), read before any model."""
    if not args.checkpoints:
        return None
    from harness_ext.discovery.rewards import read_checkpoint_rewards

    rewards = read_checkpoint_rewards(
        args.checkpoints,
        Path(args.rewards) if args.rewards else None,
        args.reward_key,
        args.reward_window or "since-previous",
    )
    if rewards.source is None:
        print(
            "sparks discover: no rewards (no trainer_state.json logs one, no --rewards): the "
            "series records circuit changes only",
            file=sys.stderr,
        )
    return rewards


def _problem_rows(args: argparse.Namespace) -> tuple[Rows, list[LoggedResponse] | None]:
    """``(task, doc)`` rows, and the logged responses when ``--samples`` gives them."""
    if not args.samples:
        return load_task_rows(args.tasks, args.limit), None
    from harness_ext.discovery.samples import read_logged_responses

    logged = read_logged_responses(Path(args.samples), args.limit)
    return [(item.task, item.doc) for item in logged], logged


def _discover_one(
    args: argparse.Namespace,
    name: str | None,
    base: Loaded | None,
    rows: Rows,
    logged: list[LoggedResponse] | None,
    known: dict[str, list[list[int]]],
    device: str,
    log: Callable[[str], None],
    progress: Phases | None = None,
) -> tuple[str, dict[str, Any]]:
    """Load POST ``name`` and build its heads.json result against ``base`` (name, model,
    tokenizer); the model is freed on return, so a series holds one checkpoint at a time.
    ``known`` carries BASE's openings from one call to the next."""
    loading = (
        progress.phase(f"loading {name or 'the embedded model'}", total=1)
        if progress is not None
        else None
    )
    post_name, post, tokenizer = load_model(name, args.dtype, device)
    if loading is not None:
        loading()
    if base is not None and tokenizer.get_vocab() != base[2].get_vocab():
        raise SparksError(
            f"--base {args.base} has another tokenizer than {post_name}; "
            "discovery compares both models on the same tokens"
        )
    rule = _circuit_rule(args, post_name, post, base)  # before any attribution work
    problems = _problems(args, tokenizer, None if base is None else base[2], rows)
    given = dict(known)
    if logged is not None:
        given["post"] = [
            tokenizer(item.response, add_special_tokens=False)["input_ids"] for item in logged
        ]
    found = discover_heads(
        post,
        problems,
        _attribution(args),
        base=None if base is None else base[1],
        eos_ids=eos_ids(post, tokenizer),
        openings=given,
        log=log,
        progress=progress,
    )
    if base is not None:
        known["base"] = found.openings["base"]
    settings = _settings(args, post_name, None if base is None else base[0], rows, found, rule)
    return post_name, _result(args, found, rule, settings)


def _problems(
    args: argparse.Namespace,
    tokenizer: Any,
    base_tokenizer: Any,
    rows: Rows,
) -> list[Problem]:
    """The prompts of POST, and with ``--base-chat-template-args`` BASE's own."""
    from harness_ext.discovery.checks import template_args

    post_args = template_args(args.chat_template_args, "--chat-template-args")
    base_args = template_args(args.base_chat_template_args, "--base-chat-template-args")
    own = base_tokenizer is not None and base_args is not None
    return [
        Problem(
            row["problem_id"],
            tuple(prompt_ids(tokenizer, row, post_args)),
            tuple(prompt_ids(base_tokenizer, row, base_args)) if own else None,
        )
        for _, row in rows
    ]


def _discover_thinking(
    args: argparse.Namespace,
    rows: Rows,
    device: str,
    log: Callable[[str], None],
    progress: Phases,
) -> dict[str, Any]:
    """``--compare-thinking``: --model with thinking on (the post side) against itself with
    thinking off (the base side), each mode's corruption the other mode's opening."""
    from harness_ext.discovery.checks import template_args
    from harness_ext.discovery.thinking import ROLES, add_thinking, thinking_problems

    name, tokenizer = load_tokenizer(args.model)
    extra = template_args(args.chat_template_args, "--chat-template-args") or {}
    problems = thinking_problems(tokenizer, rows, extra, name)  # refused before the weights load
    loading = progress.phase(f"loading {name}", total=1)
    name, model, tokenizer = load_model(args.model, args.dtype, device)
    loading()
    rule = _circuit_rule(args, name, model, None)
    found = discover_heads(
        model,
        problems,
        _attribution(args),
        base=model,
        eos_ids=eos_ids(model, tokenizer),
        log=log,
        progress=progress,
    )
    settings = {
        **_settings(args, f"{name} (thinking on)", f"{name} (thinking off)", rows, found, rule),
        "compare": "thinking",
        "roles": ROLES,
    }
    return add_thinking(_result(args, found, rule, settings))


def _attribution(args: argparse.Namespace) -> Attribution:
    """The attribution settings of the flags (``--method`` resolved: eap-ig with ``--edges``)."""
    return Attribution(
        opening_tokens=args.opening_tokens,
        ig_steps=args.ig_steps,
        corrupt=args.corrupt,
        method=args.method or ("eap-ig" if args.edges else "fisher"),
        batch_size=args.batch_size,
        edges=args.edges,
        ig_over=args.ig_over,
        position_abs=args.position_abs,
        gradient_checkpointing=args.gradient_checkpointing,
    )


def _result(
    args: argparse.Namespace, found: Discovery, rule: CircuitRule, settings: dict[str, Any]
) -> dict[str, Any]:
    """The heads.json object of one attribution (with the top edges for ``--edges``)."""
    from harness_ext.discovery.heads_file import build_result, edge_summary

    edges = {"post": found.edges_post, "base": found.edges_base} if args.edges else None
    result = build_result(found.importance_post, found.importance_base, rule, settings, edges)
    if args.bootstrap:
        from harness_ext.discovery.stability import add_stability

        add_stability(result, found.per_problem_post, found.per_problem_base, rule, args.bootstrap)
    if args.edges:
        if found.edges_post is None:
            raise AssertionError("--edges ran without edge scores")
        result["edges"] = edge_summary(
            found.edges_post, found.edges_base, args.top_edges, args.edge_threshold
        )
    return result


def _check_outputs(args: argparse.Namespace, output: Path) -> None:
    """Every file ``run_discover`` writes can be written: refused now, not after the work."""
    from harness_ext.discovery.series import series_plot_path
    from harness_ext.output_check import check_writable

    check_writable(output, "the heads file (-o)")
    check_writable(output.with_suffix(".png"), "the heat map beside the heads file")
    if args.checkpoints:
        check_writable(series_plot_path(output), "the checkpoint plot beside the heads file")


def _circuit_rule(
    args: argparse.Namespace, post_name: str, post: PreTrainedModel, base: Loaded | None
) -> CircuitRule:
    """The circuit definition for ``post`` (a size checked against its head count; BASE's
    shape checked against POST's)."""
    from harness_ext.discovery.checks import circuit_choice
    from harness_ext.discovery.circuits import CircuitRule
    from harness_ext.discovery.heads_file import circuit_size
    from harness_ext.formats.arch import get_arch

    shape = get_arch(post.config).shape(post.config)
    if base is not None:
        kinds = (post.config.model_type, base[1].config.model_type)
        if kinds[0] != kinds[1]:
            raise SparksError(
                f"--base {base[0]} is a {kinds[1]} model and {post_name} a {kinds[0]} model; "
                "discovery compares the same heads in models of one architecture"
            )
        base_shape = get_arch(base[1].config).shape(base[1].config)
        if (base_shape.n_layers, base_shape.n_heads) != (shape.n_layers, shape.n_heads):
            raise SparksError(
                f"--base {base[0]} has {base_shape} but {post_name} has {shape}; "
                "discovery compares the same heads in both models"
            )
    kind, value = circuit_choice(args)
    if kind == "mass":
        return CircuitRule("mass", mass=value)
    if kind == "edges":
        return CircuitRule("edges", top_edges=args.top_edges, edge_threshold=args.edge_threshold)
    n_total = shape.n_layers * shape.n_heads
    if value >= 1 and value > n_total:
        raise SparksError(
            f"--circuit-size {value:g} is more than the {n_total} heads of {post_name} "
            f"({shape}); give at most {n_total}, or a share such as 0.1"
        )
    return CircuitRule("size", size=circuit_size(value, n_total))


def _settings(
    args: argparse.Namespace,
    post_name: str,
    base_name: str | None,
    rows: Rows,
    found: Discovery,
    rule: CircuitRule,
) -> dict[str, Any]:
    """``settings`` of heads.json: what ran, on what, with which versions."""
    import torch
    import transformers

    from harness_ext import __version__
    from harness_ext.discovery.checks import template_args

    return {
        "model_post": post_name,
        "model_base": base_name,
        "tasks": ",".join(dict.fromkeys(task for task, _ in rows)),
        "limit": args.limit,
        "problem_ids": found.problem_ids,
        "skipped": found.skipped,
        "opening_tokens": args.opening_tokens,
        "opening_lengths": found.opening_lengths,
        "ig_steps": args.ig_steps,
        "batch_size": args.batch_size,
        "gradient_checkpointing": args.gradient_checkpointing,
        "ig_over": args.ig_over if found.method == "eap-ig" else None,
        "position_abs": args.position_abs if found.method == "eap-ig" else None,
        "method": found.method,  # what ran: the --method default resolved
        "level": "edges" if args.edges else "heads",
        "openings": f"post: read from {args.samples}" if args.samples else "generated (greedy)",
        "corrupt": found.corrupt,
        "circuit": rule.describe(),
        "circuit_size": rule.size if rule.kind == "size" else None,
        "chat_template_args": template_args(args.chat_template_args, "--chat-template-args"),
        "base_chat_template_args": template_args(
            args.base_chat_template_args, "--base-chat-template-args"
        ),
        "metric": "KL(clean || patched), next-token distributions at the opening's positions",
        "dtype": args.dtype,
        "versions": {
            "sparks": __version__,
            "torch": torch.__version__,
            "transformers": transformers.__version__,
        },
    }
