"""The ``sparks_*`` block of lm-eval's results file: what the sparks models record about a run.

lm-eval writes a model's ``get_model_info()`` into ``config`` of ``results_<date>.json``. The
``sparks`` and ``sparks-vllm`` models add the keys below; :class:`SparksRecord` is their one
writer (:meth:`SparksRecord.to_config`, called by both models) and their one reader
(:meth:`SparksRecord.from_config`, used by the reports), so a key is named in one place only.

=========================== ==========================================================
``sparks_version``          the sparks that ran
``sparks_backend``          ``transformers`` or ``vllm``
``sparks_interventions``    the concrete spec (``zero:L2H1+L7H3``), None for a baseline
``sparks_random_control``   what a ``random:`` control drew (its ``record()``), else None
``sparks_intervention_mode`` ``fold``, ``hooks``, ``pyvene``, ``in-graph``; None without
``sparks_plugins``          ``{plugin: version}`` of the intervention plugins (empty without)
``sparks_applied_steps``    ``{"engine_steps": N, "layers": {"L": n}}``, None without
=========================== ==========================================================
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

__all__ = ["SparksRecord"]

_PREFIX = "sparks_"


@dataclass(frozen=True)
class SparksRecord:
    """The ``sparks_*`` keys of a results file's ``config``, typed."""

    version: str = "?"
    backend: Optional[str] = None
    interventions: Optional[str] = None
    random_control: Optional[dict[str, Any]] = None
    intervention_mode: Optional[str] = None
    plugins: dict[str, Optional[str]] = field(default_factory=dict)
    applied_steps: Optional[dict[str, Any]] = None

    def to_config(self) -> dict[str, Any]:
        """The keys as the models write them into ``get_model_info()``."""
        return {
            f"{_PREFIX}version": self.version,
            f"{_PREFIX}backend": self.backend,
            f"{_PREFIX}interventions": self.interventions,
            f"{_PREFIX}random_control": self.random_control,
            f"{_PREFIX}intervention_mode": self.intervention_mode,
            f"{_PREFIX}plugins": dict(self.plugins),
            f"{_PREFIX}applied_steps": self.applied_steps,
        }

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SparksRecord:
        """The record in a results file's ``config``; leniently typed, since the file may come
        from another model (no keys: the defaults) or an older sparks (a spec that is a list)."""
        spec = config.get(f"{_PREFIX}interventions")
        control = config.get(f"{_PREFIX}random_control")
        plugins = config.get(f"{_PREFIX}plugins")
        steps = config.get(f"{_PREFIX}applied_steps")
        mode = config.get(f"{_PREFIX}intervention_mode")
        backend = config.get(f"{_PREFIX}backend")
        return cls(
            version=str(config.get(f"{_PREFIX}version") or "?"),
            backend=str(backend) if backend else None,
            interventions=(spec if isinstance(spec, str) else json.dumps(spec)) if spec else None,
            random_control=control if isinstance(control, dict) else None,
            intervention_mode=str(mode) if mode else None,
            plugins=dict(plugins) if isinstance(plugins, dict) else {},
            applied_steps=steps if isinstance(steps, dict) else None,
        )
