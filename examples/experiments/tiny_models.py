"""Tiny offline models for the experiments in docs/experiments.md (seconds on a CPU, no Hub).

    .venv/bin/python examples/experiments/tiny_models.py DIR

writes:

* ``DIR/think``: a tiny random Qwen3 model whose chat template honours ``enable_thinking``
  (like Qwen3's: thinking off pre-fills an empty ``<think></think>``), for
  ``sparks discover --compare-thinking``;
* ``DIR/series/base`` and ``DIR/series/checkpoint-{100,200,300,400}``: tiny Llama checkpoints
  in which chosen heads are switched on (the others' ``o_proj`` columns zeroed), each with a
  ``trainer_state.json`` logging a rising reward, as a GRPO run would, for
  ``sparks discover --checkpoints``.

The models are random: what they show is the machinery (which heads a circuit holds, how the
circuit changes with the reward), not a finding about real models.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

THINKING_TEMPLATE = (  # Qwen3's behaviour in a few lines: thinking off = an empty think block
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}"
    "<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n"
    "{% if enable_thinking is defined and enable_thinking is false %}<think>\n\n</think>\n\n"
    "{% endif %}{% endif %}"
)
# heads switched on at each step (layer, head); the rest of the 2 x 4 heads are off
PLANTED = {
    100: [(0, 1), (1, 2)],
    200: [(0, 1), (1, 2), (1, 0)],
    300: [(0, 1), (1, 0), (0, 3), (1, 3)],
    400: [(1, 0), (0, 3), (1, 3)],
}
REWARDS = {100: [0.1, 0.2, 0.3], 200: [0.4, 0.5, 0.6], 300: [0.85, 0.9, 0.95], 400: [0.95]}


def switch_off(model, heads):  # noqa: ANN001, ANN201
    """Zero the ``o_proj`` input columns of ``heads`` (their output is then exactly 0)."""
    import torch

    d = model.config.head_dim
    with torch.no_grad():
        for layer, head in heads:
            model.model.layers[layer].self_attn.o_proj.weight[:, head * d : (head + 1) * d] = 0
    return model


def write_thinking_model(folder: Path) -> Path:
    from harness_ext.testing import tiny_model, tiny_tokenizer

    tokenizer = tiny_tokenizer()
    tokenizer.chat_template = THINKING_TEMPLATE
    tiny_model("qwen3", 0).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def write_series(folder: Path) -> list[Path]:
    """The base (every head off) and the four checkpoints, each with its trainer_state.json."""
    from harness_ext.testing import tiny_model, tiny_tokenizer

    every = [(layer, head) for layer in range(2) for head in range(4)]
    switch_off(tiny_model("llama", 0), every).save_pretrained(folder / "base")
    tiny_tokenizer().save_pretrained(folder / "base")
    made = []
    for step, heads in PLANTED.items():
        target = folder / f"checkpoint-{step}"
        switch_off(tiny_model("llama", 0), [h for h in every if h not in heads]).save_pretrained(
            target
        )
        tiny_tokenizer().save_pretrained(target)
        first = step - 100
        history = [
            {"step": first + 30 * (i + 1), "reward": value} for i, value in enumerate(REWARDS[step])
        ]
        (target / "trainer_state.json").write_text(
            json.dumps({"global_step": step, "log_history": history}, indent=1)
        )
        made.append(target)
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    folder = parser.parse_args().folder
    print(f"wrote {write_thinking_model(folder / 'think')}")
    for path in write_series(folder / "series"):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
