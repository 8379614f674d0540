"""The built-in intervention kinds: zero, scale, mean and noise (see builtin.py for their help)."""

from __future__ import annotations

import torch

from harness_ext.interventions.base import HeadIntervention

__all__ = ["MeanHeads", "NoiseHeads", "ScaleHeads", "ZeroHeads"]


class ZeroHeads(HeadIntervention):
    """Replace the heads' outputs with zeros."""

    fold_scale = 0.0

    def forward(
        self, base: torch.Tensor, source: object = None, subspaces: object = None
    ) -> torch.Tensor:
        return base.zero_()  # in place: base is a view of the o_proj input, or a copy of its heads


class ScaleHeads(HeadIntervention):
    """Multiply the heads' outputs by a constant factor."""

    def __init__(self, factor: float) -> None:
        super().__init__()
        self.factor = factor
        self.fold_scale = factor

    def forward(
        self, base: torch.Tensor, source: object = None, subspaces: object = None
    ) -> torch.Tensor:
        return base.mul_(self.factor)


class MeanHeads(HeadIntervention):
    """Replace the heads' outputs with their mean over the reference prompts."""

    token_wise = True

    def __init__(self) -> None:
        super().__init__()
        self.mean: torch.Tensor | None = None

    def calibrate(self, reference: torch.Tensor) -> None:
        """``reference``: the heads' outputs at every reference token, ``[n_tokens, n_heads, head_dim]``."""
        self.mean = reference.float().mean(dim=0)

    def forward(
        self, base: torch.Tensor, source: object = None, subspaces: object = None
    ) -> torch.Tensor:
        if self.mean is None:
            raise RuntimeError(
                "mean ablation used before calibrate(); sparks calls it when given a tokenizer"
            )
        return self.mean.to(device=base.device, dtype=base.dtype).expand(base.shape)


class NoiseHeads(HeadIntervention):
    """Add seeded Gaussian noise to the heads' outputs."""

    token_wise = True

    def __init__(self, std: float, seed: int) -> None:
        super().__init__()
        self.std = std
        self.seed = seed
        self._generator: torch.Generator | None = None

    def forward(
        self, base: torch.Tensor, source: object = None, subspaces: object = None
    ) -> torch.Tensor:
        if self._generator is None or self._generator.device != base.device:
            layer = self.site.layer if self.site is not None else 0
            self._generator = torch.Generator(device=base.device)
            self._generator.manual_seed(noise_seed(self.seed, layer))
        noise = torch.randn(
            base.shape, generator=self._generator, device=base.device, dtype=base.dtype
        )
        return base + self.std * noise

    def forward_step(self, base: torch.Tensor, step: torch.Tensor) -> torch.Tensor:
        """On vLLM's flat batch: counter-based draws keyed on seed, layer, step and element
        (reproducible within vLLM, not draw for draw equal to :meth:`forward`)."""
        from harness_ext.interventions.flat import counter_normal

        layer = self.site.layer if self.site is not None else 0
        return base + self.std * counter_normal(base, noise_seed(self.seed, layer), step)


def noise_seed(seed: int, layer: int) -> int:
    """The generator seed for one layer, so that layers draw different noise from one user seed."""
    return seed * 1_000_003 + layer
