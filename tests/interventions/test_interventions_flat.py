"""The vLLM applier without vLLM: FlatHeads on a tiny model, compiled, and the plan it loads.

FlatHeads (interventions/flat.py) is what each vLLM worker traces into the compiled model. Here
it runs as an o_proj pre-hook on a tiny transformers model: it must give exactly the tokens of
the reference hook, count one step per forward pass, and do both inside torch.compile
(fullgraph) as well. The plan (interventions/plan.py) round-trips through its file with its
digest, and the digest follows the calibrated values.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from tiny_models import ReversePlugin  # a plugin kind that is not token-wise

from harness_ext.errors import SparksError
from harness_ext.generation_facts import vllm_facts
from harness_ext.hooks import input_hooks
from harness_ext.interventions.flat import counter_normal, flat_layers, flat_problem
from harness_ext.interventions.plan import build_plan, load_plan, save_plan
from harness_ext.testing import reference_hook, throwaway_plugin, tiny_model, tiny_tokenizer

GENERATE = dict(max_new_tokens=6, min_new_tokens=6, do_sample=False)


def test_flat_heads_match_the_reference_hook_and_count_steps():
    model = tiny_model("llama")
    batch = tiny_tokenizer()(["What is 2+3?"], return_tensors="pt")
    plan = build_plan("zero:L0H1;scale:L1H2+L1H3:1.5", model.config)
    layers = flat_layers(plan.items)
    with torch.no_grad():
        boost = {(1, 2): lambda x: x * 1.5, (1, 3): lambda x: x * 1.5}
        with reference_hook(model, {(0, 1): torch.zeros_like, **boost}):
            expected = model.generate(**batch, **GENERATE)
        with input_hooks(model, layers):
            tokens = model.generate(**batch, **GENERATE)
    assert torch.equal(tokens, expected)
    steps = {int(heads.applied) for heads in layers.values()}
    assert steps == {GENERATE["max_new_tokens"]}  # one prefill and five decode forward passes


@pytest.mark.integration  # torch.compile: 4 s
def test_flat_heads_trace_into_a_compiled_graph():
    """What vLLM relies on: the hook is in the graph, so it runs (and counts) every call."""
    model = tiny_model("llama")
    plan = build_plan("zero:L0H1;scale:L1H2:0.5", model.config)
    ids = tiny_tokenizer()(["Find x."], return_tensors="pt").input_ids
    with torch.no_grad():
        with reference_hook(model, {(0, 1): torch.zeros_like, (1, 2): lambda x: x * 0.5}):
            expected = model(ids).logits
        layers = flat_layers(plan.items)
        with input_hooks(model, layers):
            compiled = torch.compile(model, backend="aot_eager", fullgraph=True)
            first = compiled(ids).logits
            second = compiled(ids).logits
    torch.testing.assert_close(first, expected)
    torch.testing.assert_close(second, expected)
    assert {int(heads.applied) for heads in layers.values()} == {2}


def test_noise_on_vllm_is_reproducible_and_counter_based():
    like = torch.zeros(4000)
    step = torch.tensor(3)
    draws = counter_normal(like, 42, step)
    assert torch.equal(draws, counter_normal(like, 42, torch.tensor(3)))
    assert not torch.equal(draws, counter_normal(like, 42, torch.tensor(4)))
    assert not torch.equal(draws, counter_normal(like, 43, step))
    assert abs(float(draws.mean())) < 0.1 and abs(float(draws.std()) - 1.0) < 0.1


def test_kinds_that_cannot_run_on_a_flat_batch_are_named():
    model = tiny_model("llama")
    with throwaway_plugin("reverse-plugin", ReversePlugin):
        plan = build_plan("reverse:L0H1;zero:L1H0;mean:L1H1;noise:L0H2:0.1", model.config)
    problems = {item.name: flat_problem(item) for item in plan.items}
    assert [problems[name] for name in ("zero", "mean", "noise")] == [None, None, None]
    assert "'reverse' from plugin 'reverse-plugin'" in problems["reverse"]
    assert "token_wise = True" in problems["reverse"]


def test_plan_file_round_trips_and_is_checked(tmp_path):
    model = tiny_model("llama")
    plan = build_plan("scale:L0H1:2;random:2:5", model.config)
    path = save_plan(plan, tmp_path)
    loaded = load_plan(path, plan.digest())
    assert loaded.normalized == plan.normalized and loaded.digest() == plan.digest()
    assert [str(item) for item in loaded.items] == [str(item) for item in plan.items]
    with pytest.raises(SparksError, match="does not match"):
        load_plan(path, "0" * 16)


def test_plan_digest_follows_the_calibrated_values():
    model = tiny_model("llama")
    plan = build_plan("mean:L0H1", model.config)
    plan.items[0].intervention.mean = torch.zeros(1, 16)
    first = plan.digest()
    plan.items[0].intervention.mean = torch.ones(1, 16)
    assert plan.digest() != first


@pytest.mark.parametrize(
    "finish, stop, reason",
    [("length", None, "length"), ("stop", None, "eos"), ("stop", "\n\n", "stop_sequence")],
)
def test_generation_facts_from_vllm_outputs(finish, stop, reason):
    output = SimpleNamespace(
        outputs=[SimpleNamespace(token_ids=[5, 6, 7], finish_reason=finish, stop_reason=stop)]
    )
    assert vllm_facts(output, 32) == {
        "generated_tokens": 3,
        "stop_reason": reason,
        "max_gen_toks": 32,
    }


@pytest.mark.parametrize("mode", ["fold", "pyvene"])
def test_transformers_path_records_applied_steps_too(mode):
    from harness_ext.interventions import apply_interventions

    model = tiny_model("llama")
    batch = tiny_tokenizer()(["What is 2+3?"], return_tensors="pt")
    intervened = apply_interventions(
        model, build_plan("scale:L0H1+L1H2:0.5", model.config).items, mode=mode
    )
    with intervened, torch.no_grad():
        model.generate(**batch, **GENERATE)
    assert intervened.applied_steps() == {
        "engine_steps": GENERATE["max_new_tokens"],
        "layers": {"0": GENERATE["max_new_tokens"], "1": GENERATE["max_new_tokens"]},
    }
