"""``--method ablation``: the brute force equals patching each head alone with a plain hook
(harness_ext.testing.reference_hook), for zero ablation and for activation patching from the
corrupted run, whatever the batch of heads per pass (tiny random models)."""

from __future__ import annotations

import pytest

from harness_ext.discovery.attribution import ablation_attribute, greedy_opening, head_activations

pytest.importorskip("torch")


def _truth(model, prompt, clean, corrupt):  # noqa: ANN001, ANN202
    """KL(clean || one head patched), one plain forward per head."""
    import torch

    from harness_ext.testing import reference_hook

    ids, start = torch.tensor([prompt + clean]), len(prompt) - 1
    config = model.config
    d = config.head_dim
    other = head_activations(model, prompt + corrupt)[0] if corrupt is not None else None
    truth = torch.zeros(config.num_hidden_layers, config.num_attention_heads)
    with torch.no_grad():
        ref = torch.log_softmax(model(ids).logits[0, start:-1], -1)
        for layer in range(config.num_hidden_layers):
            for head in range(config.num_attention_heads):

                def fn(x, layer=layer, head=head):  # noqa: ANN001, ANN202
                    if other is None:
                        return torch.zeros_like(x)
                    return other[layer][None, :, head * d : (head + 1) * d]

                with reference_hook(model, {(layer, head): fn}):
                    patched = torch.log_softmax(model(ids).logits[0, start:-1], -1)
                truth[layer, head] = (ref.exp() * (ref - patched)).sum()
    return truth


@pytest.mark.parametrize("setting", ["zeros", "next"])
@pytest.mark.parametrize("arch", ["llama", "qwen2"])
def test_ablation_is_patching_each_head_alone(arch: str, setting: str) -> None:
    import torch

    from harness_ext.testing import tiny_model

    model = tiny_model(arch, 3)
    prompt = list(b"What is 2+3? ")
    clean = greedy_opening(model, prompt, 6)
    corrupt = greedy_opening(model, list(b"Is 91 prime? "), 6) if setting == "next" else None
    if corrupt is not None:
        n = min(len(clean), len(corrupt))
        clean, corrupt = clean[:n], corrupt[:n]
        assert corrupt != clean
    truth = _truth(model, prompt, clean, corrupt)
    assert truth.max() > 0
    for batch in (None, 3, 1):
        scores = ablation_attribute(model, prompt, clean, corrupt, 0, batch)
        assert torch.allclose(scores, truth, rtol=1e-4, atol=1e-6), batch


def _args(*argv: str):  # noqa: ANN202
    import argparse

    from harness_ext.discovery import configure_discover

    parser = argparse.ArgumentParser()
    configure_discover(parser)
    return parser.parse_args(["--device", "cpu", "--limit", "2", *argv])


def test_base_of_another_architecture_is_refused_though_shapes_match(tmp_path, local_data) -> None:  # noqa: ANN001
    """A qwen2 base with the llama post's layers and heads: refused before any weights load."""
    from harness_ext.discovery import run_discover
    from harness_ext.errors import SparksError
    from harness_ext.testing import tiny_model

    tiny_model("llama", 0).config.save_pretrained(tmp_path / "post")
    tiny_model("qwen2", 0).config.save_pretrained(tmp_path / "base")  # configs only: no weights
    args = _args("--model", str(tmp_path / "post"), "--base", str(tmp_path / "base"))
    with pytest.raises(SparksError, match="different architectures.*llama.*qwen2"):
        run_discover(args)


def test_every_checkpoint_folder_is_checked_before_work(tmp_path, local_data) -> None:  # noqa: ANN001
    from harness_ext.discovery import run_discover
    from harness_ext.errors import SparksError
    from harness_ext.testing import tiny_model

    tiny_model("llama", 0).config.save_pretrained(tmp_path / "checkpoint-1")
    (tmp_path / "checkpoint-2").mkdir()  # an empty folder: no config
    tiny_model("llama", 0).config.save_pretrained(tmp_path / "base")
    series = [str(tmp_path / "checkpoint-1"), str(tmp_path / "checkpoint-2")]
    args = _args("--checkpoints", *series, "--base", str(tmp_path / "base"))
    with pytest.raises(SparksError, match="--checkpoints .*checkpoint-2: no model config"):
        run_discover(args)
    args = _args("--checkpoints", series[0], str(tmp_path / "checkpoint-3"))
    with pytest.raises(SparksError, match="checkpoint-3: no such folder"):
        run_discover(args)
