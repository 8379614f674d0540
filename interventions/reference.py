"""Reference activations for interventions that need statistics of the clean model (``mean``).

An intervention with a ``calibrate(reference)`` method gets, once, its heads' outputs at every
token of :data:`REFERENCE_PROMPTS` run through the un-intervened model:
``[n_tokens, n_heads, head_dim]`` in float32. They are cached on disk under
``<sparks cache>/reference/`` keyed by the model's name or path, a fingerprint of the layer's
``o_proj`` weight, the layer, the heads and the prompts.
"""

from __future__ import annotations

import hashlib
import json
import os
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

from harness_ext.atomic import write_atomic_with
from harness_ext.errors import SparksError
from harness_ext.hooks import input_hooks
from harness_ext.interventions.fold import o_proj_weight

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

    from harness_ext.interventions.resolver import ResolvedIntervention

__all__ = [
    "ACTIVE_ATTR",
    "REFERENCE_PROMPTS",
    "calibrate",
    "needs_calibration",
    "reference_cache_dir",
]

ACTIVE_ATTR = "_sparks_active"  # set on a model while interventions are applied to it

CACHE_FORMAT = 1
REFERENCE_PROMPTS: tuple[str, ...] = (
    "Find the sum of all positive integers n such that n^2 - 19n + 99 is a perfect square.",
    "A right triangle has legs 20 and 21. What is the length of its hypotenuse?",
    "How many positive divisors does 2024 have?",
    "Solve for x: 3x + 7 = 2x - 5.",
    "What is the remainder when 7^100 is divided by 13?",
    "The mean of five numbers is 12. Four of them are 10, 11, 14 and 15. Find the fifth.",
    "How many ways can 6 people sit around a round table?",
    "Compute the value of log base 2 of 1024 plus log base 3 of 81.",
    "A circle has area 49 pi. What is its circumference?",
    "If f(x) = 2x^2 - 3x + 1, find f(4) - f(-1).",
    "Let a and b be real numbers with a + b = 7 and ab = 10. Find a^2 + b^2.",
    "What is the probability of rolling a sum of 8 with two fair six-sided dice?",
)

_calibrated: "weakref.WeakSet[Any]" = weakref.WeakSet()


def needs_calibration(resolved: Sequence[ResolvedIntervention]) -> list[ResolvedIntervention]:
    """The items whose intervention wants reference activations and has not had them yet."""
    return [
        item
        for item in resolved
        if callable(getattr(item.intervention, "calibrate", None))
        and item.intervention not in _calibrated
    ]


def reference_cache_dir() -> Path:
    """``<sparks cache>/reference`` (the cache root honours ``SPARKS_CACHE_DIR``)."""
    from harness_ext.embedded import cache_dir

    return cache_dir() / "reference"


def calibrate(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    resolved: Sequence[ResolvedIntervention],
    *,
    prompts: Sequence[str] = REFERENCE_PROMPTS,
    cache_dir: str | os.PathLike[str] | None = None,
) -> None:
    """Give every intervention that has ``calibrate(reference)`` its reference activations.

    Must run on the clean model (outside ``apply_interventions``). Cached on disk; later calls
    for the same intervention objects do nothing.
    """
    todo = needs_calibration(resolved)
    if not todo:
        return
    if getattr(model, ACTIVE_ATTR, None):
        raise SparksError("calibration must run on the clean model, outside apply_interventions()")
    folder = Path(cache_dir) if cache_dir is not None else reference_cache_dir()
    pending = {}
    for item in todo:
        key = _cache_key(model, item, prompts)
        cached = _load(folder / f"{key}.pt")
        if cached is None:
            pending[key] = item
        else:
            _deliver(item, cached)
    if pending:
        collected = _collect(model, tokenizer, list(pending.values()), prompts)
        for key, item in pending.items():
            _save(folder / f"{key}.pt", collected[id(item)])
            _deliver(item, collected[id(item)])


def _deliver(item: ResolvedIntervention, reference: torch.Tensor) -> None:
    try:
        item.intervention.calibrate(reference)
    except Exception as error:
        raise SparksError(
            f"intervention {item.name!r} from plugin {item.plugin!r} failed in "
            f"calibrate(): {type(error).__name__}: {error}"
        ) from None
    _calibrated.add(item.intervention)


def _cache_key(model: PreTrainedModel, item: ResolvedIntervention, prompts: Sequence[str]) -> str:
    weight = o_proj_weight(model, item.o_proj).detach()
    fingerprint = hashlib.sha256(weight.float().cpu().numpy().tobytes()).hexdigest()
    payload = {
        "format": CACHE_FORMAT,
        "model": str(getattr(model.config, "_name_or_path", "")),
        "o_proj": fingerprint,
        "layer": item.layer,
        "heads": list(item.heads),
        "head_dim": item.head_dim,
        "dtype": str(weight.dtype),
        "prompts": list(prompts),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:32]


def _collect(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    items: list[ResolvedIntervention],
    prompts: Sequence[str],
) -> dict[int, torch.Tensor]:
    """Run each prompt alone (no padding) and keep the items' head slices at every token."""
    import torch

    chunks: dict[int, list[torch.Tensor]] = {id(item): [] for item in items}

    def capture(layer_items: list[ResolvedIntervention]) -> Callable[[torch.Tensor], None]:
        def keep(x: torch.Tensor) -> None:
            x = x.detach()
            for item in layer_items:
                heads = x.view(*x.shape[:-1], item.n_heads, item.head_dim)[..., list(item.heads), :]
                chunks[id(item)].append(
                    heads.reshape(-1, len(item.heads), item.head_dim).float().cpu()
                )

        return keep

    by_module: dict[str, list[ResolvedIntervention]] = {}
    for item in items:
        by_module.setdefault(item.o_proj, []).append(item)
    device = next(model.parameters()).device
    with (
        input_hooks(model, {path: capture(layer_items) for path, layer_items in by_module.items()}),
        torch.no_grad(),
    ):
        for prompt in prompts:
            ids = tokenizer(prompt, return_tensors="pt").input_ids.to(device)
            model(input_ids=ids, use_cache=False)
    return {key: torch.cat(parts) for key, parts in chunks.items()}


def _load(path: Path) -> torch.Tensor | None:
    import torch

    if not path.is_file():
        return None
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # a damaged cache entry is recomputed
        return None


def _save(path: Path, tensor: torch.Tensor) -> None:
    """Cache ``tensor`` at ``path`` atomically: a reader never loads half a file."""
    import torch

    write_atomic_with(path, lambda stream: torch.save(tensor, stream))
