"""Architecture mappings: one table from Hugging Face ``config.model_type`` to attribute paths.

Data that the interventions and discovery share, so it lives in the formats layer;
``harness_ext.interventions.arch`` re-exports it.

Llama, Mistral, Qwen2 and Qwen3 lay out their decoders alike, so one :class:`ArchMapping`
serves all four. To add an architecture:

* laid out like Llama (``model.layers.{layer}.self_attn.o_proj`` and the same norms and config
  names): add its ``model_type`` to :data:`ARCHITECTURES` with :data:`LLAMA_LAYOUT`;
* differing only in a path or a config name: ``dataclasses.replace(LLAMA_LAYOUT, final_norm=...)``;
* differing in kind (heads that are not ``o_proj`` input slices, fused projections): give it a
  module of its own here, and import its mapping explicitly.

Then add the type to ``harness_ext.testing.tiny_model`` so the exactness tests
(tests/interventions/test_interventions_exact.py) and the mapping test cover it.
"""

from __future__ import annotations

from typing import Any

from harness_ext.errors import SparksError
from harness_ext.formats.arch.mapping import ArchMapping, ModelShape

__all__ = [
    "ARCHITECTURES",
    "LLAMA_LAYOUT",
    "ArchMapping",
    "ModelShape",
    "UnsupportedArchitecture",
    "get_arch",
]

LLAMA_LAYOUT = ArchMapping(
    o_proj="model.layers.{layer}.self_attn.o_proj",  # head h: input slice [h*head_dim:(h+1)*head_dim]
    attn_input="model.layers.{layer}.input_layernorm",
    mlp_input="model.layers.{layer}.post_attention_layernorm",
    final_norm="model.norm",
    n_layers="num_hidden_layers",
    n_heads="num_attention_heads",
    n_kv_heads="num_key_value_heads",
    head_dim="head_dim",
    hidden_size="hidden_size",
)
"""Decoder layers under ``model.layers``, attention under ``self_attn``, the final norm ``model.norm``."""

ARCHITECTURES: dict[str, ArchMapping] = {
    "llama": LLAMA_LAYOUT,
    "mistral": LLAMA_LAYOUT,
    "qwen2": LLAMA_LAYOUT,
    "qwen3": LLAMA_LAYOUT,
}
"""``config.model_type`` -> where its heads and residual-stream readers live."""


class UnsupportedArchitecture(SparksError):
    """The model's architecture has no mapping, so its heads cannot be located."""


def get_arch(config: Any) -> ArchMapping:
    """The mapping for a Hugging Face config, by its ``model_type``."""
    model_type = getattr(config, "model_type", None)
    try:
        return ARCHITECTURES[str(model_type)]
    except KeyError:
        raise UnsupportedArchitecture(
            f"head interventions do not support model_type {model_type!r} yet; supported: "
            f"{', '.join(sorted(ARCHITECTURES))}. Add a mapping to harness_ext.formats.arch "
            f"(harness_ext/formats/arch/__init__.py gives the recipe)"
        ) from None
