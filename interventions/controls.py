"""Matched random controls: ``random:REF[:SEED[:KIND[:ARG...]]]`` becomes KIND on drawn heads.

REF is a number K (K heads drawn from the whole model) or a head selection, the reference set
(``@heads.json#5``, ``L3H1+L5H2``), matched layer by layer: as many heads are drawn in each
layer as the reference set has there. SEED (default 0) seeds the draw, KIND (default ``zero``)
and its ARGs say what the drawn heads get: ``random:@heads.json#5:1:scale:1.3`` boosts 5
matched random heads by 1.3.

The draw, reproducible without sparks (:data:`ALGORITHM`)::

    excluded   = reference set | every head named by the spec's other items
    candidates = sorted((layer, head) for every head of the model if not in excluded)
    rng        = random.Random(SEED)
    keys       = {c: rng.random() for c in candidates}     # one key per candidate, in order
    ranked     = sorted(candidates, key=lambda c: (keys[c], c))
    random:K   -> the first K of ranked
    matched    -> walk ranked, taking a head while its layer still needs one

Only ``Random(seed).random()`` is used: Python guarantees its sequence across versions (unlike
``sample`` or ``shuffle``). Nothing here imports torch.
"""

from __future__ import annotations

import inspect
import random
from collections import Counter
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from harness_ext.formats.arch.mapping import ModelShape
from harness_ext.formats.spec import (
    RANDOM,
    HeadRef,
    InterventionItem,
    InterventionSpec,
    SpecError,
    caret_message,
)
from harness_ext.plugins import Registered, usage

__all__ = ["ALGORITHM", "Expanded", "RandomControl", "draw", "expand"]

ALGORITHM = (
    "sparks-random-1: candidates = the model's heads, sorted by (layer, head), minus the "
    "reference set and the other items' heads; key each with random.Random(seed).random() "
    "in that order; take heads by ascending (key, layer, head), the first K, or while "
    "their layer still needs one to match the reference set"
)
Head = tuple[int, int]


@dataclass(frozen=True)
class RandomControl:
    """A drawn random control: what was asked for and the heads it got."""

    spec: str  # the control item, normalized: random:L3H1+L5H2:1:zero
    source: str  # the whole spec as given (it may name a heads file)
    seed: int
    kind: str
    args: tuple[str, ...]  # KIND's arguments
    matched_to: tuple[str, ...] | None  # the reference set; None for random:K
    heads: tuple[str, ...]  # the drawn heads, sorted
    intervention: str  # the concrete item that replaces it: zero:L2H1+L7H3

    def record(self) -> dict[str, Any]:
        """The JSON form written into results (``config.sparks_random_control``)."""
        return {
            "spec": self.spec,
            "source": self.source,
            "seed": self.seed,
            "kind": self.kind,
            "args": list(self.args),
            "count": len(self.heads),
            "matched_to": None if self.matched_to is None else list(self.matched_to),
            "heads": list(self.heads),
            "intervention": self.intervention,
            "algorithm": ALGORITHM,
        }


@dataclass(frozen=True)
class Expanded:
    """A spec with its random control replaced by a concrete item, and that control."""

    spec: InterventionSpec
    control: RandomControl | None = None


def expand(
    spec: InterventionSpec, shape: ModelShape, registry: Mapping[str, Registered]
) -> Expanded:
    """``spec`` with its ``random`` item drawn for a model of ``shape``; unchanged without one.

    The reference heads must already be checked against ``shape``. Raises :class:`SpecError`
    for an unknown KIND, bad KIND arguments, or too few heads to draw from.
    """
    item = spec.control
    if item is None:
        return Expanded(spec)
    seed, kind, args = int(item.args[0]), item.args[1], item.args[2:]
    _check_kind(item, kind, args, registry, spec.text)
    others = [other for other in spec.items if other is not item]
    taken = {head for other in others for head in explicit(other.heads, shape)}
    reference = explicit(item.heads, shape)
    candidates = [head for head in all_heads(shape) if head not in taken and head not in reference]
    if item.count is not None:
        _check_count(item, item.count, len(candidates), len(taken), shape, spec.text)
        drawn = draw(candidates, seed, count=item.count)
    else:
        need = Counter(layer for layer, _ in reference)
        _check_layers(item, need, candidates, taken, reference, shape, spec.text)
        drawn = draw(candidates, seed, per_layer=need)
    concrete = InterventionItem(
        kind, tuple(HeadRef(layer, head, item.pos) for layer, head in drawn), args, item.pos
    )
    items = tuple(sorted([*others, concrete], key=str))
    control = RandomControl(
        spec=str(item),
        source=spec.text,
        seed=seed,
        kind=kind,
        args=args,
        matched_to=None if item.count is not None else tuple(_names(sorted(reference))),
        heads=tuple(_names(drawn)),
        intervention=str(concrete),
    )
    return Expanded(InterventionSpec(items, spec.text), control)


def draw(
    candidates: Sequence[Head],
    seed: int,
    *,
    count: int | None = None,
    per_layer: Mapping[int, int] | None = None,
) -> list[Head]:
    """Heads drawn from ``candidates`` with ``random.Random(seed)`` (see :data:`ALGORITHM`):
    ``count`` of them, or ``per_layer[layer]`` of each layer; sorted by (layer, head)."""
    pool = sorted(candidates)
    rng = random.Random(seed)
    keys = [rng.random() for _ in pool]
    ranked = [pool[i] for i in sorted(range(len(pool)), key=lambda i: (keys[i], pool[i]))]
    if per_layer is None:
        return sorted(ranked[:count])
    left = dict(per_layer)
    chosen = []
    for layer, head in ranked:
        if left.get(layer, 0) > 0:
            chosen.append((layer, head))
            left[layer] -= 1
    return sorted(chosen)


def all_heads(shape: ModelShape) -> list[Head]:
    """Every (layer, head) of a model, sorted."""
    return [(layer, head) for layer in range(shape.n_layers) for head in range(shape.n_heads)]


def explicit(refs: Sequence[HeadRef], shape: ModelShape) -> set[Head]:
    """The single heads that ``refs`` name (``L3`` is every head of layer 3)."""
    heads: set[Head] = set()
    for ref in refs:
        if ref.head is None:
            heads.update((ref.layer, head) for head in range(shape.n_heads))
        else:
            heads.add((ref.layer, ref.head))
    return heads


def _names(heads: Sequence[Head]) -> list[str]:
    return [f"L{layer}H{head}" for layer, head in heads]


def _check_kind(
    item: InterventionItem,
    kind: str,
    args: tuple[str, ...],
    registry: Mapping[str, Registered],
    text: str,
) -> None:
    entry = registry.get(kind)
    if entry is None:
        known = "; ".join(
            f"{name} (from {registry[name].plugin})" for name in sorted(registry) if name != RANDOM
        )
        raise SpecError(
            caret_message(
                f"unknown intervention kind {kind!r} for the random control; known: {known or 'none'}",
                text,
                item.arg_position(1),
                hint="write random:REF:SEED:KIND[:ARG...], e.g. random:5:0:zero or random:5:0:scale:1.3",
            )
        )
    try:
        inspect.signature(entry.obj).bind(*args)
    except TypeError:
        form = usage(kind, entry.obj).replace(f"{kind}:HEADS", f"random:REF:SEED:{kind}", 1)
        count = f"{len(args)} argument{'s' if len(args) != 1 else ''}"
        raise SpecError(
            caret_message(
                f"{kind!r} got {count} {list(args)}; expected {form}",
                text,
                item.arg_position(1),
                hint="",
            )
        ) from None
    except ValueError:  # no signature available: the factory checks its arguments
        pass


def _check_count(
    item: InterventionItem, count: int, available: int, taken: int, shape: ModelShape, text: str
) -> None:
    """Refuse ``random:K`` (``count`` = K) when fewer than K heads are free to draw."""
    if count <= available:
        return
    total = shape.n_layers * shape.n_heads
    others = f", the spec's other items take {taken} of them" if taken else ""
    raise SpecError(
        caret_message(
            f"random:{count} asks for {count} heads, but this model has {total} heads "
            f"({shape}){others}: at most {available} can be drawn; ask for fewer heads",
            text,
            item.pos,
            hint="",
        )
    )


def _check_layers(
    item: InterventionItem,
    need: Mapping[int, int],
    candidates: Sequence[Head],
    taken: set[Head],
    reference: set[Head],
    shape: ModelShape,
    text: str,
) -> None:
    """Refuse a reference set that some layer cannot match: too few heads outside it there."""
    left = Counter(layer for layer, _ in candidates)
    problems = []
    for layer in sorted(need):
        if left[layer] >= need[layer]:
            continue
        others = sorted(head for head in taken - reference if head[0] == layer)
        also = (
            f" and the spec's other items {len(others)} more ({'+'.join(_names(others))})"
            if others
            else ""
        )
        rest = (
            "no head left to match"
            if left[layer] == 0
            else f"{left[layer]} left to match its {need[layer]}"
        )
        problems.append(
            f"layer {layer} has {shape.n_heads} heads, the reference set takes "
            f"{need[layer]} of them{also}: {rest}"
        )
    if problems:
        raise SpecError(
            caret_message(
                "; ".join(problems) + ". A matched control draws as many heads per layer as the "
                "reference set has there, from the heads outside it: use a reference set with fewer "
                "heads in that layer, or random:K to draw K heads from the whole model",
                text,
                item.pos,
                hint="",
            )
        )
