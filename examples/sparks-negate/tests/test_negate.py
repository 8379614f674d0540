"""Tests for the negate plugin, written the way sparks recommends for any plugin.

``harness_ext.testing`` gives a tiny random model (CPU, seconds) and the reference hook: a plain
forward pre-hook on ``o_proj`` that edits one head's input slice, the ground truth that any
intervention must match, on the prompt and on every generated token.
"""

import pytest
import torch

from harness_ext.interventions import apply_interventions, resolve
from harness_ext.plugins import get_registered_interventions
from harness_ext.testing import TINY_ARCHITECTURES, reference_hook, tiny_model, tiny_tokenizer


def test_negate_is_registered_with_help():
    entry = get_registered_interventions()["negate"]
    assert "Flip the sign" in entry.obj.__doc__


@pytest.mark.parametrize("arch", TINY_ARCHITECTURES)
@pytest.mark.parametrize("mode", ["fold", "pyvene"])
def test_negate_matches_the_reference_hook(arch, mode):
    model = tiny_model(arch)
    batch = tiny_tokenizer()(["What is 2+3?", "1+1=", "Find x."], padding=True, return_tensors="pt")
    settings = dict(max_new_tokens=8, min_new_tokens=8, do_sample=False)
    with torch.no_grad():
        plain = model.generate(**batch, **settings)
        with reference_hook(model, {(0, 1): torch.neg, (1, 3): torch.neg}):
            expected = model.generate(**batch, **settings)
        with apply_interventions(model, resolve("negate:L0H1+L1H3", model.config), mode=mode):
            tokens = model.generate(**batch, **settings)
    assert torch.equal(tokens, expected)
    assert not torch.equal(tokens, plain)
