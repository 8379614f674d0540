"""The data that locates attention heads in one architecture, and the model shape it gives."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["ArchMapping", "ModelShape"]


@dataclass(frozen=True)
class ModelShape:
    """The sizes that head references are checked against."""

    n_layers: int
    n_heads: int
    n_kv_heads: int
    head_dim: int

    def __str__(self) -> str:
        return (
            f"{self.n_layers} layers (0-{self.n_layers - 1}) x {self.n_heads} heads "
            f"(0-{self.n_heads - 1})"
        )


@dataclass(frozen=True)
class ArchMapping:
    """Where head outputs live and which config attributes give the sizes (one row of the
    table in :mod:`harness_ext.interventions.arch`).

    Head ``h`` of layer ``L`` is the slice ``[h*head_dim:(h+1)*head_dim]`` of the input of the
    module at ``o_proj.format(layer=L)`` (one slice per query head, also with grouped-query
    attention). ``head_dim`` falls back to ``hidden_size // n_heads`` when the config lacks it.
    ``attn_input``, ``mlp_input`` and ``final_norm`` are the modules whose input is the residual
    stream read by a layer's attention, its MLP, and the unembedding (edge attribution in
    ``sparks discover --edges``).
    """

    o_proj: str
    attn_input: str
    mlp_input: str
    final_norm: str
    n_layers: str
    n_heads: str
    n_kv_heads: str
    head_dim: str
    hidden_size: str

    def shape(self, config: Any) -> ModelShape:
        """The model's sizes, read from a Hugging Face config."""
        n_heads = int(getattr(config, self.n_heads))
        head_dim = getattr(config, self.head_dim, None)
        if head_dim is None:
            head_dim = int(getattr(config, self.hidden_size)) // n_heads
        n_kv_heads = getattr(config, self.n_kv_heads, None) or n_heads
        return ModelShape(
            int(getattr(config, self.n_layers)), n_heads, int(n_kv_heads), int(head_dim)
        )

    def reader_paths(self, n_layers: int) -> list[str]:
        """The residual-stream readers, in edge-target order: every layer's attention input, then
        every layer's MLP input, then the final norm (the logits)."""
        return (
            [self.attn_input.format(layer=layer) for layer in range(n_layers)]
            + [self.mlp_input.format(layer=layer) for layer in range(n_layers)]
            + [self.final_norm]
        )

    def o_proj_path(self, layer: int) -> str:
        """The module path of layer ``layer``'s attention output projection."""
        return self.o_proj.format(layer=layer)
