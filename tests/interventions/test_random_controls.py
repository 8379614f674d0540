"""Matched random controls ``random:REF[:SEED[:KIND[:ARG...]]]``: a reproducible draw, matched
layer by layer, outside the reference set and the other items, recorded as the concrete spec
it becomes; every impossible request is refused before the model loads."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import torch
from lm_eval.api.instance import Instance
from lm_eval.models.huggingface import HFLM
from tiny_models import PROMPTS, generate, heads_config

from harness_ext.errors import SparksError
from harness_ext.interventions import expand_controls, resolve
from harness_ext.interventions.spec import SpecError, parse_spec
from harness_ext.model import SparksLM, results_names, spec_digest


def drawn(text: str, cfg: Any = None, **kwargs: Any) -> list[tuple[int, int]]:
    control = expand_controls(parse_spec(text, **kwargs), cfg or heads_config()).control
    return [(int(h[1:].split("H")[0]), int(h.split("H")[1])) for h in control.heads]


def caret_column(message: str) -> int:
    lines = message.splitlines()
    caret = next(i for i, line in enumerate(lines) if line.strip() == "^")
    return lines[caret].index("^") - 2


def heads_file(folder: Path, heads: list[tuple[int, int]]) -> Path:
    path = folder / "heads.json"
    path.write_text(json.dumps({"emergent": [{"layer": l, "head": h} for l, h in heads]}))
    return path


# ---------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("text", "normalized"),
    [
        ("random:5", "random:5:0:zero"),
        (" random : 5 : 007 ", "random:5:7:zero"),
        ("random:L3H1+L1H0+L3H1:2:scale:1.3", "random:L1H0+L3H1:2:scale:1.3"),
        ("zero:L3H1;random:L3H1+L4H0", "random:L3H1+L4H0:0:zero;zero:L3H1"),  # may share the set
    ],
)
def test_parse_fills_defaults_and_round_trips(text: str, normalized: str) -> None:
    spec = parse_spec(text)
    assert spec.normalized() == normalized
    assert parse_spec(normalized) == spec


def test_heads_file_reference_and_spec_file(tmp_path: Path) -> None:
    heads_file(tmp_path, [(4, 2), (1, 0), (4, 5)])
    assert (
        parse_spec("random:@heads.json#2:1", base_dir=tmp_path).normalized()
        == "random:L1H0+L4H2:1:zero"
    )
    (tmp_path / "spec.yaml").write_text(
        "- {name: random, heads: 3, args: [4, scale, 0.5]}\n- {name: zero, heads: [L0H0]}\n"
    )
    assert (
        parse_spec("@spec.yaml", base_dir=tmp_path).normalized() == "random:3:4:scale:0.5;zero:L0H0"
    )
    (tmp_path / "m.yaml").write_text(
        "- {name: random, heads: [{layer: 0, head: 3}, '@heads.json#1']}\n"
    )
    assert parse_spec("@m.yaml", base_dir=tmp_path).normalized() == "random:L0H3+L4H2:0:zero"


@pytest.mark.parametrize(
    ("text", "column", "phrase"),
    [
        ("random:0", 7, "positive number of heads K"),
        ("random:5x", 8, "unexpected 'x'"),
        ("random:5:x1", 9, "SEED must be a non-negative integer, got 'x1'"),
        ("random:5:-1", 9, "SEED must be a non-negative integer"),
        ("random:5:scale:1.3", 9, "KIND comes after SEED: random:REF:0:scale"),
        ("random:5:\u0663", 9, "SEED '\u0663' must be written with ASCII digits 0-9"),
        ("random:\u0665", 7, "not an ASCII digit"),
        ("random:5:1:random", 11, "KIND cannot be random itself"),
        ("random:5:1:1.3", 11, "KIND must be an intervention name"),
        ("random:x", 7, "expected the number of heads K or the heads to match"),
        ("zero:random:5", 5, "a random control is an item of its own"),
        ("random:3;random:L1H1:1", 9, "one random control only"),
    ],
)
def test_malformed_control_points_at_the_character(text: str, column: int, phrase: str) -> None:
    with pytest.raises(SpecError) as caught:
        parse_spec(text)
    assert phrase in str(caught.value)
    assert caret_column(str(caught.value)) == column


def test_empty_reference_set_is_refused(tmp_path: Path) -> None:
    heads_file(tmp_path, [])
    with pytest.raises(SpecError, match="reference set is empty"):
        parse_spec("random:@heads.json", base_dir=tmp_path)


def test_bad_control_in_a_spec_file(tmp_path: Path) -> None:
    (tmp_path / "spec.yaml").write_text("- {name: random, heads: 0}\n")
    with pytest.raises(SpecError, match="item 1: random needs a positive number of heads"):
        parse_spec("@spec.yaml", base_dir=tmp_path)
    (tmp_path / "spec.yaml").write_text("- {name: random, heads: 2, args: [x]}\n")
    with pytest.raises(SpecError, match="item 1: SEED must be a non-negative integer, got 'x'"):
        parse_spec("@spec.yaml", base_dir=tmp_path)


# ---------------------------------------------------------------- the draw


def documented_draw(
    n_layers: int,
    n_heads: int,
    seed: int,
    excluded: set,
    k: int | None = None,
    per_layer: dict | None = None,
) -> list[tuple[int, int]]:
    """The algorithm as docs/plugins.md states it, written without sparks."""
    rng = random.Random(seed)
    candidates = [(l, h) for l in range(n_layers) for h in range(n_heads) if (l, h) not in excluded]
    keys = {c: rng.random() for c in candidates}
    ranked = sorted(candidates, key=lambda c: (keys[c], c))
    if k is not None:
        return sorted(ranked[:k])
    left, chosen = dict(per_layer), []
    for layer, head in ranked:
        if left.get(layer, 0):
            chosen.append((layer, head))
            left[layer] -= 1
    return sorted(chosen)


def test_draw_is_reproducible_and_follows_the_documented_algorithm() -> None:
    first = drawn("random:7:3")
    assert first == drawn("random:7:3") == drawn("random:7:003")
    assert first == documented_draw(6, 8, 3, set(), k=7)
    matched = drawn("zero:L2H2;random:L1H0+L4H1+L4H6:11")
    assert matched == documented_draw(
        6, 8, 11, {(2, 2), (1, 0), (4, 1), (4, 6)}, per_layer={1: 1, 4: 2}
    )
    assert len(first) == 7 and first == sorted(set(first))


def test_seeds_give_different_draws() -> None:
    draws = {tuple(drawn(f"random:5:{seed}")) for seed in range(20)}
    assert len(draws) == 20
    assert drawn("random:5") == drawn("random:5:0")


def test_matching_layer_by_layer_outside_the_reference_set() -> None:
    reference = [(1, 0), (4, 1), (4, 6), (5, 7), (5, 0), (5, 3)]
    text = "random:" + "+".join(f"L{l}H{h}" for l, h in reference)
    for seed in range(30):
        heads = drawn(f"{text}:{seed}")
        assert Counter(l for l, _ in heads) == Counter(l for l, _ in reference)
        assert not set(heads) & set(reference)


def test_other_items_are_avoided() -> None:
    for seed in range(30):
        heads = drawn(f"zero:L0+L3H2;scale:L1H1+L1H2:2;random:20:{seed}")
        assert not [h for h in heads if h[0] == 0 or h in {(3, 2), (1, 1), (1, 2)}]
        matched = drawn(f"mean:L2H0+L2H1;random:L2H5+L2H6:{seed}")
        assert all(h[0] == 2 and h[1] not in (0, 1, 5, 6) for h in matched)


def test_expanded_spec_is_concrete_and_resolves_like_it() -> None:
    cfg = heads_config()
    expanded = expand_controls("zero:L0H0;random:L3H1+L5H2:1:scale:1.3", cfg)
    heads = "+".join(expanded.control.heads)
    assert expanded.spec.normalized() == f"scale:{heads}:1.3;zero:L0H0"
    assert expanded.spec.control is None
    assert expanded.control.record() | {"algorithm": None} == {
        "spec": "random:L3H1+L5H2:1:scale:1.3",
        "source": "zero:L0H0;random:L3H1+L5H2:1:scale:1.3",
        "seed": 1,
        "kind": "scale",
        "args": ["1.3"],
        "count": 2,
        "matched_to": ["L3H1", "L5H2"],
        "heads": list(expanded.control.heads),
        "intervention": f"scale:{heads}:1.3",
        "algorithm": None,
    }
    assert [str(r) for r in resolve("zero:L0H0;random:L3H1+L5H2:1:scale:1.3", cfg)] == [
        str(r) for r in resolve(expanded.spec.normalized(), cfg)
    ]
    assert expand_controls("random:4:2", cfg).control.matched_to is None
    plain = parse_spec("zero:L1H1")
    assert expand_controls(plain, cfg).spec is plain  # no control: the spec is untouched


# ---------------------------------------------------------------- errors that need the shape


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        (
            "random:49",
            "random:49 asks for 49 heads, but this model has 48 heads (6 layers (0-5) x 8 heads "
            "(0-7)): at most 48 can be drawn",
        ),
        ("zero:L0;random:41", "the spec's other items take 8 of them: at most 40 can be drawn"),
        (
            "random:L3:0",
            "layer 3 has 8 heads, the reference set takes 8 of them: no head left to match",
        ),
        (
            "random:L2H0+L2H1+L2H2+L2H3+L2H4;zero:L1H0",
            "layer 2 has 8 heads, the reference set takes 5 of them: 3 left to match its 5",
        ),
        (
            "zero:L2H7+L2H6;random:L2H0+L2H1+L2H2+L2H3",
            "the reference set takes 4 of them and the spec's other items 2 more (L2H6+L2H7): 2 left",
        ),
        ("random:L9H0", "layer 9 out of range in L9H0"),
        ("random:3:0:zer0", "unknown intervention kind 'zer0' for the random control; known: mean"),
        ("random:3:0:scale", "'scale' got 0 arguments []; expected random:REF:SEED:scale:FACTOR"),
        ("random:3:0:zero:1", "'zero' got 1 argument ['1']; expected random:REF:SEED:zero"),
    ],
)
def test_impossible_controls_are_refused(text: str, phrase: str) -> None:
    with pytest.raises(SpecError) as caught:
        resolve(text, heads_config())
    assert phrase in str(caught.value)


def test_unknown_kind_points_at_the_kind() -> None:
    with pytest.raises(SpecError) as caught:
        resolve("zero:L0H0;random:3:0:zer0", heads_config())
    assert caret_column(str(caught.value)) == len("zero:L0H0;random:3:0:")
    assert "random (from" not in str(caught.value)  # random is no kind for the drawn heads


def test_random_is_listed_as_a_builtin() -> None:
    from harness_ext.plugins import describe_plugins

    builtin = next(info for info in describe_plugins() if info.name.endswith("builtin"))
    entry = next(item for item in builtin.interventions if item.name == "random")
    assert entry.usage == "random:HEADS[:SEED][:KIND][:ARGS...]"
    assert "HEADS is K" in entry.doc


# ---------------------------------------------------------------- the sparks model


SPEC = "zero:L0H0;random:L1H1+L1H2:5"  # 2 layers x 4 heads: the draw takes L1H0 and L1H3


def test_model_runs_and_records_the_concrete_spec(tiny_model_dirs: dict[str, Path]) -> None:
    path = str(tiny_model_dirs["llama"])
    control = SparksLM(pretrained=path, device="cpu", batch_size=5, interventions=SPEC)
    assert control.interventions == "zero:L0H0;zero:L1H0+L1H3"
    explicit = SparksLM(
        pretrained=path, device="cpu", batch_size=5, interventions=control.interventions
    )
    plain = SparksLM(pretrained=path, device="cpu", batch_size=5)
    tokens = generate(control, PROMPTS, max_gen_toks=12)
    assert tokens == generate(explicit, PROMPTS, max_gen_toks=12)
    assert tokens != generate(plain, PROMPTS, max_gen_toks=12)
    info = control.get_model_info()
    assert info["sparks_interventions"] == "zero:L0H0;zero:L1H0+L1H3"
    assert info["sparks_random_control"]["matched_to"] == ["L1H1", "L1H2"]
    assert info["sparks_random_control"]["heads"] == ["L1H0", "L1H3"]
    assert info["sparks_random_control"]["source"] == SPEC
    assert explicit.get_model_info()["sparks_random_control"] is None
    assert control.cache_tag == explicit.cache_tag == spec_digest(control.interventions)


def test_scale_control_and_logged_arguments(tiny_model_dirs: dict[str, Path]) -> None:
    path = str(tiny_model_dirs["qwen2"])
    lm = SparksLM(
        pretrained=path,
        device="cpu",
        interventions="random:3:2:scale:1.5",
        intervention_mode="pyvene",
    )
    heads = "+".join(lm.random_control["heads"])
    assert lm.interventions == f"scale:{heads}:1.5"
    request = Instance(
        request_type="generate_until",
        doc={},
        idx=0,
        arguments=(PROMPTS[0], {"until": ["<|im_end|>"], "do_sample": False, "max_gen_toks": 4}),
    )
    lm.generate_until([request], disable_tqdm=True)
    assert request.args[1]["sparks_interventions"] == lm.interventions


def test_results_folder_digest_is_that_of_the_concrete_spec(
    tiny_model_dirs: dict[str, Path],
) -> None:
    path = str(tiny_model_dirs["llama"])
    _, folder = results_names(f"pretrained={path},interventions={SPEC}", path)
    assert folder.endswith(f"__sparks-{spec_digest('zero:L0H0;zero:L1H0+L1H3')}")
    _, other_seed = results_names(f"pretrained={path},interventions=random:2:1", path)
    _, same_seed = results_names({"pretrained": path, "interventions": "random:2:1"}, path)
    assert other_seed == same_seed != folder


def test_impossible_control_fails_before_the_model_loads(tiny_model_dirs, monkeypatch) -> None:
    def must_not_load(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the model was loaded before the control was drawn")

    monkeypatch.setattr(HFLM, "__init__", must_not_load)
    path = str(tiny_model_dirs["llama"])
    with pytest.raises(SparksError, match="layer 1 has 4 heads, the reference set takes 4 of them"):
        SparksLM(pretrained=path, interventions="random:L1")
    with pytest.raises(SparksError, match="at most 8 can be drawn"):
        SparksLM(pretrained=path, interventions="random:9")


def test_fold_folds_the_drawn_heads(tmp_path: Path) -> None:
    from transformers import AutoModelForCausalLM

    from harness_ext.interventions import fold_checkpoint
    from harness_ext.interventions.fold import FOLD_NOTE
    from harness_ext.testing import tiny_model, tiny_tokenizer

    tiny_model().save_pretrained(tmp_path / "tiny")
    tiny_tokenizer().save_pretrained(tmp_path / "tiny")
    out = fold_checkpoint(tmp_path / "tiny", "random:3:4", tmp_path / "folded")
    note = json.loads((out / FOLD_NOTE).read_text())
    heads = note["random_control"]["heads"]
    assert note["interventions"] == "zero:" + "+".join(heads) and len(heads) == 3
    original = AutoModelForCausalLM.from_pretrained(tmp_path / "tiny")
    folded = AutoModelForCausalLM.from_pretrained(out)
    for layer in range(2):
        before = original.model.layers[layer].self_attn.o_proj.weight
        after = folded.model.layers[layer].self_attn.o_proj.weight
        for head in range(4):
            cols = slice(head * 16, (head + 1) * 16)
            zeroed = f"L{layer}H{head}" in heads
            assert torch.equal(
                after[:, cols], torch.zeros_like(after[:, cols]) if zeroed else before[:, cols]
            )
