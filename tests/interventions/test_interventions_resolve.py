"""Resolution: every mistake is reported before model work, naming the problem and the fix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness_ext import hookimpl
from harness_ext.interventions import resolve
from harness_ext.interventions.arch import ARCHITECTURES, UnsupportedArchitecture, get_arch
from harness_ext.interventions.spec import SpecError, parse_spec
from harness_ext.plugins import PluginError
from harness_ext.testing import TINY_ARCHITECTURES, throwaway_plugin


def smol_config():
    from transformers import LlamaConfig

    return LlamaConfig(
        vocab_size=49152,
        hidden_size=576,
        intermediate_size=1536,
        num_hidden_layers=30,
        num_attention_heads=9,
        num_key_value_heads=3,
        head_dim=64,
    )


def test_resolves_per_layer_with_module_paths() -> None:
    resolved = resolve("zero:L12H3+L14H7+L12H0;scale:L20:1.3", smol_config())
    assert [(r.name, r.layer, r.heads, r.args) for r in resolved] == [
        ("scale", 20, tuple(range(9)), ("1.3",)),
        ("zero", 12, (0, 3), ()),
        ("zero", 14, (7,), ()),
    ]
    assert resolved[1].o_proj == "model.layers.12.self_attn.o_proj"
    assert resolved[1].plugin == "harness_ext.interventions.builtin"
    assert resolved[0].fold_scale == 1.3 and resolved[1].fold_scale == 0.0
    assert str(resolved[1].intervention.site) == "L12H0+L12H3"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "zero:L40H1",
            "layer 40 out of range in L40H1: this model has 30 layers (0-29) x 9 heads (0-8)",
        ),
        (
            "zero:L3H9",
            "head 9 out of range in L3H9: this model has 30 layers (0-29) x 9 heads (0-8)",
        ),
        ("zero:L30", "layer 30 out of range"),
    ],
)
def test_head_out_of_range(text: str, message: str) -> None:
    with pytest.raises(SpecError) as caught:
        resolve(f"scale:L0H0:2;{text}", smol_config())
    assert message in str(caught.value)
    assert str(caught.value).splitlines()[-1].index("^") - 2 == len("scale:L0H0:2;zero:")


def test_unknown_intervention_lists_known_ones_and_their_plugins() -> None:
    with pytest.raises(SpecError) as caught:
        resolve("zer0:L1H1", smol_config())
    message = str(caught.value)
    assert "unknown intervention 'zer0'" in message
    assert "zero (from harness_ext.interventions.builtin)" in message
    assert "sparks plugins" in message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("scale:L1H1", "'scale' got 0 arguments []; expected scale:HEADS:FACTOR"),
        ("zero:L1H1:3", "'zero' got 1 argument ['3']; expected zero:HEADS"),
        ("noise:L1H1:1:2:3", "expected noise:HEADS:STD[:SEED]"),
        ("scale:L1H1:big", "FACTOR must be a number, got 'big'; expected scale:HEADS:FACTOR"),
        ("scale:L1H1:nan", "FACTOR must be a finite number"),
        ("scale:L1H1:1e308", "FACTOR 1e308 is too large: its magnitude must be at most 65504"),
        ("noise:L1H1:-1", "STD must be >= 0"),
        ("noise:L1H1:0.1:x", "SEED must be an integer, got 'x'"),
    ],
)
def test_bad_arguments_say_what_is_expected(text: str, message: str) -> None:
    with pytest.raises(SpecError) as caught:
        resolve(text, smol_config())
    assert message in str(caught.value)


def test_factory_that_raises_names_the_plugin() -> None:
    class Crashing:
        @staticmethod
        @hookimpl
        def register_interventions(register):
            def crash():
                raise RuntimeError("out of coffee")

            register("crash", crash)

    with throwaway_plugin("crashing-plugin", Crashing()):
        with pytest.raises(
            PluginError,
            match="'crash' from plugin 'crashing-plugin' failed to start "
            "with arguments \\[\\]: RuntimeError: out of coffee",
        ):
            resolve("crash:L0H0", smol_config())


def test_factory_returning_a_non_intervention_is_refused() -> None:
    class Wrong:
        @staticmethod
        @hookimpl
        def register_interventions(register):
            register("wrong", lambda: "not an intervention")

    with (
        throwaway_plugin("wrong-plugin", Wrong()),
        pytest.raises(PluginError, match="not a pyvene.Intervention"),
    ):
        resolve("wrong:L0H0", smol_config())


def test_checks_run_before_any_factory() -> None:
    calls = []

    class Counting:
        @staticmethod
        @hookimpl
        def register_interventions(register):
            def counted():
                calls.append(1)

            register("counted", counted)

    with throwaway_plugin("counting", Counting()), pytest.raises(SpecError, match="out of range"):
        resolve("counted:L0H0;zero:L99H0", smol_config())
    assert calls == []


def test_heads_file_end_to_end(tmp_path: Path) -> None:
    (tmp_path / "heads.json").write_text(
        json.dumps({"emergent": [{"layer": 29, "head": 8}, {"layer": 2, "head": 2}]})
    )
    resolved = resolve(parse_spec("zero:@heads.json#1", base_dir=tmp_path), smol_config())
    assert [(r.layer, r.heads) for r in resolved] == [(29, (8,))]


def test_unknown_architecture_lists_the_known_ones() -> None:
    from transformers import GPT2Config

    with pytest.raises(
        UnsupportedArchitecture, match="model_type 'gpt2'.*llama, mistral, qwen2, qwen3"
    ):
        resolve("zero:L0H0", GPT2Config())


@pytest.mark.parametrize("arch", TINY_ARCHITECTURES)
def test_arch_mapping_matches_the_model(arch: str) -> None:
    from harness_ext.testing import tiny_model

    model = tiny_model(arch)
    mapping = get_arch(model.config)
    assert mapping is ARCHITECTURES[arch]
    shape = mapping.shape(model.config)
    assert (shape.n_layers, shape.n_heads, shape.n_kv_heads, shape.head_dim) == (2, 4, 2, 16)
    o_proj = model.get_submodule(mapping.o_proj_path(1))
    assert o_proj.in_features == shape.n_heads * shape.head_dim


def test_head_dim_falls_back_to_hidden_over_heads() -> None:
    config = smol_config()
    config.head_dim = None
    assert get_arch(config).shape(config).head_dim == 64
