"""Mistral: head h of layer L is the input slice [h*head_dim:(h+1)*head_dim] of self_attn.o_proj."""

from harness_ext.interventions.arch.mapping import ArchMapping

MISTRAL = ArchMapping(
    o_proj="model.layers.{layer}.self_attn.o_proj",
    n_layers="num_hidden_layers",
    n_heads="num_attention_heads",
    n_kv_heads="num_key_value_heads",
    head_dim="head_dim",
)
