"""Exactness: interventions equal the reference hook on every position and every generated token.

Per architecture (tiny llama, qwen2, qwen3, mistral), for zero, scale, seeded noise and an inline
plugin, with a batch of three prompts of different lengths (left padding), the KV cache and 8 new
tokens: greedy tokens identical to the reference hook, logits equal to float tolerance, in fold
and pyvene modes, and the weights unchanged afterwards.
"""

from __future__ import annotations

from typing import Any, Callable

import pytest
import torch
from tiny_models import ReversePlugin  # a plugin kind that is not token-wise

from harness_ext import hookimpl
from harness_ext.errors import SparksError
from harness_ext.interventions import apply_interventions, choose_mode, resolve
from harness_ext.interventions.base import HeadIntervention
from harness_ext.interventions.kinds import noise_seed
from harness_ext.testing import (
    TINY_ARCHITECTURES,
    reference_hook,
    throwaway_plugin,
    tiny_model,
    tiny_tokenizer,
)

PROMPTS = ["What is 2+3? Think.", "1+1=", "Let x be 7. Find x^2."]
GENERATE = dict(max_new_tokens=8, min_new_tokens=8, do_sample=False)


def scaled(factor: float) -> Callable[[torch.Tensor], torch.Tensor]:
    return lambda x: x * factor


def flip_last(x: torch.Tensor) -> torch.Tensor:
    return x.flip(-1)


def noise_fn(std: float, seed: int, layer: int) -> Callable[[torch.Tensor], torch.Tensor]:
    generator = torch.Generator().manual_seed(noise_seed(seed, layer))
    return lambda x: x + std * torch.randn(x.shape, generator=generator, dtype=x.dtype)


# name -> (spec, reference functions by (layer, head), modes that apply)
CASES: dict[str, tuple[str, Callable[[], dict[tuple[int, int], Any]], tuple[str, ...]]] = {
    "zero": (
        "zero:L0H1+L1H3",
        lambda: {(0, 1): torch.zeros_like, (1, 3): torch.zeros_like},
        ("fold", "pyvene"),
    ),
    "scale": (
        "scale:L0H2+L1H0+L1H1:1.7",
        lambda: {(0, 2): scaled(1.7), (1, 0): scaled(1.7), (1, 1): scaled(1.7)},
        ("fold", "pyvene"),
    ),
    "zero+scale": (
        "zero:L1H2;scale:L0H0+L0H3+L1H1:0.5",
        lambda: {
            (1, 2): torch.zeros_like,
            (0, 0): scaled(0.5),
            (0, 3): scaled(0.5),
            (1, 1): scaled(0.5),
        },
        ("fold", "pyvene"),
    ),
    "noise": (
        "noise:L0H3+L1H1:0.5:7",
        lambda: {(0, 3): noise_fn(0.5, 7, 0), (1, 1): noise_fn(0.5, 7, 1)},
        ("pyvene",),
    ),
    "plugin": (
        "reverse:L0H0+L0H2+L1H3",
        lambda: {(0, 0): flip_last, (0, 2): flip_last, (1, 3): flip_last},
        ("pyvene",),
    ),
}


@pytest.fixture(scope="module")
def batch() -> dict[str, torch.Tensor]:
    encoded = tiny_tokenizer()(PROMPTS, padding=True, return_tensors="pt")
    assert encoded.attention_mask[:, 0].tolist().count(0) == 2  # left padding is exercised
    return dict(encoded)


def run(model: Any, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    with torch.no_grad():
        tokens = model.generate(**batch, **GENERATE)
        logits = model(**batch).logits
    return tokens, logits


def weights(model: Any) -> dict[str, torch.Tensor]:
    return {name: tensor.clone() for name, tensor in model.state_dict().items()}


@pytest.mark.parametrize("arch", TINY_ARCHITECTURES)
@pytest.mark.parametrize("case", sorted(CASES))
def test_matches_reference_hook(arch: str, case: str, batch: dict[str, torch.Tensor]) -> None:
    spec, reference, modes = CASES[case]
    model = tiny_model(arch)
    before = weights(model)
    plain_tokens, plain_logits = run(model, batch)
    with reference_hook(model, reference()):
        expected_tokens, expected_logits = run(model, batch)
    assert not torch.allclose(expected_logits, plain_logits, atol=1e-3), (
        "the intervention has no effect"
    )
    for mode in modes:
        with throwaway_plugin("reverse-plugin", ReversePlugin()):
            resolved = resolve(spec, model.config)
        with apply_interventions(model, resolved, mode=mode) as used:
            assert used == mode
            tokens, logits = run(model, batch)
        assert torch.equal(tokens, expected_tokens), (
            f"{mode}: tokens differ from the reference hook"
        )
        torch.testing.assert_close(logits, expected_logits, rtol=1e-5, atol=1e-5)
        assert not torch.equal(tokens, plain_tokens) or not torch.allclose(logits, plain_logits)
        after = weights(model)
        assert all(torch.equal(before[name], after[name]) for name in before), (
            f"{mode}: weights changed"
        )
    assert run(model, batch)[0].equal(plain_tokens)  # and the model is plain again


def test_every_generated_token_is_intervened(batch: dict[str, torch.Tensor]) -> None:
    seen: list[tuple[int, ...]] = []

    class Spy(HeadIntervention):
        def forward(self, base, source=None, subspaces=None):
            seen.append(tuple(base.shape))
            return base

    class SpyPlugin:
        @staticmethod
        @hookimpl
        def register_interventions(register):
            register("spy", Spy)

    model = tiny_model()
    with throwaway_plugin("spy-plugin", SpyPlugin()):
        resolved = resolve("spy:L1H1+L1H2", model.config)
    with apply_interventions(model, resolved), torch.no_grad():
        model.generate(**batch, **GENERATE)
    prompt_length = batch["input_ids"].shape[1]
    assert seen == [(3, prompt_length, 2, 16)] + [(3, 1, 2, 16)] * 7


def test_auto_mode_folds_only_when_every_item_is_foldable() -> None:
    model = tiny_model()
    assert choose_mode(model, resolve("zero:L0H1;scale:L1H1:2", model.config)) == "fold"
    assert choose_mode(model, resolve("zero:L0H1;noise:L1H1:0.1", model.config)) == "pyvene"
    assert choose_mode(model, []) == "none"
    with pytest.raises(SparksError, match="noise .* is not a constant scale"):
        apply_interventions(model, resolve("noise:L1H1:0.1", model.config), mode="fold")
    with pytest.raises(SparksError, match="unknown intervention mode 'fast'"):
        apply_interventions(model, resolve("zero:L1H1", model.config), mode="fast")


def test_a_biased_o_proj_is_not_folded(batch: dict[str, torch.Tensor]) -> None:
    model = tiny_model()
    o_proj = model.model.layers[1].self_attn.o_proj
    o_proj.bias = torch.nn.Parameter(torch.randn(o_proj.out_features))
    resolved = resolve("scale:L1H2:0.3", model.config)
    assert choose_mode(model, resolved) == "pyvene"
    with pytest.raises(SparksError, match="has a bias"):
        apply_interventions(model, resolved, mode="fold")
    with reference_hook(model, {(1, 2): scaled(0.3)}):
        expected = run(model, batch)[0]
    with apply_interventions(model, resolved):
        assert run(model, batch)[0].equal(expected)


def test_contexts_do_not_nest_and_are_reusable(batch: dict[str, torch.Tensor]) -> None:
    model = tiny_model()
    first = apply_interventions(model, resolve("zero:L0H0", model.config))
    second = apply_interventions(model, resolve("zero:L1H0", model.config), mode="pyvene")
    with first:
        with pytest.raises(SparksError, match="do not nest"):
            with second:
                pass
    with first:
        once = run(model, batch)[0]
    with first:
        assert run(model, batch)[0].equal(once)


def test_wrong_shape_from_a_plugin_is_named(batch: dict[str, torch.Tensor]) -> None:
    class Bad(HeadIntervention):
        def forward(self, base, source=None, subspaces=None):
            return base[..., :3]

    class BadPlugin:
        @staticmethod
        @hookimpl
        def register_interventions(register):
            register("bad", Bad)

    model = tiny_model()
    with throwaway_plugin("bad-plugin", BadPlugin()):
        resolved = resolve("bad:L0H1+L0H3", model.config)
    with (
        apply_interventions(model, resolved),
        pytest.raises(SparksError, match="'bad' from plugin 'bad-plugin'"),
    ):
        run(model, batch)


def test_failing_plugin_forward_is_named(batch: dict[str, torch.Tensor]) -> None:
    class Fails(HeadIntervention):
        def forward(self, base, source=None, subspaces=None):
            raise ValueError("cannot today")

    class FailsPlugin:
        @staticmethod
        @hookimpl
        def register_interventions(register):
            register("fails", Fails)

    model = tiny_model()
    with throwaway_plugin("failing-plugin", FailsPlugin()):
        resolved = resolve("fails:L1H1", model.config)
    with (
        apply_interventions(model, resolved),
        pytest.raises(
            SparksError,
            match=r"'fails' from plugin 'failing-plugin' failed on L1H1 .*ValueError: cannot today",
        ),
    ):
        run(model, batch)


def test_pyvene_builtin_intervention_works_as_a_plugin(batch: dict[str, torch.Tensor]) -> None:
    from harness_ext.interventions.base import pyvene

    class PyveneZero:
        @staticmethod
        @hookimpl
        def register_interventions(register):
            register("pvzero", lambda: pyvene.ZeroIntervention())

    model = tiny_model("qwen2")
    with throwaway_plugin("pyvene-zero", PyveneZero()):
        resolved = resolve("pvzero:L1H0+L1H2", model.config)
    with reference_hook(model, {(1, 0): torch.zeros_like, (1, 2): torch.zeros_like}):
        expected = run(model, batch)
    with apply_interventions(model, resolved) as mode:
        got = run(model, batch)
    assert mode == "pyvene"
    assert got[0].equal(expected[0])
    torch.testing.assert_close(got[1], expected[1], rtol=0, atol=0)
