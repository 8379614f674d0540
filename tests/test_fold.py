"""fold_checkpoint: a folded model on disk behaves like the intervened original."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from harness_ext.errors import SparksError
from harness_ext.interventions import apply_interventions, fold_checkpoint, resolve
from harness_ext.interventions.fold import FOLD_NOTE
from harness_ext.testing import tiny_model, tiny_tokenizer

GENERATE = dict(max_new_tokens=8, min_new_tokens=8, do_sample=False)


@pytest.fixture
def checkpoint(tmp_path: Path) -> Path:
    folder = tmp_path / "tiny"
    tiny_model("qwen2").save_pretrained(folder)
    tiny_tokenizer().save_pretrained(folder)
    return folder


def test_folded_checkpoint_equals_intervened_model(checkpoint: Path, tmp_path: Path) -> None:
    from transformers import AutoModelForCausalLM

    spec = "zero:L0H1+L1H3;scale:L1H0:1.3"
    out = fold_checkpoint(checkpoint, spec, tmp_path / "folded")
    note = json.loads((out / FOLD_NOTE).read_text())
    assert note["interventions"] == "scale:L1H0:1.3;zero:L0H1+L1H3"
    assert {"sparks-harness", "torch", "transformers"} <= set(note["versions"])
    assert (out / "tokenizer.json").is_file()
    original = AutoModelForCausalLM.from_pretrained(checkpoint).eval()
    folded = AutoModelForCausalLM.from_pretrained(out).eval()
    batch = dict(tiny_tokenizer()(["What is 2+3?", "x"], padding=True, return_tensors="pt"))
    with torch.no_grad():
        with apply_interventions(original, resolve(spec, original.config), mode="pyvene"):
            expected = original.generate(**batch, **GENERATE)
            expected_logits = original(**batch).logits
        assert folded.generate(**batch, **GENERATE).equal(expected)
        torch.testing.assert_close(folded(**batch).logits, expected_logits, rtol=1e-5, atol=1e-5)
    assert not list(tmp_path.glob(".folded-*")), "no staging folder is left behind"
    fold_checkpoint(checkpoint, "zero:L0H0", out)  # overwriting its own output is allowed
    assert json.loads((out / FOLD_NOTE).read_text())["interventions"] == "zero:L0H0"


def test_fold_checkpoint_refuses_what_does_not_fold(checkpoint: Path, tmp_path: Path) -> None:
    with pytest.raises(SparksError, match="Only constant scalings"):
        fold_checkpoint(checkpoint, "noise:L0H1:0.1", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_fold_checkpoint_keeps_foreign_folders(checkpoint: Path, tmp_path: Path) -> None:
    precious = tmp_path / "precious"
    precious.mkdir()
    with pytest.raises(SparksError, match="not a folded checkpoint written by sparks"):
        fold_checkpoint(checkpoint, "zero:L0H0", precious)
