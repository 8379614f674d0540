"""``sparks discover``: find the attention heads that post-training added (head attribution).

For each problem, the post-trained model's own greedy opening of its response is the clean
input and the base model's opening of the same problem is the corrupted one (without a base:
the next problem's opening, after the same prompt). Each head's importance is the sum over
problems of its absolute score (``--method``: fisher by default, eap-ig, ablation; see :mod:`harness_ext.discovery.attribution`); each model's
circuit is its top heads, or the fewest carrying a share of its importance
(:mod:`harness_ext.discovery.circuits`); emergent heads are in the post circuit and not in the
base circuit. ``--compare-thinking`` pairs one model with itself, thinking on against thinking
off (:mod:`harness_ext.discovery.thinking`); ``--checkpoints`` runs a series and sets its
circuit changes against the training reward (:mod:`harness_ext.discovery.series`,
:mod:`harness_ext.discovery.rewards`). Details and the ``heads.json`` schema: docs/discover.md.
torch is imported inside functions.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

from harness_ext.discovery.prompts import Problem, prompt_ids
from harness_ext.errors import SparksError
from harness_ext.progress import Phases

if TYPE_CHECKING:
    from transformers import PreTrainedModel

    from harness_ext.discovery.circuits import CircuitRule
    from harness_ext.discovery.rewards import CheckpointRewards

__all__ = [
    "CORRUPT_MODES",
    "Attribution",
    "Problem",
    "check_device",
    "configure_discover",
    "discover_heads",
    "run_discover",
]

CORRUPT_MODES = ("auto", "base", "next", "zeros")
TASK_LOADERS = {  # task (or group) name -> loader names in harness_ext.tasks.data
    "amc_sparks": ("load_amc",),
    "aime24_sparks": ("load_aime24",),
    "aime25_sparks": ("load_aime25",),
    "math500_sparks": ("load_math500",),
    "aime_sparks": ("load_aime24", "load_aime25"),
    "sparks": ("load_aime24", "load_aime25", "load_amc", "load_math500"),
}


@dataclass(frozen=True)
class Attribution:
    """How heads are scored: the flags of ``sparks discover`` that shape the attribution."""

    opening_tokens: int = 32
    ig_steps: int = 5  # IG steps, or samples with method="fisher"
    corrupt: str = "auto"
    method: str = "fisher"  # the most faithful to brute force that meets the goal (docs)
    batch_size: int | None = None  # IG steps (or samples) per pass; None: all at once
    edges: bool = False


def discover_heads(
    post: PreTrainedModel,
    problems: Sequence[Problem],
    how: Attribution = Attribution(),
    *,
    base: PreTrainedModel | None = None,
    eos_ids: Sequence[int] = (),
    openings: Mapping[str, Sequence[Sequence[int]]] | None = None,
    log: Callable[[str], None] = lambda message: None,
    progress: Phases | None = None,
) -> dict[str, Any]:
    """Importance of every head of ``post`` (and of ``base``), summed over ``problems``.

    Returns ``{"importance_post": [[...]], "importance_base": [[...]] | None,
    "problem_ids": [...], "skipped": [...], "opening_lengths": [...]}``. In ``how``: ``corrupt`` is
    ``base`` (the other model's opening), ``next`` (the same model's opening of the next
    problem, cyclically), ``zeros`` (zero-ablated heads as the baseline) or ``auto`` (``base``
    with a base model, else ``next``). Openings are truncated to the shorter of each pair.
    ``method`` is ``eap-ig`` (the paper's) or ``fisher`` (``ig_steps`` then counts samples);
    ``batch_size`` IG steps (or samples) go through the model at a time (default: all).
    With ``edges`` (EAP-IG only), scores are per edge (head -> later attention, MLP, logits;
    :func:`harness_ext.discovery.attribution.edge_attribute`), summed in absolute value over problems
    (``edges_post``, ``edges_base``), and a head's importance is the sum of its absolute edge
    scores, as in the paper. ``openings`` maps ``post`` / ``base`` to openings (token ids, one
    per problem) to use instead of generating them, e.g. POST's responses read from lm-eval
    samples, or BASE's from an earlier checkpoint; ``found["openings"]`` returns those used.
    ``progress`` shows a bar (with an ETA) per model for the openings and for the attribution.
    Each model gets its side's prompt (:meth:`Problem.prompt`); ``base`` may be ``post`` itself
    with other prompts (thinking off).
    """
    from harness_ext.discovery.attribution import (
        METHODS,
        ablation_attribute,
        attribute,
        edge_attribute,
        fisher_attribute,
        greedy_opening,
    )

    method, edges, opening_tokens = how.method, how.edges, how.opening_tokens
    if method not in METHODS:
        raise SparksError(f"--method {method!r}: choose one of {', '.join(METHODS)}")
    if edges and method != "eap-ig":
        raise SparksError("--edges works with --method eap-ig (edge scores are EAP-IG's)")
    methods = {"eap-ig": attribute, "fisher": fisher_attribute, "ablation": ablation_attribute}
    score = edge_attribute if edges else methods[method]

    mode = _corrupt_mode(how.corrupt, base is not None, len(problems))
    models = {"post": post, **({"base": base} if base is not None else {})}
    given = dict(openings or {})
    if any(len(value) != len(problems) for value in given.values()):
        raise ValueError("given openings need one opening per problem")
    phases = progress or Phases(enabled=False)
    openings = {}
    for name, model in models.items():
        if name in given:
            openings[name] = [list(o)[:opening_tokens] for o in given[name]]
            continue
        advance = phases.phase(f"{name}: generating openings", total=len(problems))
        openings[name] = []
        for p in problems:
            openings[name].append(greedy_opening(model, p.prompt(name), opening_tokens, eos_ids))
            advance()
    totals = {name: None for name in models}
    per_problem: dict[str, list] = {name: [] for name in models}  # for --bootstrap
    used, skipped, lengths = [], [], []
    attributed = phases.phase(
        f"attributing ({method}, {' and '.join(models)})", total=len(problems)
    )
    for i, problem in enumerate(problems):
        pairs = {name: _pair(openings, name, i, mode) for name in models}
        n = min(len(clean) for clean, _ in pairs.values())
        if n == 0:
            skipped.append(problem.problem_id)
            log(f"skipped {problem.problem_id}: an opening is empty (the model ended at once)")
            attributed()
            continue
        for name, (clean, other) in pairs.items():
            scores = score(
                models[name], problem.prompt(name), clean, other, how.ig_steps, how.batch_size
            ).abs()
            totals[name] = scores if totals[name] is None else totals[name] + scores
            per_problem[name].append((scores.sum(dim=-1) if edges else scores).tolist())
        used.append(problem.problem_id)
        lengths.append(n)
        attributed()
        if progress is None:
            log(f"attributed {problem.problem_id} ({i + 1}/{len(problems)}, {n} opening tokens)")
    if not used:
        raise SparksError(
            "every problem was skipped (empty openings); raise --opening-tokens "
            "or use other problems"
        )
    as_list = lambda t: None if t is None else t.tolist()  # noqa: E731
    importance = {name: (t.sum(dim=-1) if edges else t) for name, t in totals.items()}
    found = {
        "importance_post": as_list(importance["post"]),
        "importance_base": as_list(importance.get("base")),
        "problem_ids": used,
        "skipped": skipped,
        "opening_lengths": lengths,
        "corrupt": mode,
        "method": method,
        "openings": openings,
        "per_problem_post": per_problem["post"],
        "per_problem_base": per_problem.get("base"),
    }
    if edges:
        found.update(edges_post=totals["post"], edges_base=totals.get("base"))
    return found


def _pair(
    openings: dict[str, list[list[int]]], name: str, i: int, mode: str
) -> tuple[list[int], list[int] | None]:
    """Model ``name``'s clean and corrupted openings of problem ``i``, truncated to one length."""
    own = openings[name][i]
    if mode == "zeros":
        return own, None
    if mode == "base":
        other = openings["base" if name == "post" else "post"][i]
    else:  # next: the same model's opening of the next problem, cyclically
        other = openings[name][(i + 1) % len(openings[name])]
    n = min(len(own), len(other))
    return own[:n], other[:n]


def _corrupt_mode(corrupt: str, has_base: bool, n_problems: int) -> str:
    if corrupt not in CORRUPT_MODES:
        raise SparksError(f"--corrupt {corrupt!r}: choose one of {', '.join(CORRUPT_MODES)}")
    mode = corrupt if corrupt != "auto" else ("base" if has_base else "next")
    if mode == "base" and not has_base:
        raise SparksError("--corrupt base needs --base BASE; or use --corrupt next or zeros")
    if mode == "next" and n_problems < 2:
        raise SparksError(
            "--corrupt next needs at least 2 problems (raise --limit), or pass "
            "--base BASE, or use --corrupt zeros"
        )
    return mode


# ---------------------------------------------------------------- command line


def configure_discover(parser: argparse.ArgumentParser) -> None:
    """The flags of ``sparks discover``."""
    parser.add_argument(
        "--model",
        default=None,
        metavar="POST",
        help="post-trained model: Hub id or local folder (default: the embedded "
        "SmolLM2-135M-Instruct)",
    )
    parser.add_argument(
        "--checkpoints",
        nargs="+",
        default=None,
        metavar="CKPT",
        help="instead of --model: a series of checkpoints in training order, each "
        "against the same --base; adds which heads appear and disappear, "
        "their circuit change against the reward of each checkpoint "
        "(trainer_state.json or --rewards), and a plot (heads.checkpoints.png)",
    )
    parser.add_argument(
        "--base",
        default=None,
        metavar="BASE",
        help="base model (same tokenizer); without it no effect scores, and the "
        "corrupted input is the next problem's opening",
    )
    parser.add_argument(
        "--tasks",
        default="amc_sparks",
        help=f"comma-separated tasks or groups: {', '.join(TASK_LOADERS)} "
        "(_greedy variants accepted)",
    )
    parser.add_argument("--limit", type=int, default=8, help="problems per task (default 8)")
    parser.add_argument(
        "--samples",
        default=None,
        metavar="PATH",
        help="read POST's openings from an lm-eval samples file (or the output "
        "folder of a run with --log_samples) instead of generating them; "
        "the problems are that file's (--tasks is then ignored)",
    )
    parser.add_argument(
        "--opening-tokens", type=int, default=32, help="length of each greedy opening (default 32)"
    )
    parser.add_argument(
        "--ig-steps",
        type=int,
        default=5,
        help="samples of the Fisher estimate (the default method), or integrated-gradient "
        "steps with --method eap-ig (default 5)",
    )
    parser.add_argument(
        "--method",
        default=None,
        choices=("fisher", "eap-ig", "ablation"),
        help="fisher (default: second-order estimate of patching each head alone, the most "
        "faithful to brute force, see docs/discover.md), eap-ig (the paper's; the default "
        "with --edges) or ablation (the brute force: one forward pass per head, exact; for "
        "small models and as the reference)",
    )
    parser.add_argument(
        "--edges",
        action="store_true",
        help="edge-level EAP-IG (head -> later attention, MLP, logits): a head's "
        "importance is the sum of its absolute edge scores (the paper's), "
        "and heads.json lists the top edges",
    )
    parser.add_argument(
        "--top-edges",
        type=int,
        default=5000,
        help="with --edges: at most this many edges per model in heads.json "
        "(default 5000, the paper's n)",
    )
    parser.add_argument(
        "--edge-threshold",
        type=float,
        default=0.1,
        help="with --edges: keep edges scoring at least this share of the "
        "strongest (default 0.1, the paper's tau)",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=8,
        help="IG steps (or samples) per forward/backward pass; bounds memory (default 8)",
    )
    parser.add_argument(
        "--circuit-size",
        type=float,
        default=None,
        help="circuit = the top heads: a whole count (>= 1, at most the model's "
        "heads) or a share of all heads (default 0.1 = 10%%, except with "
        "--compare-thinking or --checkpoints: --circuit-mass 0.8)",
    )
    parser.add_argument(
        "--circuit-mass",
        type=float,
        default=None,
        metavar="SHARE",
        help="circuit = the fewest heads carrying this share of the model's total "
        "importance (0.8 = 80%%), so circuit sizes can differ",
    )
    parser.add_argument(
        "--circuit-edges",
        action="store_true",
        help="with --edges: circuit = the heads on the kept edges (--top-edges, --edge-threshold)",
    )
    parser.add_argument(
        "--compare-thinking",
        action="store_true",
        help="attribute --model twice, thinking on (as post) and off (as base), "
        "through the chat template's enable_thinking; the corrupted input of "
        "each mode is the other mode's opening",
    )
    parser.add_argument(
        "--chat-template-args",
        default=None,
        metavar="JSON",
        help="extra variables for POST's chat template, as a JSON object, e.g. "
        "'{\"enable_thinking\": false}'",
    )
    parser.add_argument(
        "--base-chat-template-args",
        default=None,
        metavar="JSON",
        help="BASE's prompts rendered with BASE's own chat template and these "
        "variables (without it, BASE gets POST's prompt tokens)",
    )
    parser.add_argument(
        "--rewards",
        default=None,
        metavar="FILE",
        help="with --checkpoints: a log of step and reward (CSV or JSON) instead "
        "of each checkpoint's trainer_state.json",
    )
    parser.add_argument(
        "--reward-key",
        default=None,
        metavar="KEY",
        help="with --checkpoints: the logged reward to use (default: 'reward', "
        "else the only 'rewards/...' key); the column of --rewards",
    )
    parser.add_argument(
        "--reward-window",
        default=None,
        choices=("since-previous", "last"),
        help="a checkpoint's reward: the mean of the values logged since the "
        "previous checkpoint (default), or the last value at or before its step",
    )
    parser.add_argument(
        "--corrupt",
        default="auto",
        choices=CORRUPT_MODES,
        help="corrupted input: base opening, next problem's opening, or zeroed "
        "heads (default auto: base if given, else next)",
    )
    parser.add_argument("--dtype", default="float32", choices=("float32", "bfloat16", "float16"))
    parser.add_argument(
        "--device",
        default=None,
        help="torch device: cpu, cuda, cuda:1, mps (default: cuda if available)",
    )
    parser.add_argument(
        "--bootstrap",
        type=int,
        default=0,
        metavar="B",
        help="resample the problems B times (with replacement): each head's rank interval and "
        "how often it is in the circuit and emergent, the circuits' Jaccard stability, and "
        "which emergent heads are stable (emergent in >= 80%% of resamples; "
        "@heads.json#stable); default 0: none",
    )
    parser.add_argument(
        "-o", "--output", default="heads.json", help="output file (default heads.json)"
    )


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
    _print_summary(result, output, plots if drawn else [])
    return 0


def _discover_models(
    args: argparse.Namespace,
    rows: list[tuple[str, dict[str, Any]]],
    logged: list | None,
    rewards: CheckpointRewards | None,
    device: str,
    log: Callable[[str], None],
    progress: Phases,
) -> dict[str, Any]:
    """POST, or each of ``--checkpoints``, against BASE. A series' file has the last
    checkpoint's heads at the top (zero:@heads.json#5 uses them) and the series entries."""
    posts = args.checkpoints or [args.model]
    results, names = [], []
    known: dict[str, list] = {}  # BASE's openings: generated once for a whole series
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


def _problem_rows(args: argparse.Namespace) -> tuple[list[tuple[str, dict[str, Any]]], list | None]:
    """``(task, doc)`` rows, and the logged responses when ``--samples`` gives them."""
    if not args.samples:
        return load_task_rows(args.tasks, args.limit), None
    from harness_ext.discovery.samples import read_logged_responses

    logged = read_logged_responses(Path(args.samples), args.limit)
    return [(item.task, item.doc) for item in logged], logged


def _discover_one(
    args: argparse.Namespace,
    name: str | None,
    base: tuple | None,
    rows: list[tuple[str, dict[str, Any]]],
    logged: list | None,
    known: dict[str, list],
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
        eos_ids=_eos_ids(post, tokenizer),
        openings=given,
        log=log,
        progress=progress,
    )
    if base is not None:
        known["base"] = found["openings"]["base"]
    settings = _settings(args, post_name, None if base is None else base[0], rows, found, rule)
    return post_name, _result(args, found, rule, settings)


def _problems(
    args: argparse.Namespace,
    tokenizer: Any,
    base_tokenizer: Any,
    rows: list[tuple[str, dict[str, Any]]],
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
    rows: list[tuple[str, dict[str, Any]]],
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
        eos_ids=_eos_ids(model, tokenizer),
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
    return Attribution(
        args.opening_tokens,
        args.ig_steps,
        args.corrupt,
        args.method or ("eap-ig" if args.edges else "fisher"),
        args.batch_size,
        args.edges,
    )


def _eos_ids(model: PreTrainedModel, tokenizer: Any) -> list[int]:
    return sorted(
        {tokenizer.eos_token_id, *_as_list(model.generation_config.eos_token_id)} - {None}
    )


def _result(
    args: argparse.Namespace, found: dict[str, Any], rule: CircuitRule, settings: dict[str, Any]
) -> dict[str, Any]:
    """The heads.json object of one attribution (with the top edges for ``--edges``)."""
    from harness_ext.discovery.heads_file import build_result, edge_summary

    edges = (
        {"post": found.get("edges_post"), "base": found.get("edges_base")} if args.edges else None
    )
    result = build_result(found["importance_post"], found["importance_base"], rule, settings, edges)
    if args.bootstrap:
        from harness_ext.discovery.stability import add_stability

        add_stability(
            result, found["per_problem_post"], found["per_problem_base"], rule, args.bootstrap
        )
    if args.edges:
        result["edges"] = edge_summary(found, args.top_edges, args.edge_threshold)
    return result


def _print_summary(result: dict[str, Any], output: Path, plots: list[Path]) -> None:
    show = lambda heads: ", ".join(f"L{h['layer']}H{h['head']}" for h in heads) or "none"  # noqa: E731
    changes = (result.get("dynamics") or {}).get("changes", [])
    for step, change in zip(result.get("transitions", []), changes):
        reward = change["reward_change"]
        print(
            f"{step['from']} -> {step['to']}: appeared {show(step['appeared'])}; disappeared "
            f"{show(step['disappeared'])}; circuit change {change['circuit_change']:.2f}"
            + ("" if reward is None else f", reward change {reward:+.3g}")
        )
    if "dynamics" in result:
        print(_correlation_line(result["dynamics"]["spearman"]))
    if "compensatory" in result:
        from harness_ext.discovery.thinking import thinking_lines

        print("\n".join(thinking_lines(result)))
    else:
        print(_circuits_line(result))
        what = (
            "emergent heads"
            if result["circuit_base"] is not None
            else "heads in the post circuit (no --base to compare)"
        )
        print(f"{len(result['emergent'])} {what}: {show(result['emergent'][:10])}")
    print(f"wrote {output}" + "".join(f" and {plot}" for plot in plots))
    print(f"use them with: sparks eval --interventions 'zero:@{output}#5' ...")


def _circuits_line(result: dict[str, Any]) -> str:
    circuits, n_total = result["circuits"], len(result["heads"])
    line = f"circuits ({circuits['rule']}): post {circuits['post']['size']} of {n_total} heads"
    if circuits["base"] is not None:
        both = circuits["overlap"]
        line += (
            f", base {circuits['base']['size']}; overlap {both['both']} "
            f"(Jaccard {both['jaccard_index']:.2f})"
        )
    return line


def _correlation_line(spearman: dict[str, Any]) -> str:
    if spearman["rho"] is None:
        return f"reward change vs circuit change: no Spearman correlation ({spearman['note']})"
    return (
        f"reward change vs circuit change: Spearman rho {spearman['rho']:+.2f} "
        f"(n {spearman['n']}, p {spearman['p']:.3g}, {spearman['method']})"
    )


def _check_outputs(args: argparse.Namespace, output: Path) -> None:
    """Every file ``run_discover`` writes can be written: refused now, not after the work."""
    from harness_ext.discovery.series import series_plot_path
    from harness_ext.output_check import check_writable

    check_writable(output, "the heads file (-o)")
    check_writable(output.with_suffix(".png"), "the heat map beside the heads file")
    if args.checkpoints:
        check_writable(series_plot_path(output), "the checkpoint plot beside the heads file")


def check_device(name: str | None) -> str:
    """The torch device to run on: ``name``, checked to exist on this machine, or by default
    cuda when available, else cpu. :class:`SparksError` for a device this machine lacks."""
    import torch

    if name is None:
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError):
        raise SparksError(
            f"--device {name!r} is not a torch device; use cpu, cuda or cuda:N"
        ) from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise SparksError(
                f"--device {name}: CUDA is not available on this machine; use --device cpu"
            )
        count = torch.cuda.device_count()
        if device.index is not None and device.index >= count:
            raise SparksError(
                f"--device {name}: this machine has {count} CUDA device"
                f"{'s' if count != 1 else ''} (cuda:0 to cuda:{count - 1}); pick one of them"
            )
    elif device.type == "mps" and not torch.backends.mps.is_available():
        raise SparksError(
            f"--device {name}: MPS is not available on this machine; use --device cpu"
        )
    return name


def _circuit_rule(
    args: argparse.Namespace, post_name: str, post: PreTrainedModel, base: tuple | None
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


def load_task_rows(tasks: str, limit: int | None) -> list[tuple[str, dict[str, Any]]]:
    """``(task, row)`` pairs: the first ``limit`` problems of each task in ``tasks`` (comma-separated)."""
    from harness_ext.tasks import data

    rows = []
    for name in [t.strip() for t in tasks.split(",") if t.strip()]:
        key = name.removesuffix("_greedy")
        if key not in TASK_LOADERS:
            raise SparksError(
                f"--tasks: unknown task {name!r}; choose from {', '.join(TASK_LOADERS)}"
            )
        for loader in TASK_LOADERS[key]:
            split = getattr(data, loader)()["test"]
            count = len(split) if limit is None else min(limit, len(split))
            rows += [(name, split[i]) for i in range(count)]
    if not rows:
        raise SparksError("--tasks is empty; name a task such as amc_sparks")
    return rows


def load_model(name: str | None, dtype: str, device: str) -> tuple[str, PreTrainedModel, Any]:
    """``(name, model, tokenizer)``; ``None`` means the embedded model."""
    import torch
    from transformers import AutoModelForCausalLM

    name, path = _model_path(name)
    try:
        model = AutoModelForCausalLM.from_pretrained(path, dtype=getattr(torch, dtype))
    except OSError as error:
        raise _load_error(name, error) from error
    return name, model.to(device).eval(), _tokenizer(path, name)


def load_tokenizer(name: str | None) -> tuple[str, Any]:
    """``(name, tokenizer)`` of a model, without loading its weights; ``None``: the embedded model."""
    name, path = _model_path(name)
    return name, _tokenizer(path, name)


def _tokenizer(path: str, name: str) -> Any:
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(path)
    except OSError as error:
        raise _load_error(name, error) from error


def _load_error(name: str, error: OSError) -> SparksError:
    return SparksError(
        f"could not load model {name!r} ({str(error)[:200]}); give a Hub id or a "
        "local folder of a causal LM"
    )


def _model_path(name: str | None) -> tuple[str, str]:
    """``(display name, path to load)``: ``None`` is the embedded model (converted on first use)."""
    if name is not None:
        return name, name
    from harness_ext.embedded import embedded_model_path

    return "SmolLM2-135M-Instruct (embedded)", str(embedded_model_path())


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _settings(
    args: argparse.Namespace,
    post_name: str,
    base_name: str | None,
    rows: list[tuple[str, dict[str, Any]]],
    found: dict[str, Any],
    rule: CircuitRule,
) -> dict[str, Any]:
    import torch
    import transformers

    from harness_ext import __version__
    from harness_ext.discovery.checks import template_args

    return {
        "model_post": post_name,
        "model_base": base_name,
        "tasks": ",".join(dict.fromkeys(task for task, _ in rows)),
        "limit": args.limit,
        "problem_ids": found["problem_ids"],
        "skipped": found["skipped"],
        "opening_tokens": args.opening_tokens,
        "opening_lengths": found["opening_lengths"],
        "ig_steps": args.ig_steps,
        "batch_size": args.batch_size,
        "method": found["method"],  # what ran: the --method default resolved
        "level": "edges" if args.edges else "heads",
        "openings": f"post: read from {args.samples}" if args.samples else "generated (greedy)",
        "corrupt": found["corrupt"],
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
