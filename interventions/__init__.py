"""Attention-head interventions: resolve a spec for a model, then run the model with it.

    from harness_ext.formats.spec import parse_spec
    from harness_ext.interventions import apply_interventions, resolve

    resolved = resolve(parse_spec("zero:L12H3+L14H7;scale:L20H1:1.3"), model.config)
    intervened = apply_interventions(model, resolved, mode="auto", tokenizer=tokenizer)
    with intervened:                      # reusable: wrap every forward / generate call
        model.generate(**inputs)

Importing this package is cheap; the names below load their module (torch, pyvene) on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the real names for type checkers; at run time they load on first use
    from .base import HeadIntervention, HeadSite
    from .fold import fold_checkpoint
    from .reference import calibrate
    from .resolver import ResolvedIntervention, expand_controls, resolve
    from .runtime import Intervened, apply_interventions, choose_mode

__all__ = [
    "HeadIntervention",
    "HeadSite",
    "Intervened",
    "ResolvedIntervention",
    "apply_interventions",
    "calibrate",
    "choose_mode",
    "expand_controls",
    "fold_checkpoint",
    "resolve",
]

_HOMES = {
    "HeadIntervention": "base",
    "HeadSite": "base",
    "Intervened": "runtime",
    "apply_interventions": "runtime",
    "choose_mode": "runtime",
    "ResolvedIntervention": "resolver",
    "resolve": "resolver",
    "expand_controls": "resolver",
    "calibrate": "reference",
    "fold_checkpoint": "fold",
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
