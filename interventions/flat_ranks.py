"""Head interventions under tensor parallelism: each rank applies the plan to its own heads.

With ``tensor_parallel_size = R``, vLLM splits ``o_proj`` (a row-parallel linear) by its input
columns: rank ``r`` gets ``[num_tokens, n_heads*head_dim/R]``, the columns of global heads
``r*n_heads/R`` to ``(r+1)*n_heads/R - 1``. With 4 heads of 32 and R = 2, global head 3 is rank
1's columns 32-64. A hook written for the whole width would hit the wrong columns there.

:class:`RankSlice` maps global heads to local columns by placing the rank's slice at its
global offset in a zero tensor of the whole width, running the layer's
:class:`~harness_ext.interventions.flat.FlatHeads` on that (so every intervention sees the
heads, indices and calibrated values it was built for), and keeping the rank's columns. The
other ranks' columns are zeros here and thrown away, so the result on the rank's own heads is
exact for every intervention that treats each head alone; ``sparks-vllm`` checks that before
the engine starts (:func:`~harness_ext.interventions.flat_checks.flat_run_problems` with
``ranks``). ``noise`` draws by each element's place in the whole-width batch, so its draws are
those of one rank. Each rank counts its own applied steps in the wrapped ``FlatHeads``.
"""

from __future__ import annotations

import torch

from harness_ext.interventions.flat import FlatHeads

__all__ = ["RankSlice", "rank_columns"]


def rank_columns(n_heads: int, head_dim: int, rank: int, ranks: int) -> tuple[int, int]:
    """``(first column, width)`` of ``rank``'s slice of ``o_proj``'s input (of ``ranks``)."""
    if n_heads % ranks:
        raise ValueError(f"{n_heads} heads do not split over {ranks} tensor-parallel ranks")
    width = n_heads // ranks * head_dim
    return rank * width, width


class RankSlice(torch.nn.Module):
    """One layer's interventions on one tensor-parallel rank's columns of ``o_proj``'s input."""

    def __init__(self, heads: FlatHeads, rank: int, ranks: int) -> None:
        super().__init__()
        self.heads = heads
        self.rank, self.ranks = rank, ranks
        self.total = heads.n_heads * heads.head_dim
        self.first, self.width = rank_columns(heads.n_heads, heads.head_dim, rank, ranks)

    @property
    def applied(self) -> torch.Tensor:
        """The steps this rank applied the layer's interventions in."""
        return self.heads.applied

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tail = self.total - self.first - self.width
        whole = torch.nn.functional.pad(x, (self.first, tail))
        return self.heads(whole).narrow(-1, self.first, self.width)

    def extra_repr(self) -> str:
        return f"rank {self.rank} of {self.ranks}, columns {self.first}-{self.first + self.width}"
