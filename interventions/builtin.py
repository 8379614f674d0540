"""The built-in intervention kinds, registered through the same hook as outside plugins.

This module stays light (it is imported by ``sparks plugins``); the classes live in kinds.py,
imported when a factory runs.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Callable

from harness_ext.hookspecs import hookimpl

# float16's largest finite value. A larger factor (or noise STD) overflows half-precision
# activations to inf, and in any dtype it is no boost but a broken model (NaN probabilities).
MAX_MAGNITUDE = 65504.0

if TYPE_CHECKING:
    from harness_ext.hookspecs import InterventionFactory
    from harness_ext.interventions.base import HeadIntervention


@hookimpl
def register_interventions(register: Callable[[str, InterventionFactory], None]) -> None:
    register("zero", zero)
    register("scale", scale)
    register("mean", mean)
    register("noise", noise)
    register("random", random_control)


def zero() -> HeadIntervention:
    """Zero ablation: the heads' outputs are set to zero at every position (foldable)."""
    from harness_ext.interventions.kinds import ZeroHeads

    return ZeroHeads()


def scale(factor: str) -> HeadIntervention:
    """Multiply the heads' outputs by FACTOR: 1.3 boosts, 0.5 damps, 0 ablates (foldable).
    FACTOR must be finite with |FACTOR| <= 65504 (float16's largest value); when folding would
    push o_proj's weights past the model's dtype range, the run is refused before it starts."""
    from harness_ext.interventions.kinds import ScaleHeads

    return ScaleHeads(_number(factor, "FACTOR"))


def mean() -> HeadIntervention:
    """Mean ablation: each head's output is replaced by its mean over sparks' reference math
    prompts, computed once per model and heads and cached on disk."""
    from harness_ext.interventions.kinds import MeanHeads

    return MeanHeads()


def noise(std: str, seed: str = "0") -> HeadIntervention:
    """Add Gaussian noise with standard deviation STD (0 to 65504) to the heads' outputs, from a
    generator seeded with SEED (default 0) and the layer; draws follow the order of forward passes."""
    from harness_ext.interventions.kinds import NoiseHeads

    value = _number(std, "STD")
    if value < 0:
        raise ValueError(f"STD must be >= 0, got {std!r}")
    _refuse_non_ascii(seed, "SEED")
    try:
        seed_value = int(seed)
    except ValueError:
        raise ValueError(f"SEED must be an integer, got {seed!r}") from None
    return NoiseHeads(value, seed_value)


def random_control(seed: str = "0", kind: str = "zero", *args: str) -> HeadIntervention:
    """A random control: HEADS is K (K heads drawn from the whole model) or heads to match layer
    by layer (@heads.json#5, L3H1+L5H2: as many heads per layer, outside that set). SEED (default
    0) makes the draw reproducible; KIND (default zero) and its ARGS say what the drawn heads get,
    e.g. random:@heads.json#5:1:scale:1.3. The drawn heads avoid every head of the spec's other
    items; the run records them (config.sparks_random_control) and the concrete spec."""
    raise ValueError(
        "random is a control, not an intervention: sparks draws its heads and "
        "replaces it by KIND on them before anything runs (harness_ext.interventions."
        "controls); resolve the whole spec instead"
    )


def _number(text: str, what: str) -> float:
    """``text`` as a finite float of magnitude at most :data:`MAX_MAGNITUDE`."""
    _refuse_non_ascii(text, what)
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{what} must be a number, got {text!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"{what} must be a finite number, got {text!r}")
    if abs(value) > MAX_MAGNITUDE:
        raise ValueError(
            f"{what} {text} is too large: its magnitude must be at most {MAX_MAGNITUDE:g} "
            f"(float16's largest value); larger values overflow the model to inf/NaN"
        )
    return value


def _refuse_non_ascii(text: str, what: str) -> None:
    """Refuse digits of another script, which ``float()`` and ``int()`` would read (``١.٣``)."""
    if not text.isascii():
        raise ValueError(f"{what} must be written with ASCII digits 0-9, got {text!r}")
