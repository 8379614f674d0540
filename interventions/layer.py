"""One layer's head interventions, as the function the ``o_proj`` input hook calls.

:class:`LayerHeads` is what :func:`harness_ext.hooks.input_hooks` runs on an intervened layer's
``o_proj`` input: it gathers each item's heads, calls the item's pyvene intervention on them
(``intervention(base, None, None)``, i.e. its ``forward(base, source=None, subspaces=None)``)
and writes the result back into the same columns.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import torch

from harness_ext.errors import SparksError

if TYPE_CHECKING:
    from harness_ext.interventions.resolver import ResolvedIntervention

__all__ = ["LayerHeads", "layer_edits"]


class LayerHeads:
    """One layer's head interventions, applied to its ``o_proj`` input ``[batch, seq, n_heads*head_dim]``.

    Calling it with that input edits the input in place and returns it (or a contiguous copy
    of a non-contiguous input). Each plugin intervention gets its heads as
    ``[batch, seq, n_selected, head_dim]`` (a view for consecutive heads, else a copy) and
    returns their replacement.
    """

    def __init__(self, items: Sequence[ResolvedIntervention]) -> None:
        self.n_heads = items[0].n_heads
        self.head_dim = items[0].head_dim
        self.items = list(items)
        self.indices = [_head_index(item.heads) for item in items]
        self.applied = 0  # forward passes this layer's interventions ran in

    def __call__(self, base: torch.Tensor) -> torch.Tensor:
        self.applied += 1
        if not base.is_contiguous():
            base = base.contiguous()
        heads = base.view(*base.shape[:-1], self.n_heads, self.head_dim)
        for number, (item, index) in enumerate(zip(self.items, self.indices)):
            if isinstance(index, tuple):  # consecutive heads: a view, written back only if replaced
                selected = heads.narrow(-2, index[0], index[1])
            else:
                if index.device != base.device:
                    index = self.indices[number] = index.to(base.device)
                selected = heads.index_select(-2, index)
            try:
                replaced = item.intervention(selected, None, None)
            except SparksError:
                raise
            except Exception as error:
                raise SparksError(
                    f"intervention {item.name!r} from plugin {item.plugin!r} failed on "
                    f"{item.intervention.site} with heads of shape {tuple(selected.shape)}: "
                    f"{type(error).__name__}: {error}"
                ) from error
            if replaced is selected:
                if isinstance(index, tuple):
                    continue
            elif getattr(replaced, "shape", None) != selected.shape:
                raise SparksError(
                    f"intervention {item.name!r} from plugin {item.plugin!r} returned shape "
                    f"{tuple(getattr(replaced, 'shape', ()))} for heads of shape {tuple(selected.shape)}; "
                    f"it must return [batch, seq, n_heads, head_dim] unchanged"
                )
            if isinstance(index, tuple):
                selected.copy_(replaced)
            else:
                heads.index_copy_(-2, index, replaced.to(heads.dtype))
        return base

    def __str__(self) -> str:
        return f"LayerHeads({'; '.join(map(str, self.items))})"


def layer_edits(resolved: Sequence[ResolvedIntervention]) -> dict[str, LayerHeads]:
    """``{o_proj path: LayerHeads}``, one per intervened layer, for :func:`harness_ext.hooks.input_hooks`."""
    by_module: dict[str, list[ResolvedIntervention]] = {}
    for item in resolved:
        by_module.setdefault(item.o_proj, []).append(item)
    return {path: LayerHeads(items) for path, items in by_module.items()}


def _head_index(heads: Sequence[int]) -> tuple[int, int] | torch.Tensor:
    """``(start, length)`` for consecutive heads (selected as a view), else an index tensor."""
    if list(heads) == list(range(heads[0], heads[-1] + 1)):
        return (heads[0], len(heads))
    return torch.tensor(heads, dtype=torch.long)
