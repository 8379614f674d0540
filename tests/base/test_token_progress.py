"""Generation shows its tokens as they come: lm-eval's bar counts requests only per batch."""

from __future__ import annotations

import torch

from harness_ext.progress import TokenProgress
from harness_ext.testing import tiny_model


def test_each_generated_token_moves_the_bar_and_the_output_is_unchanged(capsys) -> None:
    model = tiny_model("llama")
    ids = torch.tensor([[5, 6, 7], [8, 9, 10]])
    settings = dict(max_new_tokens=6, min_new_tokens=6, do_sample=False, pad_token_id=0)
    plain = model.generate(ids, **settings)
    progress = TokenProgress(responses=2, budget=6)
    shown = model.generate(ids, streamer=progress, **settings)
    assert torch.equal(plain, shown)
    assert (
        progress._bar is not None and progress._bar.n == 6
    )  # one step per token, after the prompts
    assert "generating 2 responses" in capsys.readouterr().err
