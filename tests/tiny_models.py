"""Tiny random checkpoints (model + tokenizer) on disk, for tests that need a real folder."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from harness_ext.model import SparksLM

CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}"
    "<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
SIZES = dict(
    hidden_size=64,
    intermediate_size=128,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    max_position_embeddings=512,
)


def tiny_tokenizer():
    """A byte-level BPE tokenizer trained in memory on a few math sentences (no Hub)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=300,
        special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    corpus = [
        "What is 12 times 13? The answer is \\boxed{156}.",
        "Let x be a real number such that x^2 = 4. Find x.",
    ] * 20
    tokenizer.train_from_iterator(corpus, trainer)
    wrapped = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        bos_token="<|im_start|>",
    )
    wrapped.chat_template = CHAT_TEMPLATE
    return wrapped


def save_tiny_checkpoint(arch: str, folder: Path, seed: int = 0) -> Path:
    """Save a tiny random ``arch`` ("llama" or "qwen2") model and tokenizer to ``folder``."""
    import torch
    from transformers import AutoModelForCausalLM, LlamaConfig, Qwen2Config

    tokenizer = tiny_tokenizer()
    config_class = {"llama": LlamaConfig, "qwen2": Qwen2Config}[arch]
    config = config_class(
        vocab_size=len(tokenizer),
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        **SIZES,
    )
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config).eval()
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


# Qwen3's rule, in miniature: with enable_thinking false the generation prompt already holds an
# empty think block, so the model answers at once; with it true (or unset) the model opens it.
THINKING_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}"
    "<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n"
    "{% if enable_thinking is defined and enable_thinking is false %}<think>\n\n</think>\n\n"
    "{% endif %}{% endif %}"
)


def save_tiny_thinking_checkpoint(
    folder: Path, seed: int = 0, chat_template: str = THINKING_TEMPLATE
) -> Path:
    """Save a tiny random Qwen3 model (``harness_ext.testing.tiny_model``) and its byte-level
    tokenizer with ``chat_template`` (by default one honouring ``enable_thinking``) to ``folder``."""
    from harness_ext.testing import tiny_model, tiny_tokenizer

    tokenizer = tiny_tokenizer()
    tokenizer.chat_template = chat_template
    tiny_model("qwen3", seed).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def plant_heads(model, heads, factor: float):  # noqa: ANN001, ANN201
    """Scale the ``o_proj`` input columns of ``heads`` ((layer, head) pairs) of a tiny model by
    ``factor``: 0 switches a head off (its importance is then exactly 0), 8 makes it loud."""
    import torch

    d = model.config.head_dim
    with torch.no_grad():
        for layer, head in heads:
            model.model.layers[layer].self_attn.o_proj.weight[:, head * d : (head + 1) * d] *= (
                factor
            )
    return model


def heads_config(n_layers: int = 6, n_heads: int = 8):  # noqa: ANN201
    """A Llama config only (no weights, nothing allocated) with ``n_layers`` x ``n_heads``
    heads of width 8: what spec resolution and random controls read."""
    from transformers import LlamaConfig

    return LlamaConfig(
        vocab_size=32,
        hidden_size=n_heads * 8,
        intermediate_size=32,
        num_hidden_layers=n_layers,
        num_attention_heads=n_heads,
        num_key_value_heads=n_heads,
        head_dim=8,
    )


def _reverse_plugin() -> object:
    """A plugin whose kind ``reverse`` reverses each head's output vector: neither a constant
    scaling (it does not fold) nor declared token-wise (sparks-vllm refuses it)."""
    from harness_ext import hookimpl
    from harness_ext.interventions.base import HeadIntervention

    class Reverse(HeadIntervention):
        def forward(self, base, source=None, subspaces=None):  # noqa: ANN001, ANN201
            return base.flip(-1)

    class Plugin:
        @staticmethod
        @hookimpl
        def register_interventions(register):  # noqa: ANN001, ANN205
            def reverse() -> Reverse:
                """Reverse the heads' output vectors."""
                return Reverse()

            register("reverse", reverse)

    return Plugin


ReversePlugin = _reverse_plugin()


# prompts and greedy generation shared by the sparks-model tests (tests/models, tests/interventions)
PROMPTS = [
    "What is 12 times 13?",
    "Let x be a real number such that x^2 = 4. Find x.",
    "Find x.",
    "The answer is",
    "What is 12 times 13? Let x be a real number.",
]


def generate(lm: SparksLM, prompts: list[str], max_gen_toks: int = 8) -> list[str]:
    """Greedy ``generate_until`` through lm-eval's own request path, stopping at ``<|im_end|>``."""
    from lm_eval.api.instance import Instance

    requests = [
        Instance(
            request_type="generate_until",
            doc={},
            idx=i,
            arguments=(
                prompt,
                {"until": ["<|im_end|>"], "do_sample": False, "max_gen_toks": max_gen_toks},
            ),
        )
        for i, prompt in enumerate(prompts)
    ]
    return lm.generate_until(requests, disable_tqdm=True)
