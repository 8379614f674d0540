"""Test helpers for sparks and for plugin authors: tiny models, the reference hook, inline plugins.

Everything runs on CPU in seconds and offline. torch and transformers are imported inside the
functions, so importing this module is cheap.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerFast

__all__ = [
    "TINY_ARCHITECTURES",
    "reference_hook",
    "throwaway_plugin",
    "tiny_model",
    "tiny_tokenizer",
]

TINY_ARCHITECTURES = ("llama", "qwen2", "qwen3", "mistral")
TINY_VOCAB = 128  # byte-level: token id = ASCII code; 0 pads, 1 begins, 2 ends


def tiny_model(arch: str = "llama", seed: int = 0) -> PreTrainedModel:
    """A randomly initialised causal LM: 2 layers, hidden 64, 4 query and 2 kv heads (head_dim 16),
    vocabulary 128, float32, CPU, eval mode. ``arch`` is one of :data:`TINY_ARCHITECTURES`."""
    import torch
    from transformers import (
        AutoModelForCausalLM,
        LlamaConfig,
        MistralConfig,
        Qwen2Config,
        Qwen3Config,
    )

    configs = {
        "llama": LlamaConfig,
        "qwen2": Qwen2Config,
        "qwen3": Qwen3Config,
        "mistral": MistralConfig,
    }
    if arch not in configs:
        raise ValueError(f"unknown tiny architecture {arch!r}; choose one of {', '.join(configs)}")
    config = configs[arch](
        vocab_size=TINY_VOCAB,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=16,
        max_position_embeddings=256,
        pad_token_id=0,
        bos_token_id=1,
        eos_token_id=2,
        tie_word_embeddings=False,
        initializer_range=0.2,  # large weights: decisive logits, so greedy ties are unlikely
    )
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.generation_config.pad_token_id = 0
    return model.eval()


def tiny_tokenizer() -> PreTrainedTokenizerFast:
    """A byte-level tokenizer matching :func:`tiny_model`'s vocabulary (one token per ASCII
    character, left padding with id 0), built in memory."""
    from tokenizers import Tokenizer, models
    from transformers import PreTrainedTokenizerFast

    vocab = {chr(i): i for i in range(TINY_VOCAB)}
    backend = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="?"))
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        pad_token=chr(0),
        bos_token=chr(1),
        eos_token=chr(2),
        unk_token="?",
        padding_side="left",
    )


@contextlib.contextmanager
def reference_hook(
    model: PreTrainedModel,
    heads_to_fn: Mapping[tuple[int, int], Callable[[torch.Tensor], torch.Tensor]],
    o_proj: str = "model.layers.{layer}.self_attn.o_proj",
) -> Iterator[None]:
    """The ground truth for head interventions: a plain forward pre-hook on each ``o_proj``.

    ``heads_to_fn`` maps ``(layer, head)`` to a function from that head's output slice
    ``[batch, seq, head_dim]`` (input columns ``[h*d:(h+1)*d]`` of ``o_proj``) to its replacement.
    Heads of one layer are handled in ascending order. Hooks are removed on exit.
    """
    head_dim = _head_dim(model.config)
    by_layer: dict[int, list[tuple[int, Callable[[Any], Any]]]] = {}
    for (layer, head), fn in sorted(heads_to_fn.items(), key=lambda pair: pair[0]):
        by_layer.setdefault(layer, []).append((head, fn))
    handles = []
    try:
        for layer, fns in by_layer.items():
            module = model.get_submodule(o_proj.format(layer=layer))

            def hook(module: Any, args: tuple[Any, ...], fns: list[Any] = fns) -> tuple[Any, ...]:
                x = args[0].clone()
                for head, fn in fns:
                    cols = slice(head * head_dim, (head + 1) * head_dim)
                    x[..., cols] = fn(x[..., cols])
                return (x, *args[1:])

            handles.append(module.register_forward_pre_hook(hook))
        yield
    finally:
        for handle in handles:
            handle.remove()


@contextlib.contextmanager
def throwaway_plugin(name: str, plugin: object) -> Iterator[object]:
    """Register ``plugin`` (an object or module with ``@hookimpl`` functions) under ``name`` for
    the duration of the block; always unregistered afterwards. A function whose name matches no
    hook raises :class:`~harness_ext.plugins.PluginError`, as it would when installed."""
    import pluggy

    from harness_ext.plugins import PluginError, load_plugins, pm

    load_plugins()
    pm.register(plugin, name=name)
    try:
        try:
            pm.check_pending()  # a misspelt hook name fails here, as it would when installed
        except pluggy.PluginValidationError as error:
            raise PluginError(str(error)) from None
        yield plugin
    finally:
        pm.unregister(name=name)


def _head_dim(config: Any) -> int:
    head_dim = getattr(config, "head_dim", None)
    return int(head_dim) if head_dim else config.hidden_size // config.num_attention_heads
