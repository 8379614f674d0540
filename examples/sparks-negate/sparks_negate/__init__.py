"""sparks-negate: the ``negate`` head intervention, a complete example of a sparks plugin.

This module is what the entry point names. It stays light: ``sparks plugins`` imports it to
list the intervention, and torch/pyvene load only when a spec actually uses ``negate``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from harness_ext import hookimpl

if TYPE_CHECKING:
    from harness_ext.hookspecs import InterventionFactory
    from sparks_negate.heads import NegateHeads


@hookimpl
def register_interventions(register: Callable[[str, InterventionFactory], None]) -> None:
    register("negate", negate)


def negate() -> NegateHeads:
    """Flip the sign of the heads' outputs at every position (foldable)."""
    from sparks_negate.heads import NegateHeads

    return NegateHeads()
