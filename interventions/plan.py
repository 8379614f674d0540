"""One intervention plan for both backends: the heads, kinds, values and calibration of a spec.

:func:`build_plan` turns a spec into a plan for one model config: the random control drawn
(the spec becomes concrete), every item resolved to its plugin's intervention instance.
:meth:`InterventionPlan.calibrate` gives the interventions that want reference activations
(``mean``) their values, from the clean model run with transformers (cached on disk). The
transformers backend (``sparks``) applies ``plan.items`` with an ``o_proj`` input hook or by
folding; the vLLM backend (``sparks-vllm``) saves the same plan (:func:`save_plan`), and each
vLLM worker loads it (:func:`load_plan`) and traces it into the compiled model
(:mod:`harness_ext.interventions.flat`). Only *how* they apply it differs.

:meth:`InterventionPlan.digest` covers the concrete spec, every intervention's class and
values (the calibrated means included) and the source of the modules that define them and of
the applier, so a cached compiled graph keyed on it cannot belong to other interventions.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness_ext.errors import SparksError

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

    from harness_ext.formats.spec import InterventionSpec
    from harness_ext.interventions.controls import RandomControl
    from harness_ext.interventions.resolver import ResolvedIntervention

__all__ = ["InterventionPlan", "build_plan", "load_plan", "save_plan"]

PLAN_FORMAT = 1


@dataclass
class InterventionPlan:
    """A spec made concrete for one model: what every intervened layer gets."""

    spec: InterventionSpec
    control: RandomControl | None = None
    items: list[ResolvedIntervention] = field(default_factory=list)

    @property
    def normalized(self) -> str:
        """The concrete spec (a random control appears as the heads it drew)."""
        return self.spec.normalized()

    @property
    def layers(self) -> list[int]:
        """The intervened layers, ascending."""
        return sorted({item.layer for item in self.items})

    def calibrate(self, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase) -> None:
        """Give interventions that want reference activations their values (clean ``model``)."""
        from harness_ext.interventions.reference import calibrate, needs_calibration

        if needs_calibration(self.items):
            calibrate(model, tokenizer, self.items)

    def needs_calibration(self) -> bool:
        """True while an intervention still waits for its reference activations."""
        from harness_ext.interventions.reference import needs_calibration

        return bool(needs_calibration(self.items))

    def digest(self) -> str:
        """A digest of everything that decides what the plan computes (see the module doc)."""
        from harness_ext.interventions.flat import state_of

        sources = {_source_digest(type(item.intervention)) for item in self.items}
        sources.add(_source_digest(sys.modules["harness_ext.interventions.flat"]))
        payload = {
            "format": PLAN_FORMAT,
            "spec": self.normalized,
            "items": [
                {"item": str(item), "plugin": item.plugin, "state": state_of(item.intervention)}
                for item in self.items
            ],
            "sources": sorted(sources),
        }
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def build_plan(spec: InterventionSpec | str, config: Any) -> InterventionPlan:
    """Draw the spec's random control for ``config`` and resolve every item (no model work)."""
    from harness_ext.interventions.resolver import expand_controls, resolve

    expanded = expand_controls(spec, config)
    return InterventionPlan(expanded.spec, expanded.control, resolve(expanded.spec, config))


def save_plan(plan: InterventionPlan, folder: Path) -> Path:
    """Write ``plan`` (calibrated) to ``folder/<digest>.pt``, named by its digest; return the path.

    The file is a pickle of the plan's interventions (plugin classes are imported again where
    it is loaded): only :func:`load_plan` reads it, in processes that sparks started.
    """
    import torch

    from harness_ext.atomic import write_atomic_with

    if plan.needs_calibration():
        raise SparksError("the plan must be calibrated before it is saved (plan.calibrate)")
    path = Path(folder) / f"{plan.digest()}.pt"
    write_atomic_with(path, lambda stream: torch.save(plan, stream))
    return path


def load_plan(path: str | Path, digest: str) -> InterventionPlan:
    """The plan that :func:`save_plan` wrote at ``path``, checked against ``digest``."""
    import torch

    try:
        plan = torch.load(path, map_location="cpu", weights_only=False)
    except FileNotFoundError:
        raise SparksError(f"the intervention plan {path} is gone; start the run again") from None
    if not isinstance(plan, InterventionPlan) or plan.digest() != digest:
        raise SparksError(
            f"the intervention plan {path} does not match the run's digest {digest}; "
            f"start the run again"
        )
    return plan


def _source_digest(obj: Any) -> str:
    """A digest of the source file defining ``obj`` (its name when the file is unreadable)."""
    try:
        source = Path(inspect.getfile(obj)).read_bytes()
    except (OSError, TypeError):
        return f"unreadable:{getattr(obj, '__module__', None) or getattr(obj, '__name__', obj)}"
    return hashlib.sha256(source).hexdigest()[:16]
