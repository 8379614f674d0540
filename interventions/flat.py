"""Head interventions on a flat token batch, as graph-traceable modules (the vLLM applier).

vLLM runs every scheduled token of every request in one flat batch: ``o_proj`` gets
``[num_tokens, n_heads*head_dim]`` where prefill chunks and decode tokens of several requests
are mixed. :class:`FlatHeads` is one layer's interventions as an ``nn.Module`` meant to be
called from a forward pre-hook on that ``o_proj``, installed *before* vLLM compiles the model,
so that torch.compile traces it into the graph that then runs every step:

* each item's heads are gathered as ``[1, num_tokens, n_selected, head_dim]`` (batch 1, the
  flat tokens as the sequence), given to the item's intervention, and written back with
  out-of-place ops (``index_copy``), which the compiler handles without aliasing questions;
* a 0-d int64 buffer :attr:`FlatHeads.applied` is incremented in the graph at every call: the
  number of model steps in which the layer's interventions ran. The worker compares it with
  the steps it executed; a graph built without the hook leaves it at 0.

Which interventions can run here (:func:`flat_problem`): the token batch has no request or
position axis, so an intervention must act on each token alone. Constant scalings
(``fold_scale``) do; others declare ``token_wise = True``. An intervention that draws random
numbers defines ``forward_step(base, step)`` (``step``: a 0-d int64 tensor, the layer's step
count), called instead of ``forward``; ``noise`` draws from a counter-based generator keyed on
its seed, the layer, the step and the element's place in the batch, so it is reproducible
within vLLM for the same seed, prompts and engine settings, but not draw for draw equal to
transformers' ``torch.Generator`` stream.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Sequence

import torch

if TYPE_CHECKING:
    from harness_ext.interventions.resolver import ResolvedIntervention

__all__ = ["FlatHeads", "counter_normal", "flat_problem", "flat_layers"]

_MASK32 = 0xFFFFFFFF


def flat_problem(item: ResolvedIntervention) -> str | None:
    """Why ``item`` cannot run on a flat token batch, or None when it can."""
    intervention = item.intervention
    if item.fold_scale is not None or getattr(intervention, "token_wise", False) is True:
        return None
    return (
        f"{item.name!r} from plugin {item.plugin!r} does not declare that it acts on each token "
        f"alone: vLLM gives interventions one flat batch of tokens from many requests "
        f"([1, num_tokens, n_heads, head_dim]), with no request or position axis. A plugin "
        f"whose forward treats every token alone sets the class attribute token_wise = True "
        f"(docs/vllm.md); otherwise run it with --model sparks"
    )


class FlatHeads(torch.nn.Module):
    """One layer's interventions on ``o_proj``'s flat input ``[num_tokens, n_heads*head_dim]``."""

    applied: torch.Tensor

    def __init__(self, items: Sequence[ResolvedIntervention]) -> None:
        super().__init__()
        self.layer = items[0].layer
        self.n_heads = items[0].n_heads
        self.head_dim = items[0].head_dim
        self.names = [str(item) for item in items]
        self.interventions = torch.nn.ModuleList([item.intervention for item in items])
        for number, item in enumerate(items):
            self.register_buffer(f"index_{number}", torch.tensor(item.heads, dtype=torch.long))
        self.register_buffer("applied", torch.zeros((), dtype=torch.long))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        step = self.applied.clone()
        self.applied.add_(1)
        heads = x.reshape(1, -1, self.n_heads, self.head_dim)
        intervention: Any
        for number, intervention in enumerate(self.interventions):
            index = getattr(self, f"index_{number}")
            selected = heads.index_select(2, index)
            if hasattr(intervention, "forward_step"):
                replaced = intervention.forward_step(selected, step)
            else:
                replaced = intervention(selected, None, None)
            heads = heads.index_copy(2, index, replaced.to(heads.dtype))
        return heads.reshape(x.shape)

    def extra_repr(self) -> str:
        return "; ".join(self.names)


def flat_layers(resolved: Sequence[ResolvedIntervention]) -> dict[str, FlatHeads]:
    """``{o_proj path: FlatHeads}``, one per intervened layer, on the interventions' device."""
    by_module: dict[str, list[ResolvedIntervention]] = {}
    for item in resolved:
        by_module.setdefault(item.o_proj, []).append(item)
    return {path: FlatHeads(items) for path, items in by_module.items()}


def _hash32(x: torch.Tensor) -> torch.Tensor:
    """A 32-bit integer mix (int64 in, values below 2**32 out; products stay below 2**59)."""
    x = ((x >> 16) ^ x) * 0x45D9F3B & _MASK32
    x = ((x >> 16) ^ x) * 0x45D9F3B & _MASK32
    return (x >> 16) ^ x


def counter_normal(like: torch.Tensor, key: int, step: torch.Tensor) -> torch.Tensor:
    """Standard normal draws shaped like ``like``, a pure function of (key, step, element).

    Counter-based (no generator state), so it traces into a compiled graph and gives the same
    numbers for the same key, step and element on any device. Box-Muller over two hashed
    32-bit uniforms.
    """
    count = like.numel()
    index = torch.arange(count, device=like.device, dtype=torch.long)
    salt = _hash32((step.to(like.device) * 0x9E3779B1 + (key & _MASK32)) & _MASK32)
    first = _hash32((index * 2 + salt) & _MASK32)
    second = _hash32((index * 2 + 1 + (salt ^ 0x5BD1E995)) & _MASK32)
    u1 = (first.double() + 1.0) / (2.0**32 + 1.0)
    u2 = second.double() / 2.0**32
    normal = torch.sqrt(-2.0 * torch.log(u1)) * torch.cos(2.0 * math.pi * u2)
    return normal.to(like.dtype).reshape(like.shape)


def state_of(intervention: Any) -> Any:
    """What the plan digest covers of an intervention: its class and its attributes' values
    (tensors, numbers, strings and the site; other objects by type name, so that the digest is
    the same in every process)."""
    kind = type(intervention)
    values = {
        name: _plain(value)
        for name, value in sorted(vars(intervention).items())
        if not name.startswith("_") and name != "training"
    }
    return {"class": f"{kind.__module__}.{kind.__qualname__}", "values": values}


def _plain(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return [str(value.dtype), value.detach().cpu().tolist()]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(element) for element in value]
    if type(value).__name__ == "HeadSite":
        return str(value)
    return type(value).__qualname__
