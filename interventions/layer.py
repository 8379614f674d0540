"""The pyvene intervention the runtime registers per layer: gather heads, call plugins, scatter back."""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import torch

from harness_ext.errors import SparksError
from harness_ext.interventions.base import pyvene

if TYPE_CHECKING:
    from harness_ext.interventions.resolve import ResolvedIntervention

__all__ = ["LayerHeads"]


class LayerHeads(pyvene.SourcelessIntervention):
    """One layer's head interventions, applied to the whole ``o_proj`` input ``[batch, seq, n_heads*head_dim]``.

    Each plugin intervention gets its heads as ``[batch, seq, n_selected, head_dim]`` and returns
    their replacement; the result is written back into the same columns.
    """

    def __init__(self, items: Sequence[ResolvedIntervention]) -> None:
        super().__init__(keep_last_dim=True)
        self.n_heads = items[0].n_heads
        self.head_dim = items[0].head_dim
        self.items = list(items)
        self.indices = [_head_index(item.heads) for item in items]

    def forward(self, base: torch.Tensor, source: object = None, subspaces: object = None) -> torch.Tensor:
        heads = base.view(*base.shape[:-1], self.n_heads, self.head_dim)
        for item, index in zip(self.items, self.indices):
            if isinstance(index, torch.Tensor) and index.device != base.device:
                index = index.to(base.device)
            selected = heads[..., index, :]
            replaced = item.intervention(selected, None, None)
            if getattr(replaced, "shape", None) != selected.shape:
                raise SparksError(
                    f"intervention {item.name!r} from plugin {item.plugin!r} returned shape "
                    f"{tuple(getattr(replaced, 'shape', ()))} for heads of shape {tuple(selected.shape)}; "
                    f"it must return [batch, seq, n_heads, head_dim] unchanged")
            heads[..., index, :] = replaced
        return base

    def __str__(self) -> str:
        return f"LayerHeads({'; '.join(map(str, self.items))})"


def _head_index(heads: Sequence[int]) -> slice | torch.Tensor:
    """A slice for consecutive heads (a view, no copy), else an index tensor."""
    if list(heads) == list(range(heads[0], heads[-1] + 1)):
        return slice(heads[0], heads[-1] + 1)
    return torch.tensor(heads, dtype=torch.long)
