"""The discovery loop of ``sparks discover``, as a Python function: openings, attribution of
every head per problem, importances summed over problems (:func:`discover_heads`), returned as
a typed :class:`Discovery`. No circuits and no files here: :mod:`harness_ext.discovery.command`
turns a :class:`Discovery` into heads.json. torch is imported inside functions.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

from harness_ext.discovery.prompts import Problem
from harness_ext.errors import SparksError
from harness_ext.progress import Phases

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel

__all__ = ["CORRUPT_MODES", "Attribution", "Discovery", "discover_heads", "scorer"]

CORRUPT_MODES = ("auto", "base", "next", "zeros")
Grid = list[list[float]]  # one row per layer, one value per head


@dataclass(frozen=True)
class Attribution:
    """How heads are scored: the flags of ``sparks discover`` that shape the attribution."""

    opening_tokens: int = 32
    ig_steps: int = 8  # samples with method="fisher", or IG steps (the paper's 5-8)
    corrupt: str = "auto"
    method: str = "fisher"  # the most faithful to brute force that meets the goal (docs)
    batch_size: int | None = None  # IG steps (or samples) per pass; None: all at once
    edges: bool = False
    ig_over: str = "activations"  # eap-ig: interpolate head activations, or "inputs"
    position_abs: bool = False  # eap-ig: |score| per position before summing over positions
    gradient_checkpointing: bool = False  # keep one hidden state per layer for the backward


@dataclass
class Discovery:
    """What :func:`discover_heads` found. Fields are read as attributes; ``found["name"]``
    and ``found.get("name")`` still work for code written when this was a dict."""

    importance_post: Grid  # sum over problems of |score|, layer x head
    importance_base: Grid | None  # None without a base
    problem_ids: list[str]  # the problems attributed
    skipped: list[str]  # problems skipped (an empty opening)
    opening_lengths: list[int]  # tokens attributed per problem (both openings truncated)
    corrupt: str  # the corruption that ran: base, next or zeros
    method: str  # the method that ran: fisher, eap-ig or ablation
    openings: dict[str, list[list[int]]]  # "post" / "base" -> one opening per problem
    per_problem_post: list[Grid] = field(default_factory=list)  # |score| per problem
    per_problem_base: list[Grid] | None = None
    edges_post: torch.Tensor | None = None  # --edges: [layers, heads, targets], summed |score|
    edges_base: torch.Tensor | None = None

    def __getitem__(self, key: str) -> Any:
        if key not in {f.name for f in fields(self)}:
            raise KeyError(key)
        return getattr(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        """The field ``key``, or ``default`` for a name that is not a field or is None."""
        value = getattr(self, key, None) if key in {f.name for f in fields(self)} else None
        return default if value is None else value


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
) -> Discovery:
    """Importance of every head of ``post`` (and of ``base``), summed over ``problems``.

    In ``how``: ``corrupt`` is ``base`` (the other model's opening), ``next`` (the same
    model's opening of the next problem, cyclically), ``zeros`` (zero-ablated heads as the
    baseline) or ``auto`` (``base`` with a base model, else ``next``). Openings are truncated
    to the shorter of each pair. ``method`` is ``fisher`` (``ig_steps`` then counts samples),
    ``eap-ig`` (the paper's; ``ig_over`` and ``position_abs`` choose its variant) or
    ``ablation`` (the brute force); ``batch_size`` IG steps (or samples) go through the model
    at a time (default: all). With ``edges`` (EAP-IG only), scores are per edge (head -> later
    attention, MLP, logits; :func:`harness_ext.discovery.attribution.edge_attribute`), summed
    in absolute value over problems (``edges_post``, ``edges_base``), and a head's importance
    is the sum of its absolute edge scores, as in the paper. ``openings`` maps ``post`` /
    ``base`` to openings (token ids, one per problem) to use instead of generating them, e.g.
    POST's responses read from lm-eval samples, or BASE's from an earlier checkpoint;
    ``found.openings`` returns those used. ``progress`` shows a bar (with an ETA) per model
    for the openings and for the attribution. Each model gets its side's prompt
    (:meth:`Problem.prompt`); ``base`` may be ``post`` itself with other prompts (thinking off).
    """
    score = scorer(how)
    mode = _corrupt_mode(how.corrupt, base is not None, len(problems))
    models = {"post": post, **({"base": base} if base is not None else {})}
    phases = progress or Phases(enabled=False)
    used_openings = _openings(models, problems, how.opening_tokens, eos_ids, openings, phases)
    totals: dict[str, torch.Tensor] = {}
    per_problem: dict[str, list[Grid]] = {name: [] for name in models}  # for --bootstrap
    used, skipped, lengths = [], [], []
    attributed = phases.phase(
        f"attributing ({how.method}, {' and '.join(models)})", total=len(problems)
    )
    for i, problem in enumerate(problems):
        pairs = {name: _pair(used_openings, name, i, mode) for name in models}
        n = min(len(clean) for clean, _ in pairs.values())
        if n == 0:
            skipped.append(problem.problem_id)
            log(f"skipped {problem.problem_id}: an opening is empty (the model ended at once)")
            attributed()
            continue
        for name, (clean, other) in pairs.items():
            scores = score(models[name], problem.prompt(name), clean, other).abs()
            totals[name] = scores + totals[name] if name in totals else scores
            per_problem[name].append((scores.sum(dim=-1) if how.edges else scores).tolist())
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
    importance = {name: (t.sum(dim=-1) if how.edges else t).tolist() for name, t in totals.items()}
    return Discovery(
        importance_post=importance["post"],
        importance_base=importance.get("base"),
        problem_ids=used,
        skipped=skipped,
        opening_lengths=lengths,
        corrupt=mode,
        method=how.method,
        openings=used_openings,
        per_problem_post=per_problem["post"],
        per_problem_base=per_problem.get("base"),
        edges_post=totals["post"] if how.edges else None,
        edges_base=totals.get("base") if how.edges else None,
    )


def scorer(how: Attribution) -> Callable[..., torch.Tensor]:
    """``fn(model, prompt, clean, corrupt)`` -> one problem's scores, for ``how``'s method
    (checked here, with a message naming the valid choices)."""
    from functools import partial

    from harness_ext.discovery.attribution import (
        IG_OVER,
        METHODS,
        ablation_attribute,
        attribute,
        edge_attribute,
        fisher_attribute,
    )

    if how.method not in METHODS:
        raise SparksError(f"--method {how.method!r}: choose one of {', '.join(METHODS)}")
    if how.edges and how.method != "eap-ig":
        raise SparksError("--edges works with --method eap-ig (edge scores are EAP-IG's)")
    if how.ig_over not in IG_OVER:
        raise SparksError(f"--ig-over {how.ig_over!r}: choose one of {', '.join(IG_OVER)}")
    variant = how.ig_over != "activations" or how.position_abs
    if variant and (how.method != "eap-ig" or how.edges):
        raise SparksError(
            "--ig-over inputs and --position-abs are variants of node-level --method eap-ig; "
            "drop them, or use --method eap-ig without --edges"
        )
    steps = (how.ig_steps, how.batch_size, how.gradient_checkpointing)
    if how.edges:
        return partial(_call, edge_attribute, steps, {})
    methods: dict[str, Callable[..., torch.Tensor]] = {
        "eap-ig": attribute,
        "fisher": fisher_attribute,
        "ablation": ablation_attribute,
    }
    options = {"ig_over": how.ig_over, "position_abs": how.position_abs}
    return partial(_call, methods[how.method], steps, options if how.method == "eap-ig" else {})


def _call(
    fn: Callable[..., torch.Tensor],
    steps: tuple[int, int | None, bool],
    options: dict[str, Any],
    model: PreTrainedModel,
    *inputs: Any,
) -> torch.Tensor:
    """``fn(model, *inputs, ig_steps, batch_size, **options)``: one problem's scores, under
    gradient checkpointing when the last of ``steps`` says so."""
    from harness_ext.discovery.memory import gradient_checkpointing

    ig_steps, batch_size, checkpointing = steps
    with gradient_checkpointing(model, checkpointing):
        return fn(model, *inputs, ig_steps, batch_size, **options)


def _openings(
    models: dict[str, PreTrainedModel],
    problems: Sequence[Problem],
    n_tokens: int,
    eos_ids: Sequence[int],
    given: Mapping[str, Sequence[Sequence[int]]] | None,
    phases: Phases,
) -> dict[str, list[list[int]]]:
    """Each model's opening of each problem: ``given`` ones cut to ``n_tokens``, the others
    generated greedily (a progress bar per model)."""
    from harness_ext.discovery.attribution import greedy_opening

    given = dict(given or {})
    if any(len(value) != len(problems) for value in given.values()):
        raise ValueError("given openings need one opening per problem")
    openings: dict[str, list[list[int]]] = {}
    for name, model in models.items():
        if name in given:
            openings[name] = [list(o)[:n_tokens] for o in given[name]]
            continue
        advance = phases.phase(f"{name}: generating openings", total=len(problems))
        openings[name] = []
        for p in problems:
            openings[name].append(greedy_opening(model, p.prompt(name), n_tokens, eos_ids))
            advance()
    return openings


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
    """``corrupt`` resolved (``auto``) and checked against the models and problems given."""
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
