"""The contract between sparks and an intervention, and a base class for writing one.

An intervention is a pyvene intervention whose ``forward(base, source=None, subspaces=None)``
gets ``base`` of shape ``[batch, seq, n_heads, head_dim]`` (the outputs of its selected query
heads in one layer, ascending head order) and returns the same shape. See docs/plugins.md.
Importing this module imports torch and pyvene.
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass
from types import ModuleType
from typing import Any


def import_pyvene() -> ModuleType:
    """pyvene, imported without the notice it prints on stdout when nnsight is not installed.

    pyvene 0.1.8 runs ``try: import nnsight`` / ``except: print(...)`` for an optional backend
    that sparks never uses. When nnsight is absent, that one import is answered, for the moment
    pyvene loads, by an empty placeholder module (whose ``LanguageModel`` matches no model), so
    nothing is printed; stdout is left alone, and the placeholder is gone from ``sys.modules``
    afterwards. An installed nnsight is imported as usual.
    """
    if "pyvene" in sys.modules:
        return sys.modules["pyvene"]
    placeholder = None
    if "nnsight" not in sys.modules and importlib.util.find_spec("nnsight") is None:
        placeholder = ModuleType(
            "nnsight", "sparks' stand-in for the absent nnsight, while pyvene loads"
        )
        placeholder.LanguageModel = type("LanguageModel", (), {})  # type: ignore[attr-defined]
        sys.modules["nnsight"] = placeholder
    try:
        import pyvene
    finally:
        if placeholder is not None and sys.modules.get("nnsight") is placeholder:
            del sys.modules["nnsight"]
    return pyvene


pyvene = import_pyvene()

__all__ = ["HeadIntervention", "HeadSite", "import_pyvene"]


@dataclass(frozen=True)
class HeadSite:
    """Where an intervention instance acts: ``heads`` (ascending) of ``layer``, each ``head_dim`` wide."""

    layer: int
    heads: tuple[int, ...]
    head_dim: int

    def __str__(self) -> str:
        return "+".join(f"L{self.layer}H{head}" for head in self.heads)


class HeadIntervention(pyvene.SourcelessIntervention):  # type: ignore[name-defined,misc]
    """Base class for head interventions: override :meth:`forward`.

    Class attributes a subclass may set: ``fold_scale`` (a float when the intervention multiplies
    each selected head's output by that constant, so it can be folded into ``o_proj``'s weight).
    Subclasses that need statistics of the clean model define ``calibrate(reference)``.
    The runtime sets :attr:`site` before the first forward.
    """

    fold_scale: float | None = None
    token_wise: bool = False  # forward treats each token alone: it may run on vLLM's flat batch

    def __init__(self) -> None:
        super().__init__(keep_last_dim=True)
        self.site: HeadSite | None = None

    def forward(self, base: Any, source: Any = None, subspaces: Any = None) -> Any:
        """``base``: ``[batch, seq, n_heads, head_dim]``; return the replacement, same shape."""
        raise NotImplementedError(f"{type(self).__name__} must implement forward(base)")

    def __str__(self) -> str:
        return f"{type(self).__name__}({self.site})"
