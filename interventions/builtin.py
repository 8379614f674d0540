"""The built-in intervention kinds, registered through the same hook as outside plugins.

This module stays light (it is imported by ``sparks plugins``); the classes live in kinds.py,
imported when a factory runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from harness_ext.hookspecs import hookimpl

if TYPE_CHECKING:
    from harness_ext.hookspecs import InterventionFactory
    from harness_ext.interventions.base import HeadIntervention


@hookimpl
def register_interventions(register: Callable[[str, InterventionFactory], None]) -> None:
    register("zero", zero)
    register("scale", scale)
    register("mean", mean)
    register("noise", noise)


def zero() -> HeadIntervention:
    """Zero ablation: the heads' outputs are set to zero at every position (foldable)."""
    from harness_ext.interventions.kinds import ZeroHeads

    return ZeroHeads()


def scale(factor: str) -> HeadIntervention:
    """Multiply the heads' outputs by FACTOR: 1.3 boosts, 0.5 damps, 0 ablates (foldable)."""
    from harness_ext.interventions.kinds import ScaleHeads

    return ScaleHeads(_number(factor, "FACTOR"))


def mean() -> HeadIntervention:
    """Mean ablation: each head's output is replaced by its mean over sparks' reference math
    prompts, computed once per model and heads and cached on disk."""
    from harness_ext.interventions.kinds import MeanHeads

    return MeanHeads()


def noise(std: str, seed: str = "0") -> HeadIntervention:
    """Add Gaussian noise with standard deviation STD to the heads' outputs, from a generator
    seeded with SEED (default 0) and the layer; draws follow the order of forward passes."""
    from harness_ext.interventions.kinds import NoiseHeads

    value = _number(std, "STD")
    if value < 0:
        raise ValueError(f"STD must be >= 0, got {std!r}")
    try:
        seed_value = int(seed)
    except ValueError:
        raise ValueError(f"SEED must be an integer, got {seed!r}") from None
    return NoiseHeads(value, seed_value)


def _number(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{what} must be a number, got {text!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"{what} must be a finite number, got {text!r}")
    return value
