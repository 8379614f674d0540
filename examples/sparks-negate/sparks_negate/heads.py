"""The intervention itself: a pyvene intervention on ``[batch, seq, n_heads, head_dim]``."""

from __future__ import annotations

import torch

from harness_ext.interventions.base import HeadIntervention


class NegateHeads(HeadIntervention):
    """Multiply the selected heads' outputs by -1."""

    fold_scale = -1.0  # a constant scale: sparks may fold it into o_proj's weights instead

    def forward(
        self, base: torch.Tensor, source: object = None, subspaces: object = None
    ) -> torch.Tensor:
        return -base
