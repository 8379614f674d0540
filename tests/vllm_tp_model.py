"""A small model with an even head count, cut from the embedded SmolLM2-135M-Instruct.

Tensor parallelism splits ``o_proj``'s input by query heads, and the embedded model's 9 heads
cannot be split in two. A random model would repeat one token, which makes a weak check, so
this keeps the trained weights: query heads 0-5 and key/value heads 0-1 (the same grouping,
3 query heads per key/value head) of the first ``layers`` layers, the real vocabulary, the
final norm and the tied embeddings. Written with safetensors, with the tokenizer files copied.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

HEADS, KV_HEADS, HEAD_DIM = 6, 2, 64


def cut_model(source: Path, target: Path, layers: int = 12) -> Path:
    """Write the cut model to ``target`` (a new folder) and return it."""
    from safetensors.torch import load_file, save_file

    target.mkdir(parents=True)
    config = json.loads((source / "config.json").read_text())
    config.update(
        num_attention_heads=HEADS,
        num_key_value_heads=KV_HEADS,
        head_dim=HEAD_DIM,
        num_hidden_layers=layers,
    )
    (target / "config.json").write_text(json.dumps(config, indent=1))
    weights = {}
    for name, tensor in load_file(source / "model.safetensors").items():
        if name.startswith("model.layers."):
            if int(name.split(".")[2]) >= layers:
                continue
            if name.endswith("q_proj.weight"):
                tensor = tensor[: HEADS * HEAD_DIM]
            elif name.endswith(("k_proj.weight", "v_proj.weight")):
                tensor = tensor[: KV_HEADS * HEAD_DIM]
            elif name.endswith("o_proj.weight"):
                tensor = tensor[:, : HEADS * HEAD_DIM]
        weights[name] = tensor.contiguous()
    save_file(weights, target / "model.safetensors", metadata={"format": "pt"})
    for name in (
        "tokenizer.json",
        "tokenizer_config.json",
        "chat_template.jinja",
        "generation_config.json",
    ):
        if (source / name).is_file():
            shutil.copy(source / name, target / name)
    return target
