"""The checks sparks-vllm runs before the engine starts: a plugin kind that claims token_wise
but mixes tokens, or that torch.compile cannot trace, is refused with the reason."""

from __future__ import annotations

import torch

from harness_ext import hookimpl
from harness_ext.interventions.base import HeadIntervention
from harness_ext.interventions.flat import flat_layers
from harness_ext.interventions.flat_checks import flat_run_problems
from harness_ext.interventions.flat_ranks import RankSlice, rank_columns
from harness_ext.interventions.plan import build_plan
from harness_ext.testing import throwaway_plugin, tiny_model


class CentreTokens(HeadIntervention):
    """Claims to act on each token alone, but subtracts the mean over the batch's tokens."""

    token_wise = True

    def forward(self, base, source=None, subspaces=None):  # noqa: ANN001, ANN201
        return base - base.mean(dim=1, keepdim=True)


class ClipByValue(HeadIntervention):
    """Token-wise, but branches in Python on a tensor's value: a graph break."""

    token_wise = True

    def forward(self, base, source=None, subspaces=None):  # noqa: ANN001, ANN201
        if float(base.abs().max()) > 1.0:
            return base.clamp(-1.0, 1.0)
        return base


class Halve(HeadIntervention):
    """Token-wise and traceable."""

    token_wise = True

    def forward(self, base, source=None, subspaces=None):  # noqa: ANN001, ANN201
        return base * 0.5


class Plugin:
    @staticmethod
    @hookimpl
    def register_interventions(register):  # noqa: ANN001, ANN205
        register("centre", CentreTokens)
        register("clip", ClipByValue)
        register("halve", Halve)


def problems(spec: str, *, compiled: bool = True) -> list[str]:
    model = tiny_model("llama")
    with throwaway_plugin("check-plugin", Plugin):
        plan = build_plan(spec, model.config)
        return flat_run_problems(plan.items, compiled=compiled)


def test_builtin_kinds_and_a_token_wise_plugin_pass():
    model = tiny_model("llama")
    with throwaway_plugin("check-plugin", Plugin):
        plan = build_plan("zero:L0H1;scale:L1H2:1.5;noise:L0H3:0.1;halve:L1H0", model.config)
        assert flat_run_problems(plan.items) == []


def test_a_plugin_that_mixes_tokens_is_refused():
    found = problems("zero:L1H0;centre:L0H1")
    assert len(found) == 1
    assert found[0].startswith("layer 0 (centre:L0H1")
    assert "mixes the tokens of different requests" in found[0]


def test_a_plugin_torch_compile_cannot_trace_is_refused_unless_eager():
    found = problems("zero:L1H0;clip:L0H1")
    assert len(found) == 1 and "layer 0" in found[0]
    assert "torch.compile cannot trace it" in found[0] and "enforce_eager=True" in found[0]
    assert problems("zero:L1H0;clip:L0H1", compiled=False) == []


def test_the_checks_leave_the_plan_untouched():
    model = tiny_model("llama").to(torch.bfloat16)
    plan = build_plan("mean:L0H1", model.config)
    plan.items[0].intervention.mean = torch.ones(1, plan.items[0].head_dim, dtype=torch.bfloat16)
    before = plan.digest()
    assert flat_run_problems(plan.items) == []
    assert plan.items[0].intervention.mean.dtype == torch.bfloat16
    assert plan.digest() == before


class MixHeads(HeadIntervention):
    """Token-wise, but each selected head gets the mean of the selected heads."""

    token_wise = True

    def forward(self, base, source=None, subspaces=None):  # noqa: ANN001, ANN201
        return base.mean(dim=2, keepdim=True).expand_as(base)


class MixPlugin:
    @staticmethod
    @hookimpl
    def register_interventions(register):  # noqa: ANN001, ANN205
        register("mix", MixHeads)


def test_each_rank_applies_the_plan_to_its_own_columns():
    """4 heads of 16 over 2 ranks: global head 3 is rank 1's columns 16-32; the ranks' slices
    put together give what the whole width gives, noise draws included."""
    model = tiny_model("llama")
    plan = build_plan("zero:L0H3;scale:L0H0+L0H2:1.5;noise:L0H1:0.5", model.config)
    path = "model.layers.0.self_attn.o_proj"
    heads = flat_layers(plan.items)[path]
    assert rank_columns(4, 16, 1, 2) == (32, 32)
    x = torch.randn(5, 64, generator=torch.Generator().manual_seed(0))
    whole = heads(x)
    # each rank has its own copy of the layer's interventions, with its own step count
    slices = [RankSlice(flat_layers(plan.items)[path], rank, 2) for rank in (0, 1)]
    parts = torch.cat(
        [piece(x[:, 32 * rank : 32 * (rank + 1)]) for rank, piece in enumerate(slices)], -1
    )
    torch.testing.assert_close(parts, whole)
    assert torch.equal(whole[:, 48:], torch.zeros(5, 16))  # head 3 zeroed: rank 1, 16-32
    assert [int(piece.applied) for piece in slices] == [1, 1]


def test_a_plugin_that_mixes_heads_is_refused_under_tensor_parallelism():
    model = tiny_model("llama")
    with throwaway_plugin("mix-plugin", MixPlugin):
        plan = build_plan("mix:L0H1+L0H2", model.config)
        assert flat_run_problems(plan.items) == []
        found = flat_run_problems(plan.items, ranks=2)
    assert len(found) == 1 and "depends on other heads" in found[0]
    assert "tensor_parallel_size=2" in found[0]
