"""Checks, before vLLM starts, that a plan's interventions can run on a flat token batch.

The declaration ``token_wise = True`` (:func:`~harness_ext.interventions.flat.flat_problem`) is a
plugin author's promise. These checks test it on the plan's own intervention objects, in the
``sparks-vllm`` process and before the engine starts, so that a plugin that cannot run there is
refused with the reason instead of failing minutes later inside vLLM's start-up, or worse,
computing something else:

* **traceable**: each intervened layer's :class:`~harness_ext.interventions.flat.FlatHeads` is
  traced by ``torch.compile(fullgraph=True, dynamic=True)`` on two token counts, as vLLM's
  compiled mode traces the model (with the ``eager`` backend: the check needs Dynamo's graph
  capture, not code generation). A graph break (``.item()``, data-dependent Python control
  flow, printing) is refused; under ``enforce_eager=True`` vLLM does not compile, and this
  check is skipped.
* **head by head** (tensor parallelism only): each rank holds only its heads'
  columns (:mod:`~harness_ext.interventions.flat_ranks`), so an intervention's result on a
  head must not depend on the other heads.
* **token by token**: an intervention without ``forward_step`` (no random draws) must give
  each token the same result whether it comes alone or in a batch with others, since vLLM's
  batch mixes requests, prefill and decode. Checked on random activations of 7 tokens.

Both run on CPU in float32 on random activations, in well under a second per layer.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Sequence

import torch

from harness_ext.interventions.flat import FlatHeads
from harness_ext.interventions.flat_ranks import RankSlice, rank_columns

if TYPE_CHECKING:
    from harness_ext.interventions.resolver import ResolvedIntervention

__all__ = ["flat_run_problems"]

TOKENS = 7  # tokens of the random batch; a prime, so no reshape can hide a token mix-up
TOLERANCE = 1e-5


def flat_run_problems(
    items: Sequence[ResolvedIntervention], *, compiled: bool = True, ranks: int = 1
) -> list[str]:
    """Why the plan's interventions cannot run in vLLM's flat batch (split over ``ranks``
    tensor-parallel ranks); empty when they can."""
    by_layer: dict[int, list[ResolvedIntervention]] = {}
    for item in items:
        by_layer.setdefault(item.layer, []).append(item)
    problems: list[str] = []
    for layer, originals in sorted(by_layer.items()):
        layer_items = copy.deepcopy(originals)  # .to() below must not touch the plan's own
        heads = FlatHeads(layer_items).to("cpu", torch.float32)
        generator = torch.Generator().manual_seed(layer)
        batch = torch.randn(TOKENS, heads.n_heads * heads.head_dim, generator=generator)
        deterministic = [
            item for item in layer_items if not hasattr(item.intervention, "forward_step")
        ]
        problem = None
        if deterministic:
            only = FlatHeads(deterministic).to("cpu", torch.float32)
            problem = _token_by_token_problem(only, batch)
            if problem is None and ranks > 1:
                problem = _rank_problem(only, batch, ranks)
        if problem is None and compiled:
            problem = _trace_problem(heads, batch)
        if problem is not None:
            problems.append(f"layer {layer} ({heads.extra_repr()}): {problem}")
    return problems


def _token_by_token_problem(heads: FlatHeads, batch: torch.Tensor) -> str | None:
    try:
        with torch.no_grad():
            together = heads(batch)
            alone = torch.cat([heads(batch[token : token + 1]) for token in range(TOKENS)])
    except Exception as error:  # a plugin's own code: any failure is the plugin's problem
        return f"it fails on a flat batch [1, {TOKENS}, heads, head_dim]: {_first_line(error)}"
    if together.shape != batch.shape:
        return f"it returns shape {tuple(together.shape)} for a batch of {tuple(batch.shape)}"
    if not torch.allclose(together, alone, atol=TOLERANCE, rtol=TOLERANCE):
        return (
            "it gives a token a different result in a batch than alone, so it mixes the "
            "tokens of different requests in vLLM's flat batch (token_wise = True is not "
            "true of it); run it with --model sparks"
        )
    return None


def _rank_problem(heads: FlatHeads, batch: torch.Tensor, ranks: int) -> str | None:
    """Each rank sees only its heads (the others' columns are zeros): the rank's heads must
    come out as they do when the intervention sees every head."""
    with torch.no_grad():
        whole = heads(batch)
        for rank in range(ranks):
            first, width = rank_columns(heads.n_heads, heads.head_dim, rank, ranks)
            alone = RankSlice(heads, rank, ranks)(batch.narrow(-1, first, width))
            if not torch.allclose(
                alone, whole.narrow(-1, first, width), atol=TOLERANCE, rtol=TOLERANCE
            ):
                return (
                    f"its result on a head depends on other heads, and with "
                    f"tensor_parallel_size={ranks} each rank holds only its own heads; run it "
                    f"with tensor_parallel_size=1"
                )
    return None


def _trace_problem(heads: FlatHeads, batch: torch.Tensor) -> str | None:
    import torch._dynamo

    torch._dynamo.reset()
    compiled = torch.compile(heads, backend="eager", fullgraph=True, dynamic=True)
    try:
        with torch.no_grad():
            compiled(batch)
            compiled(batch[:3])
    except Exception as error:  # Dynamo's Unsupported/UserError and the plugin's own errors
        return (
            f"torch.compile cannot trace it into vLLM's compiled graph "
            f"({_first_line(error)}); remove the graph break from its forward, or run "
            f"with enforce_eager=True (slower) or --model sparks"
        )
    finally:
        torch._dynamo.reset()
    return None


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}".rstrip(": ")
