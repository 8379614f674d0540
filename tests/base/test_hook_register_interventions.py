"""register_interventions: a plugin adds an intervention kind, and specs can use it."""

from __future__ import annotations

import torch

from harness_ext import hookimpl
from harness_ext.interventions import apply_interventions, resolve
from harness_ext.interventions.base import HeadIntervention
from harness_ext.testing import reference_hook, throwaway_plugin, tiny_model


class Shift(HeadIntervention):
    """Add a constant to the heads' outputs."""

    def __init__(self, amount: float) -> None:
        super().__init__()
        self.amount = amount

    def forward(self, base, source=None, subspaces=None):
        return base + self.amount


class ShiftPlugin:
    @staticmethod
    @hookimpl
    def register_interventions(register):
        def shift(amount: str) -> Shift:
            """Add AMOUNT to the heads' outputs."""
            return Shift(float(amount))

        register("shift", shift)


def test_hook_register_interventions() -> None:
    model = tiny_model()
    ids = torch.tensor([[3, 9, 27, 81], [0, 0, 5, 25]])
    mask = (ids != 0).long()
    with throwaway_plugin("shift-plugin", ShiftPlugin()):
        resolved = resolve("shift:L1H1+L0H3:0.25", model.config)
    assert [(item.plugin, item.layer, item.heads) for item in resolved] == [
        ("shift-plugin", 0, (3,)),
        ("shift-plugin", 1, (1,)),
    ]
    assert resolved[0].intervention.site.heads == (3,)
    with torch.no_grad():
        with reference_hook(model, {(1, 1): lambda x: x + 0.25, (0, 3): lambda x: x + 0.25}):
            expected = model(ids, attention_mask=mask).logits
        with apply_interventions(model, resolved) as mode:
            got = model(ids, attention_mask=mask).logits
    assert mode == "pyvene"
    torch.testing.assert_close(got, expected, rtol=0, atol=0)
