"""``sparks discover``: find the attention heads that post-training added (EAP-IG at head level).

For each problem, the post-trained model's own greedy opening of its response is the clean
input and the base model's opening of the same problem is the corrupted one (without a base:
the next problem's opening, after the same prompt). Each head's importance is the sum over
problems of its absolute EAP-IG score (see :mod:`harness_ext.discovery_attr`); each model's
circuit is its top heads; emergent heads are in the post circuit and not in the base circuit.
Details and the ``heads.json`` schema: docs/discover.md. torch is imported inside functions.
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

from harness_ext.errors import SparksError
from harness_ext.progress import Phases

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel

__all__ = ["CORRUPT_MODES", "Attribution", "Problem", "check_device", "configure_discover", "discover_heads",
           "run_discover"]

CORRUPT_MODES = ("auto", "base", "next", "zeros")
TASK_LOADERS = {  # task (or group) name -> loader names in harness_ext.tasks.data
    "amc_sparks": ("load_amc",), "aime24_sparks": ("load_aime24",),
    "aime25_sparks": ("load_aime25",), "math500_sparks": ("load_math500",),
    "aime_sparks": ("load_aime24", "load_aime25"),
    "sparks": ("load_aime24", "load_aime25", "load_amc", "load_math500"),
}


@dataclass(frozen=True)
class Attribution:
    """How heads are scored: the flags of ``sparks discover`` that shape the attribution."""

    opening_tokens: int = 32
    ig_steps: int = 5  # IG steps, or samples with method="fisher"
    corrupt: str = "auto"
    method: str = "eap-ig"
    batch_size: int | None = None  # IG steps (or samples) per pass; None: all at once
    edges: bool = False


@dataclass(frozen=True)
class Problem:
    """One prompt, already tokenized (chat template applied when the tokenizer has one)."""

    problem_id: str
    prompt_ids: tuple[int, ...]


def discover_heads(post: PreTrainedModel, problems: Sequence[Problem],
                   how: Attribution = Attribution(), *, base: PreTrainedModel | None = None,
                   eos_ids: Sequence[int] = (),
                   openings: Mapping[str, Sequence[Sequence[int]]] | None = None,
                   log: Callable[[str], None] = lambda message: None,
                   progress: Phases | None = None) -> dict[str, Any]:
    """Importance of every head of ``post`` (and of ``base``), summed over ``problems``.

    Returns ``{"importance_post": [[...]], "importance_base": [[...]] | None,
    "problem_ids": [...], "skipped": [...], "opening_lengths": [...]}``. In ``how``: ``corrupt`` is
    ``base`` (the other model's opening), ``next`` (the same model's opening of the next
    problem, cyclically), ``zeros`` (zero-ablated heads as the baseline) or ``auto`` (``base``
    with a base model, else ``next``). Openings are truncated to the shorter of each pair.
    ``method`` is ``eap-ig`` (the paper's) or ``fisher`` (``ig_steps`` then counts samples);
    ``batch_size`` IG steps (or samples) go through the model at a time (default: all).
    With ``edges`` (EAP-IG only), scores are per edge (head -> later attention, MLP, logits;
    :func:`harness_ext.discovery_attr.edge_attribute`), summed in absolute value over problems
    (``edges_post``, ``edges_base``), and a head's importance is the sum of its absolute edge
    scores, as in the paper. ``openings`` maps ``post`` / ``base`` to openings (token ids, one
    per problem) to use instead of generating them, e.g. POST's responses read from lm-eval
    samples, or BASE's from an earlier checkpoint; ``found["openings"]`` returns those used.
    ``progress`` shows a bar (with an ETA) per model for the openings and for the attribution.
    """
    from harness_ext.discovery_attr import (METHODS, attribute, edge_attribute, fisher_attribute,
                                            greedy_opening)

    method, edges, opening_tokens = how.method, how.edges, how.opening_tokens
    if method not in METHODS:
        raise SparksError(f"--method {method!r}: choose one of {', '.join(METHODS)}")
    if edges and method != "eap-ig":
        raise SparksError("--edges works with --method eap-ig (edge scores are EAP-IG's)")
    score = edge_attribute if edges else attribute if method == "eap-ig" else fisher_attribute

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
            openings[name].append(greedy_opening(model, p.prompt_ids, opening_tokens, eos_ids))
            advance()
    totals = {name: None for name in models}
    used, skipped, lengths = [], [], []
    attributed = phases.phase(f"attributing ({method}, {' and '.join(models)})",
                              total=len(problems))
    for i, problem in enumerate(problems):
        pairs = {name: _pair(openings, name, i, mode) for name in models}
        n = min(len(clean) for clean, _ in pairs.values())
        if n == 0:
            skipped.append(problem.problem_id)
            log(f"skipped {problem.problem_id}: an opening is empty (the model ended at once)")
            attributed()
            continue
        for name, (clean, other) in pairs.items():
            scores = score(models[name], problem.prompt_ids, clean, other, how.ig_steps,
                           how.batch_size).abs()
            totals[name] = scores if totals[name] is None else totals[name] + scores
        used.append(problem.problem_id)
        lengths.append(n)
        attributed()
        if progress is None:
            log(f"attributed {problem.problem_id} ({i + 1}/{len(problems)}, {n} opening tokens)")
    if not used:
        raise SparksError("every problem was skipped (empty openings); raise --opening-tokens "
                          "or use other problems")
    as_list = lambda t: None if t is None else t.tolist()  # noqa: E731
    importance = {name: (t.sum(dim=-1) if edges else t) for name, t in totals.items()}
    found = {"importance_post": as_list(importance["post"]),
             "importance_base": as_list(importance.get("base")), "problem_ids": used,
             "skipped": skipped, "opening_lengths": lengths, "corrupt": mode, "method": method,
             "openings": openings}
    if edges:
        found.update(edges_post=totals["post"], edges_base=totals.get("base"))
    return found


def _pair(openings: dict[str, list[list[int]]], name: str, i: int,
          mode: str) -> tuple[list[int], list[int] | None]:
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
        raise SparksError("--corrupt next needs at least 2 problems (raise --limit), or pass "
                          "--base BASE, or use --corrupt zeros")
    return mode


# ---------------------------------------------------------------- command line

def configure_discover(parser: argparse.ArgumentParser) -> None:
    """The flags of ``sparks discover``."""
    parser.add_argument("--model", default=None, metavar="POST",
                        help="post-trained model: Hub id or local folder (default: the embedded "
                             "SmolLM2-135M-Instruct)")
    parser.add_argument("--checkpoints", nargs="+", default=None, metavar="CKPT",
                        help="instead of --model: a series of checkpoints in training order, each "
                             "against the same --base; adds which heads appear and disappear, "
                             "and a plot of it (heads.checkpoints.png)")
    parser.add_argument("--base", default=None, metavar="BASE",
                        help="base model (same tokenizer); without it no effect scores, and the "
                             "corrupted input is the next problem's opening")
    parser.add_argument("--tasks", default="amc_sparks",
                        help=f"comma-separated tasks or groups: {', '.join(TASK_LOADERS)} "
                             "(_greedy variants accepted)")
    parser.add_argument("--limit", type=int, default=8, help="problems per task (default 8)")
    parser.add_argument("--samples", default=None, metavar="PATH",
                        help="read POST's openings from an lm-eval samples file (or the output "
                             "folder of a run with --log_samples) instead of generating them; "
                             "the problems are that file's (--tasks is then ignored)")
    parser.add_argument("--opening-tokens", type=int, default=32,
                        help="length of each greedy opening (default 32)")
    parser.add_argument("--ig-steps", type=int, default=5,
                        help="integrated-gradient steps, or samples with --method fisher (default 5)")
    parser.add_argument("--method", default="eap-ig", choices=("eap-ig", "fisher"),
                        help="eap-ig (the paper's, default) or fisher (second-order estimate of "
                             "patching each head alone)")
    parser.add_argument("--edges", action="store_true",
                        help="edge-level EAP-IG (head -> later attention, MLP, logits): a head's "
                             "importance is the sum of its absolute edge scores (the paper's), "
                             "and heads.json lists the top edges")
    parser.add_argument("--top-edges", type=int, default=5000,
                        help="with --edges: at most this many edges per model in heads.json "
                             "(default 5000, the paper's n)")
    parser.add_argument("--edge-threshold", type=float, default=0.1,
                        help="with --edges: keep edges scoring at least this share of the "
                             "strongest (default 0.1, the paper's tau)")
    parser.add_argument("--batch-size", type=int, default=8,
                        help="IG steps (or samples) per forward/backward pass; bounds memory "
                             "(default 8)")
    parser.add_argument("--circuit-size", type=float, default=0.1,
                        help="heads per circuit: a whole count (>= 1, at most the model's heads) "
                             "or a share of all heads (default 0.1 = 10%%)")
    parser.add_argument("--corrupt", default="auto", choices=CORRUPT_MODES,
                        help="corrupted input: base opening, next problem's opening, or zeroed "
                             "heads (default auto: base if given, else next)")
    parser.add_argument("--dtype", default="float32", choices=("float32", "bfloat16", "float16"))
    parser.add_argument("--device", default=None,
                        help="torch device: cpu, cuda, cuda:1, mps (default: cuda if available)")
    parser.add_argument("-o", "--output", default="heads.json", help="output file (default heads.json)")


def run_discover(args: argparse.Namespace) -> int:
    """Find emergent heads: EAP-IG importance per head in POST (and BASE), written to heads.json
    with a heat map beside it; with ``--checkpoints``, for each checkpoint, plus a plot of the
    heads appearing and disappearing. Use the result with interventions=zero:@heads.json#5."""
    from harness_ext.discovery_out import write_heatmap, write_json

    _check_args(args)
    output = Path(args.output)
    _check_outputs(args, output)
    device = check_device(args.device)
    rows, logged = _problem_rows(args)  # data errors before any model work
    log = lambda message: print(f"sparks discover: {message}", file=sys.stderr)  # noqa: E731
    posts = args.checkpoints or [args.model]
    results, names = [], []
    known: dict[str, list] = {}  # BASE's openings: generated once for a whole series
    with Phases() as progress:
        loading = progress.phase(f"loading the base model {args.base}", total=1) \
            if args.base else None
        base = load_model(args.base, args.dtype, device) if args.base else None
        if loading is not None:
            loading()
        models = progress.phase("models", total=len(posts)) if len(posts) > 1 else None
        for index, name in enumerate(posts):
            post_name, result = _discover_one(args, name, base, rows, logged, known, device,
                                              log, progress)
            results.append(result)
            names.append(post_name)
            if models is not None:
                models(description=f"checkpoints: {index + 1}/{len(posts)} done ({post_name})")
    result = results[-1]  # the last checkpoint's heads at the top: zero:@heads.json#5 uses them
    plots = [output.with_suffix(".png")]
    if args.checkpoints:
        from harness_ext.discovery_series import build_series, series_plot_path, write_series_plot

        result = {**result, **build_series(names, results),
                  "settings": {**result["settings"], "checkpoints": names}}
        plots.append(series_plot_path(output))
    write_json(result, output)
    drawn = write_heatmap(result, plots[0])
    if args.checkpoints and drawn:
        drawn = write_series_plot(result, plots[1])
    if not drawn:
        log("matplotlib is not installed: no plots (pip install matplotlib)")
    _print_summary(result, output, plots if drawn else [], has_base=base is not None)
    return 0


def _problem_rows(args: argparse.Namespace) -> tuple[list[tuple[str, dict[str, Any]]], list | None]:
    """``(task, doc)`` rows, and the logged responses when ``--samples`` gives them."""
    if not args.samples:
        return load_task_rows(args.tasks, args.limit), None
    from harness_ext.discovery_samples import read_logged_responses

    logged = read_logged_responses(Path(args.samples), args.limit)
    return [(item.task, item.doc) for item in logged], logged


def _discover_one(args: argparse.Namespace, name: str | None, base: tuple | None,
                  rows: list[tuple[str, dict[str, Any]]], logged: list | None,
                  known: dict[str, list], device: str, log: Callable[[str], None],
                  progress: Phases | None = None) -> tuple[str, dict[str, Any]]:
    """Load POST ``name`` and build its heads.json result against ``base`` (name, model,
    tokenizer); the model is freed on return, so a series holds one checkpoint at a time.
    ``known`` carries BASE's openings from one call to the next."""
    from harness_ext.discovery_out import build_result, edge_summary

    loading = progress.phase(f"loading {name or 'the embedded model'}", total=1) \
        if progress is not None else None
    post_name, post, tokenizer = load_model(name, args.dtype, device)
    if loading is not None:
        loading()
    if base is not None and tokenizer.get_vocab() != base[2].get_vocab():
        raise SparksError(f"--base {args.base} has another tokenizer than {post_name}; "
                          "discovery compares both models on the same tokens")
    k = _circuit_k(args.circuit_size, post_name, post, base)  # before any attribution work
    problems = [Problem(row["problem_id"], tuple(prompt_ids(tokenizer, row))) for _, row in rows]
    given = dict(known)
    if logged is not None:
        given["post"] = [tokenizer(item.response, add_special_tokens=False)["input_ids"]
                         for item in logged]
    eos = {tokenizer.eos_token_id, *_as_list(post.generation_config.eos_token_id)} - {None}
    how = Attribution(args.opening_tokens, args.ig_steps, args.corrupt, args.method,
                      args.batch_size, args.edges)
    found = discover_heads(post, problems, how, base=None if base is None else base[1],
                           eos_ids=sorted(eos), openings=given, log=log, progress=progress)
    if base is not None:
        known["base"] = found["openings"]["base"]
    settings = _settings(args, post_name, None if base is None else base[0], rows, found, k)
    result = build_result(found["importance_post"], found["importance_base"], k, settings)
    if args.edges:
        result["edges"] = edge_summary(found, args.top_edges, args.edge_threshold)
    return post_name, result


def _print_summary(result: dict[str, Any], output: Path, plots: list[Path], has_base: bool) -> None:
    n_total = len(result["heads"])
    k = result["settings"]["circuit_size"]
    for step in result.get("transitions", []):
        show = lambda heads: ", ".join(f"L{h['layer']}H{h['head']}" for h in heads) or "none"  # noqa: E731
        print(f"{step['from']} -> {step['to']}: appeared {show(step['appeared'])}; "
              f"disappeared {show(step['disappeared'])}")
    top = ", ".join(f"L{h['layer']}H{h['head']}" for h in result["emergent"][:10]) or "none"
    what = "emergent heads" if has_base else "heads in the post circuit (no --base to compare)"
    print(f"{len(result['emergent'])} {what} (circuit size {k} of {n_total}): {top}")
    print(f"wrote {output}" + "".join(f" and {plot}" for plot in plots))
    print(f"use them with: sparks eval --interventions 'zero:@{output}#5' ...")


def _check_args(args: argparse.Namespace) -> None:
    if args.ig_steps < 1:
        raise SparksError(f"--ig-steps {args.ig_steps}: give at least 1 (5 is the usual)")
    if args.edges and args.method != "eap-ig":
        raise SparksError("--edges works with --method eap-ig (edge scores are EAP-IG's)")
    if args.top_edges < 1 or not 0 <= args.edge_threshold <= 1:
        raise SparksError("--top-edges must be >= 1 and --edge-threshold between 0 and 1")
    if args.batch_size < 1:
        raise SparksError(f"--batch-size {args.batch_size}: give at least 1")
    if args.opening_tokens < 1:
        raise SparksError(f"--opening-tokens {args.opening_tokens}: give at least 1")
    if args.limit is not None and args.limit < 1:
        raise SparksError(f"--limit {args.limit}: give at least 1 problem")
    size = args.circuit_size
    if not math.isfinite(size) or size <= 0 or (size >= 1 and size != int(size)):
        raise SparksError(f"--circuit-size {size:g}: give a whole number of heads (>= 1) or a "
                          "share of all heads below 1 (0.1 = 10%)")
    if args.corrupt == "base" and not args.base:
        raise SparksError("--corrupt base needs --base BASE; or use --corrupt next or zeros")
    if args.checkpoints and args.samples:
        raise SparksError("--samples holds one model's responses; it cannot serve --checkpoints")
    if args.checkpoints and args.model:
        raise SparksError("give either --model POST or --checkpoints A B C (the checkpoints are the "
                          "post-trained models), not both")
    if Path(args.output).is_dir():
        raise SparksError(f"-o {args.output} is a folder; give a file name such as {args.output}/heads.json")
    if Path(args.output).suffix.lower() == ".png":
        raise SparksError(f"-o {args.output}: the heat map goes beside the heads file as .png; "
                          "give a .json name such as heads.json")


def _check_outputs(args: argparse.Namespace, output: Path) -> None:
    """Every file ``run_discover`` writes can be written: refused now, not after the work."""
    from harness_ext.discovery_series import series_plot_path
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
        raise SparksError(f"--device {name!r} is not a torch device; use cpu, cuda or cuda:N") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise SparksError(f"--device {name}: CUDA is not available on this machine; use --device cpu")
        count = torch.cuda.device_count()
        if device.index is not None and device.index >= count:
            raise SparksError(f"--device {name}: this machine has {count} CUDA device"
                              f"{'s' if count != 1 else ''} (cuda:0 to cuda:{count - 1}); pick one of them")
    elif device.type == "mps" and not torch.backends.mps.is_available():
        raise SparksError(f"--device {name}: MPS is not available on this machine; use --device cpu")
    return name


def _circuit_k(size: float, post_name: str, post: PreTrainedModel, base: tuple | None) -> int:
    """Heads per circuit for ``post`` (checked against its head count, and BASE's shape)."""
    from harness_ext.discovery_out import circuit_size
    from harness_ext.interventions.arch import get_arch

    shape = get_arch(post.config).shape(post.config)
    if base is not None:
        base_shape = get_arch(base[1].config).shape(base[1].config)
        if (base_shape.n_layers, base_shape.n_heads) != (shape.n_layers, shape.n_heads):
            raise SparksError(f"--base {base[0]} has {base_shape} but {post_name} has {shape}; "
                              "discovery compares the same heads in both models")
    n_total = shape.n_layers * shape.n_heads
    if size >= 1 and size > n_total:
        raise SparksError(f"--circuit-size {size:g} is more than the {n_total} heads of {post_name} "
                          f"({shape}); give at most {n_total}, or a share such as 0.1")
    return circuit_size(size, n_total)


def load_task_rows(tasks: str, limit: int | None) -> list[tuple[str, dict[str, Any]]]:
    """``(task, row)`` pairs: the first ``limit`` problems of each task in ``tasks`` (comma-separated)."""
    from harness_ext.tasks import data

    rows = []
    for name in [t.strip() for t in tasks.split(",") if t.strip()]:
        key = name.removesuffix("_greedy")
        if key not in TASK_LOADERS:
            raise SparksError(f"--tasks: unknown task {name!r}; choose from {', '.join(TASK_LOADERS)}")
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
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if name is None:
        from harness_ext.embedded import embedded_model_path

        path = str(embedded_model_path())
        name = "SmolLM2-135M-Instruct (embedded)"
    else:
        path = name
    try:
        model = AutoModelForCausalLM.from_pretrained(path, dtype=getattr(torch, dtype))
        tokenizer = AutoTokenizer.from_pretrained(path)
    except OSError as error:
        raise SparksError(f"could not load model {name!r} ({str(error)[:200]}); give a Hub id or "
                          "a local folder of a causal LM") from error
    return name, model.to(device).eval(), tokenizer


def prompt_ids(tokenizer: Any, row: dict[str, Any]) -> list[int]:
    """The task prompt as token ids: a user turn of the chat template when the tokenizer has
    one, else the plain prompt."""
    from harness_ext.tasks.scoring import doc_to_text

    text = doc_to_text(row)
    if getattr(tokenizer, "chat_template", None):
        text = tokenizer.apply_chat_template([{"role": "user", "content": text}], tokenize=False,
                                             add_generation_prompt=True)
        return tokenizer(text, add_special_tokens=False)["input_ids"]
    return tokenizer(text)["input_ids"]


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _settings(args: argparse.Namespace, post_name: str, base_name: str | None,
              rows: list[tuple[str, dict[str, Any]]], found: dict[str, Any], k: int) -> dict[str, Any]:
    import torch
    import transformers

    from harness_ext import __version__

    return {
        "model_post": post_name, "model_base": base_name,
        "tasks": ",".join(dict.fromkeys(task for task, _ in rows)),
        "limit": args.limit, "problem_ids": found["problem_ids"], "skipped": found["skipped"],
        "opening_tokens": args.opening_tokens, "opening_lengths": found["opening_lengths"],
        "ig_steps": args.ig_steps, "batch_size": args.batch_size, "method": found["method"],
        "level": "edges" if args.edges else "heads",
        "openings": f"post: read from {args.samples}" if args.samples else "generated (greedy)",
        "corrupt": found["corrupt"], "circuit_size": k,
        "metric": "KL(clean || patched), next-token distributions at the opening's positions",
        "dtype": args.dtype,
        "versions": {"sparks": __version__, "torch": torch.__version__,
                     "transformers": transformers.__version__},
    }
