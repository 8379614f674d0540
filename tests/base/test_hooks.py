"""The one input-hook mechanism (harness_ext.hooks.input_hooks), and that sparks uses no other.

Edits and captures on tiny models, checked against the independent reference hook of
harness_ext.testing; hooks gone after the block, also after an error; a wrong path refused
before any hook is added. The source scans keep the rules of the architecture issue: forward
pre-hooks are registered in the mechanism and the reference hook only, and no private pyvene
attribute is used. pyvene's import prints nothing, and stdout is not redirected for it.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from harness_ext.errors import SparksError
from harness_ext.hooks import input_hooks
from harness_ext.testing import reference_hook, tiny_model, tiny_tokenizer

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ["harness_ext", "interventions", "tasks", "reports", "tests", "benchmarks"]
O_PROJ = "model.layers.{layer}.self_attn.o_proj"


@pytest.fixture(scope="module")
def ids() -> torch.Tensor:
    return tiny_tokenizer()(["What is 2+3?", "1+1="], padding=True, return_tensors="pt").input_ids


def logits(model, ids: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model(ids).logits


def test_an_edit_equals_the_reference_hook(ids: torch.Tensor) -> None:
    model = tiny_model("qwen3")

    def zero_head_2(x: torch.Tensor) -> torch.Tensor:
        x = x.clone()
        x[..., 32:48] = 0
        return x

    with reference_hook(model, {(1, 2): torch.zeros_like}):
        expected = logits(model, ids)
    with input_hooks(model, {O_PROJ.format(layer=1): zero_head_2}):
        got = logits(model, ids)
    assert torch.equal(got, expected)
    assert not torch.equal(got, logits(model, ids))  # and gone after the block


def test_none_keeps_the_input_and_captures_see_every_call(ids: torch.Tensor) -> None:
    model = tiny_model()
    plain = logits(model, ids)
    seen: dict[str, list[tuple[int, ...]]] = {"o_proj": [], "norm": []}
    fns = {
        O_PROJ.format(layer=0): lambda x: seen["o_proj"].append(tuple(x.shape)),
        "model.norm": lambda x: seen["norm"].append(tuple(x.shape)),
    }
    with input_hooks(model, fns):
        assert torch.equal(logits(model, ids), plain)
        with torch.no_grad():
            model.generate(
                ids,
                attention_mask=(ids != 0).long(),
                max_new_tokens=3,
                min_new_tokens=3,
                do_sample=False,
            )
    length = ids.shape[1]
    assert seen["o_proj"] == [(2, length, 64), (2, length, 64), (2, 1, 64), (2, 1, 64)]
    assert seen["norm"] == [(2, length, 64), (2, length, 64), (2, 1, 64), (2, 1, 64)]


def test_hooks_are_removed_after_an_error(ids: torch.Tensor) -> None:
    model = tiny_model()
    plain = logits(model, ids)

    def fails(x: torch.Tensor) -> None:
        raise ValueError("no")

    with pytest.raises(ValueError, match="no"), input_hooks(model, {O_PROJ.format(layer=1): fails}):
        logits(model, ids)
    assert torch.equal(logits(model, ids), plain)
    with pytest.raises(RuntimeError, match="inside"), input_hooks(model, {"model.norm": torch.neg}):
        raise RuntimeError("inside")
    assert torch.equal(logits(model, ids), plain)


def test_a_wrong_path_is_refused_before_any_hook(ids: torch.Tensor) -> None:
    model = tiny_model()
    plain = logits(model, ids)
    called = []
    fns = {
        O_PROJ.format(layer=0): lambda x: called.append(1),
        "model.layers.9.self_attn.o_proj": lambda x: None,
    }
    with pytest.raises(SparksError, match=r"no module 'model.layers.9.self_attn.o_proj'"):
        with input_hooks(model, fns):
            pass
    assert torch.equal(logits(model, ids), plain) and called == []


def test_gradients_flow_through_a_replacement(ids: torch.Tensor) -> None:
    model = tiny_model()
    copies: list[torch.Tensor] = []

    def copy(x: torch.Tensor) -> torch.Tensor:
        copies.append(x.clone())
        return copies[-1]

    with input_hooks(model, {"model.norm": copy}):
        loss = model(ids).logits.sum()
    (grad,) = torch.autograd.grad(loss, copies)
    assert grad.shape == copies[0].shape and grad.abs().sum() > 0


def python_sources() -> list[Path]:
    folders = [ROOT / name for name in SOURCES] + [
        ROOT / "examples" / "sparks-negate" / "sparks_negate"
    ]
    return sorted(path for folder in folders for path in folder.rglob("*.py"))


# spelt in pieces, so that this file is not itself a place where the names appear
PRE_HOOK = "register_forward" + "_pre_hook"
OTHER_HOOKS = re.compile(
    r"register_(forward|full_backward|full_backward_pre|backward)" + "_hook\\b"
)


def test_forward_pre_hooks_are_registered_in_the_mechanism_and_the_reference_hook_only() -> None:
    users = {
        path.relative_to(ROOT).as_posix()
        for path in python_sources()
        if PRE_HOOK in path.read_text(encoding="utf-8")
    }
    assert users == {"harness_ext/hooks.py", "harness_ext/testing.py"}
    for path in python_sources():  # nor any other kind of module hook
        assert not OTHER_HOOKS.search(path.read_text(encoding="utf-8")), path


def test_no_private_pyvene_attribute_is_used() -> None:
    private = re.compile(r"\b(pyvene|intervenable|_intervenable)(\.\w+)*\._[a-z]\w*")
    for path in python_sources():
        text = path.read_text(encoding="utf-8")
        assert not private.search(text), f"{path}: {private.search(text).group(0)}"
        assert "_intervention" + "_setter" not in text, path  # what the runtime once called


@pytest.mark.integration  # a fresh interpreter
def test_pyvene_imports_silently_without_redirecting_stdout() -> None:
    code = (
        "import contextlib, sys\n"
        "def refuse(*args):\n"
        "    raise AssertionError('stdout redirected')\n"
        "contextlib.redirect_stdout = refuse\n"
        "stdout = sys.stdout\n"
        "from harness_ext.interventions.base import pyvene\n"
        "assert sys.stdout is stdout and 'nnsight' not in sys.modules\n"
        "assert hasattr(pyvene, 'SourcelessIntervention')\n"
        "print('imported')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout == "imported\n"
