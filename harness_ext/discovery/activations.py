"""The activations that attribution works on: each head's ``o_proj`` input slice captured,
patched (one head per batch row, or every head on an interpolation path) and given its own
autograd node, and the clean and corrupted runs of one problem set up once (:func:`setup`),
sharing the prompt's keys and values. Used by :mod:`harness_ext.discovery.attribution`.
torch is imported inside functions.
"""

from __future__ import annotations

import contextlib
import copy
import inspect
from typing import TYPE_CHECKING, Any, Iterator, Sequence

from harness_ext.formats.arch import get_arch
from harness_ext.hooks import InputFn, input_hooks

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel

    from harness_ext.formats.arch import ArchMapping, ModelShape

__all__ = [
    "capture_inputs",
    "corrupted_side",
    "head_activations",
    "patch_all",
    "patch_heads",
    "repeat_prefix",
    "setup",
]


def head_activations(
    model: PreTrainedModel, ids: Sequence[int]
) -> tuple[list[torch.Tensor], torch.Tensor]:
    """Each layer's ``o_proj`` input for ``ids`` (a list of ``[seq, n_heads * head_dim]``) and
    the logits ``[seq, vocab]``, from one forward pass."""
    import torch

    with _o_proj_inputs(model, get_arch(model.config)) as acts:
        logits = model(torch.tensor([list(ids)], device=model.device)).logits[0]
    return acts, logits


@contextlib.contextmanager
def _o_proj_inputs(model: PreTrainedModel, arch: Any) -> Iterator[list[torch.Tensor]]:
    """During the block (no gradients), every layer's ``o_proj`` input of the first sequence
    is kept in the yielded list, one ``[seq, n_heads * head_dim]`` tensor per layer."""
    import torch

    n_layers = arch.shape(model.config).n_layers
    acts: list[torch.Tensor] = [None] * n_layers  # type: ignore[list-item]

    def capture(layer: int) -> InputFn:
        def keep(x: torch.Tensor) -> None:
            acts[layer] = x[0].detach().clone()

        return keep

    with (
        input_hooks(model, {arch.o_proj_path(layer): capture(layer) for layer in range(n_layers)}),
        torch.no_grad(),
    ):
        yield acts


@contextlib.contextmanager
def capture_inputs(model: PreTrainedModel, paths: Sequence[str]) -> Iterator[list[torch.Tensor]]:
    """Give each module at ``paths`` a copy of its input (a separate autograd node, so its
    gradient is that module's share alone); the copies are listed in ``paths`` order."""
    captured: list[torch.Tensor] = [None] * len(paths)  # type: ignore[list-item]

    def copy_for(index: int) -> InputFn:
        def copy(x: torch.Tensor) -> torch.Tensor:
            captured[index] = x.clone()
            return captured[index]

        return copy

    with input_hooks(model, {path: copy_for(index) for index, path in enumerate(paths)}):
        yield captured


def repeat_prefix(after: dict[str, Any], rows: int) -> dict[str, Any]:
    """The keyword arguments of :func:`setup`'s shared prefix, for a batch of ``rows`` rows
    (the one-row cache repeated; empty stays empty). Each pass extends the cache it is given:
    pass it a copy."""
    if not after:
        return {}
    repeated = copy.deepcopy(after)
    for value in repeated.values():
        value.batch_repeat_interleave(rows)
    return {**repeated, "use_cache": True}


@contextlib.contextmanager
def patch_heads(
    model: PreTrainedModel,
    arch: ArchMapping,
    head_dim: int,
    values: list[torch.Tensor],
    heads: Sequence[tuple[int, int]],
    first: int,
) -> Iterator[None]:
    """Row i of the batch gets head ``heads[i]``'s slice of its ``o_proj`` input replaced by
    ``values[layer]`` from position ``first`` on (rows past ``len(heads)`` are left clean)."""
    by_layer: dict[int, list[tuple[int, int]]] = {}
    for row, (layer, head) in enumerate(heads):
        by_layer.setdefault(layer, []).append((row, head))

    def patch_for(layer: int) -> InputFn:
        def patch(x: torch.Tensor) -> torch.Tensor:
            x = x.clone()
            for row, head in by_layer[layer]:
                cols = slice(head * head_dim, (head + 1) * head_dim)
                x[row, :, cols] = values[layer][first:, cols].to(x.dtype)
            return x

        return patch

    with input_hooks(model, {arch.o_proj_path(layer): patch_for(layer) for layer in by_layer}):
        yield


def setup(
    model: PreTrainedModel,
    prompt_ids: Sequence[int],
    clean: Sequence[int],
    corrupt: Sequence[int] | None,
) -> tuple[
    ArchMapping,
    ModelShape,
    list[int],
    int,
    list[torch.Tensor],
    torch.Tensor,
    list[torch.Tensor],
    dict[str, Any],
]:
    """What both attributions start from: the architecture and its shape, the clean token ids,
    the position predicting the first opening token, and the clean and corrupted head
    activations (zeros for ``corrupt=None``) with the clean logits at the opening's positions,
    and, with a corrupted opening, the keyword arguments that continue after the prompt's
    shared part (all but its last token; empty without one). The two runs differ only in the
    opening, so position i of one is position i of the other and the shared part runs once."""
    import torch

    _check_openings(clean, corrupt)
    arch = get_arch(model.config)
    ids = [*prompt_ids, *clean]
    start = len(prompt_ids) - 1
    after: dict[str, Any] = {}  # with a corrupted opening: the cache of the shared prefix
    if corrupt is None or start < 1:
        clean_acts, clean_logits = head_activations(model, ids)
        clean_logits = clean_logits[start:-1]
        corrupt_acts = (
            [torch.zeros_like(a) for a in clean_acts]
            if corrupt is None
            else head_activations(model, [*prompt_ids, *corrupt])[0]
        )
    else:  # both runs share all but the last prompt token: computed once, continued twice
        first, _, after = _capture(model, arch, prompt_ids[:-1], {})
        rest, clean_logits, _ = _capture(model, arch, ids[start:], after)
        other = _capture(model, arch, [prompt_ids[-1], *corrupt], after)[0]
        clean_acts = [torch.cat([a, b]) for a, b in zip(first, rest)]
        corrupt_acts = [torch.cat([a, b]) for a, b in zip(first, other)]
    return (
        arch,
        arch.shape(model.config),
        ids,
        start,
        clean_acts,
        clean_logits,
        corrupt_acts,
        after,
    )


def corrupted_side(
    model: PreTrainedModel,
    prompt_ids: Sequence[int],
    clean: Sequence[int],
    corrupt: Sequence[int] | None,
    share_prompt: bool = True,
) -> tuple[int, list[torch.Tensor] | None, dict[str, Any]]:
    """The corrupted run alone, for a method that makes the clean run itself (Fisher's, with
    gradients): the first position the clean run must compute, the corrupted ``o_proj``
    inputs from that position on (None for ``corrupt=None``: zeros), and the keyword arguments
    that continue after the prompt's shared part (empty when the clean run starts at 0). With
    ``share_prompt`` (and a corrupted opening after a prompt of 2+ tokens) the shared part runs
    once, as in :func:`setup`; without it (gradient checkpointing drops a cache) the clean run
    starts at 0."""
    _check_openings(clean, corrupt)
    start = len(prompt_ids) - 1
    if corrupt is None:
        return 0, None, {}
    if not share_prompt or start < 1:
        return 0, head_activations(model, [*prompt_ids, *corrupt])[0], {}
    arch = get_arch(model.config)
    _, _, after = _capture(model, arch, prompt_ids[:-1], {})
    return start, _capture(model, arch, [prompt_ids[-1], *corrupt], after)[0], after


def _check_openings(clean: Sequence[int], corrupt: Sequence[int] | None) -> None:
    """Refuse an empty opening, or a corrupted one of another length."""
    if corrupt is not None and len(corrupt) != len(clean):
        raise ValueError(
            f"openings differ in length ({len(clean)} and {len(corrupt)} tokens); "
            "truncate both to the shorter one"
        )
    if not clean:
        raise ValueError("attribution needs a non-empty opening")


def _capture(
    model: PreTrainedModel,
    arch: ArchMapping,
    ids: Sequence[int],
    after: dict[str, Any],
) -> tuple[list[torch.Tensor], torch.Tensor, dict[str, Any]]:
    """Run ``ids`` (after the cache in ``after``, which is copied, not changed): each layer's
    ``o_proj`` input for them, the logits at their positions but the last, and the keyword
    arguments that continue after them."""
    import torch

    with _o_proj_inputs(model, arch) as acts:
        out = model(
            torch.tensor([list(ids)], device=model.device), use_cache=True, **copy.deepcopy(after)
        )
    cache = getattr(out, "cache", None) or out.past_key_values
    name = "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"
    return acts, out.logits[0, :-1], {name: cache}


@contextlib.contextmanager
def patch_all(
    model: PreTrainedModel,
    arch: ArchMapping,
    clean_acts: list[torch.Tensor],
    corrupt_acts: list[torch.Tensor],
    alphas: torch.Tensor,
    patched: list[torch.Tensor],
) -> Iterator[None]:
    """Set every head of every layer to its interpolated activation (row i of the batch uses
    ``alphas[i]``); the patched tensors, which gradients are taken against, go to ``patched``."""

    def patch_for(layer: int) -> InputFn:
        target = (
            corrupt_acts[layer][None]
            + alphas[:, None, None] * (clean_acts[layer] - corrupt_acts[layer])[None]
        )

        def patch(x: torch.Tensor) -> torch.Tensor:
            out = x + (target.to(x.dtype) - x).detach()  # value: target; gradient: identity
            patched.append(out)
            return out

        return patch

    with input_hooks(
        model, {arch.o_proj_path(layer): patch_for(layer) for layer in range(len(clean_acts))}
    ):
        yield
