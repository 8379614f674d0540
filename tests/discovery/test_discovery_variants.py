"""EAP-IG's variants (``--ig-over inputs``, ``--position-abs``), ``--gradient-checkpointing``,
the typed result of ``discover_heads``, and unstable heads in a report: tiny models, CPU."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from harness_ext.errors import SparksError

pytest.importorskip("torch")

PROMPT = [1, 5, 7, 9, 11, 2]
CLEAN = [3, 4, 6, 8, 10]
CORRUPT = [12, 13, 14, 15, 16]


def _model(arch: str = "llama"):  # noqa: ANN202
    from harness_ext.testing import tiny_model

    return tiny_model(arch, 3)


@pytest.mark.parametrize("ig_over", ["activations", "inputs"])
def test_more_ig_steps_converge(ig_over: str) -> None:
    """The IG integral settles as the steps grow: 32 and 64 steps agree far better than 1 and
    64 (so the step count is a question of cost, not of a different quantity)."""
    from harness_ext.discovery.attribution import attribute

    model = _model()
    at = {n: attribute(model, PROMPT, CLEAN, CORRUPT, n, ig_over=ig_over) for n in (1, 32, 64)}
    far = float((at[1] - at[64]).norm() / at[64].norm())
    near = float((at[32] - at[64]).norm() / at[64].norm())
    assert near < 0.05 and near < far / 5


def test_eap_ig_over_inputs_differs_and_is_finite() -> None:
    """EAP-IG-inputs interpolates the embeddings: other scores, on the same heads."""
    import torch

    from harness_ext.discovery.attribution import attribute

    model = _model("qwen2")
    over_acts = attribute(model, PROMPT, CLEAN, CORRUPT, 4)
    over_inputs = attribute(model, PROMPT, CLEAN, CORRUPT, 4, ig_over="inputs")
    assert over_inputs.shape == over_acts.shape and torch.isfinite(over_inputs).all()
    assert not torch.allclose(over_inputs, over_acts)
    with pytest.raises(ValueError, match="choose one of activations, inputs"):
        attribute(model, PROMPT, CLEAN, CORRUPT, 4, ig_over="outputs")


def test_position_abs_bounds_the_signed_score() -> None:
    """Per-position absolute values can only add: |sum_t s_t| <= sum_t |s_t|, equal when no
    position cancels another."""

    from harness_ext.discovery.attribution import attribute

    model = _model()
    signed = attribute(model, PROMPT, CLEAN, CORRUPT, 3)
    per_position = attribute(model, PROMPT, CLEAN, CORRUPT, 3, position_abs=True)
    assert (per_position >= 0).all()
    assert (per_position + 1e-6 >= signed.abs()).all()
    assert (per_position > signed.abs() + 1e-6).any()  # some positions cancel in the sum


@pytest.mark.parametrize("method", ["eap-ig", "fisher", "fisher by one", "edges", "inputs"])
@pytest.mark.parametrize("corrupt", [None, CORRUPT])
def test_gradient_checkpointing_keeps_the_scores(method: str, corrupt: list[int] | None) -> None:
    """Checkpointing recomputes the layers in the backward pass: same scores, model restored
    (Fisher with a corrupted opening then runs the shared prompt in full, without its cache;
    with one draw per backward pass it runs the clean model again for each: a checkpointed
    graph does not outlive its backward pass)."""
    import torch

    from harness_ext.discovery.attribution import attribute, edge_attribute, fisher_attribute
    from harness_ext.discovery.memory import gradient_checkpointing, is_checkpointing

    score = {
        "eap-ig": attribute,
        "fisher": fisher_attribute,
        "fisher by one": lambda *a: fisher_attribute(*a, batch_size=1),
        "edges": lambda *a: edge_attribute(*a).sum(-1),
        "inputs": lambda *a: attribute(*a, ig_over="inputs"),
    }[method]
    model = _model()
    plain = score(model, PROMPT, CLEAN, corrupt, 3)
    with gradient_checkpointing(model):
        assert is_checkpointing(model)
        checkpointed = score(model, PROMPT, CLEAN, corrupt, 3)
    assert torch.allclose(checkpointed, plain, rtol=1e-4, atol=1e-6)
    assert not is_checkpointing(model) and not any(m.training for m in model.modules())


def _fisher_by_hand(model, prompt, clean, corrupt, samples: int, seed: int = 0):  # noqa: ANN001, ANN202
    """Fisher's estimate from its definition, draw by draw: full runs, the reference hook (one
    autograd node per head slice), one forward and backward pass per draw,
    ``1/2 mean_s (sum_t grad log p_t(y_ts) . delta_h)^2``."""
    import torch

    from harness_ext.testing import reference_hook

    config = model.config
    heads = [
        (layer, head)
        for layer in range(config.num_hidden_layers)
        for head in range(config.num_attention_heads)
    ]

    def run(ids):  # noqa: ANN001, ANN202
        seen = {}

        def keep(pair):  # noqa: ANN001, ANN202
            def fn(x):  # noqa: ANN001, ANN202
                seen[pair] = x.clone()
                return seen[pair]

            return fn

        with reference_hook(model, {pair: keep(pair) for pair in heads}):
            logits = model(torch.tensor([ids])).logits[0]
        return seen, logits

    start = len(prompt) - 1
    clean_acts, logits = run([*prompt, *clean])
    corrupt_acts = None if corrupt is None else run([*prompt, *corrupt])[0]
    probs = torch.softmax(logits[start:-1].detach().float(), -1)
    generator = torch.Generator().manual_seed(seed)
    drawn = torch.multinomial(probs, samples, replacement=True, generator=generator).T
    squares = torch.zeros(config.num_hidden_layers, config.num_attention_heads)
    for draw in drawn:
        seen, logits = run([*prompt, *clean])
        logp = torch.log_softmax(logits[start:-1], -1).gather(-1, draw[:, None]).sum()
        grads = torch.autograd.grad(logp, [seen[pair] for pair in heads])
        for (layer, head), grad in zip(heads, grads):
            delta = clean_acts[layer, head].detach()
            if corrupt_acts is not None:
                delta = delta - corrupt_acts[layer, head].detach()
            squares[layer, head] += (grad * delta).sum().pow(2)
    return 0.5 * squares / samples


@pytest.mark.parametrize("batch_size", [None, 2])
@pytest.mark.parametrize("corrupt", [None, CORRUPT])
def test_fisher_batched_backward_matches_its_definition(
    batch_size: int | None, corrupt: list[int] | None
) -> None:
    """One clean run, the draws as rows of a batched backward pass (with the prompt's cache
    shared with the corrupted run): the same scores as the estimate computed draw by draw."""
    import torch

    from harness_ext.discovery.attribution import fisher_attribute

    model = _model("qwen2")
    fast = fisher_attribute(model, PROMPT, CLEAN, corrupt, 5, batch_size, seed=3)
    by_hand = _fisher_by_hand(model, PROMPT, CLEAN, corrupt, 5, seed=3)
    assert (by_hand > 0).any()
    assert torch.allclose(fast, by_hand, rtol=1e-4, atol=1e-9)


def test_discover_heads_returns_a_typed_result() -> None:
    """A :class:`Discovery`: fields as attributes, and dict-style reads for older callers."""
    from harness_ext.discovery import Attribution, Discovery, Problem, discover_heads

    problems = [Problem(f"p{i}", tuple(text.encode())) for i, text in enumerate(["2+3=", "7*6="])]
    how = Attribution(opening_tokens=3, ig_steps=2, method="eap-ig", position_abs=True)
    found = discover_heads(_model(), problems, how)
    assert isinstance(found, Discovery) and found.method == "eap-ig" and found.corrupt == "next"
    assert found["importance_post"] is found.importance_post and len(found.importance_post) == 2
    assert found.get("importance_base") is None and found.get("edges_post", "none") == "none"
    assert found.problem_ids == ["p0", "p1"] and len(found.per_problem_post) == 2
    with pytest.raises(KeyError):
        found["no such field"]


def test_variant_flags_need_node_level_eap_ig() -> None:
    """--ig-over inputs / --position-abs with fisher or --edges: refused before any model."""
    from harness_ext.discovery import configure_discover, run_discover

    parser = argparse.ArgumentParser()
    configure_discover(parser)
    for argv in (["--ig-over", "inputs"], ["--method", "eap-ig", "--edges", "--position-abs"]):
        with pytest.raises(SparksError, match="node-level --method eap-ig"):
            run_discover(parser.parse_args([*argv, "--model", "/no/such/model"]))


def test_report_marks_unstable_heads(tmp_path: Path) -> None:
    """``sparks report --heads``: emergent heads that the bootstrap does not call stable are
    marked in the text lines and outlined grey (not red) on the heat map."""
    from harness_ext.discovery.circuits import CircuitRule
    from harness_ext.discovery.heads_file import build_result, write_json
    from harness_ext.discovery.stability import add_stability
    from harness_ext.reports.heads import heads_heatmap, heads_lines, load_heads
    from harness_ext.reports.report_json import heads_json

    problems = [[[0.0, 0.1], [0.2, 5.0]] for _ in range(3)] + [[[9.0, 0.1], [0.2, 5.0]]]
    total = [[sum(p[i][j] for p in problems) for j in range(2)] for i in range(2)]
    rule = CircuitRule("size", size=2)
    result = add_stability(build_result(total, None, rule, {}), problems, None, rule, 200)
    path = tmp_path / "heads.json"
    write_json(result, path)
    heads = load_heads(path)
    assert heads.unstable == ((0, 0),) and heads.bootstrapped
    lines = heads_lines(heads, [])
    assert "L1H1, L0H0 (unstable)" in lines[0] or "L0H0 (unstable), L1H1" in lines[0]
    assert "1 of them stable, 1 unstable" in lines[1]
    assert "not stable" in heads_heatmap(heads)  # the grey outline's legend entry
    marks = {(e["layer"], e["head"]): e["stable"] for e in heads_json(heads)["emergent"]}
    assert marks == {(0, 0): False, (1, 1): True}  # report.json
    del result["stability"]
    path.write_text(json.dumps(result))
    plain = load_heads(path)
    assert plain.unstable == () and not plain.bootstrapped
    assert {e["stable"] for e in heads_json(plain)["emergent"]} == {None}
    assert (
        heads_lines(plain, [])[0].endswith("top: L1H1, L0H0") and len(heads_lines(plain, [])) == 1
    )
