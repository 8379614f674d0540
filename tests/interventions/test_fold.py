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


def test_fold_again_keeps_the_users_files(checkpoint: Path, tmp_path: Path) -> None:
    out = fold_checkpoint(checkpoint, "zero:L0H1", tmp_path / "folded")
    (out / "NOTES.md").write_text("why L0H1")
    fold_checkpoint(checkpoint, "zero:L0H0", out)
    assert json.loads((out / FOLD_NOTE).read_text())["interventions"] == "zero:L0H0"
    assert (out / "NOTES.md").read_text() == "why L0H1"


KILLED_FOLD = """
import os, signal, sys
from transformers import PreTrainedModel
from harness_ext.interventions import fold_checkpoint
real = PreTrainedModel.save_pretrained
def save_then_die(self, *args, **kwargs):
    real(self, *args, **kwargs)
    os.kill(os.getpid(), signal.SIGKILL)  # the weights are in the staging folder
PreTrainedModel.save_pretrained = save_then_die
fold_checkpoint(sys.argv[1], "zero:L0H1", sys.argv[2])
"""


@pytest.mark.integration  # a child process
def test_a_killed_fold_leaves_no_staging_folder_behind(checkpoint: Path, tmp_path: Path) -> None:
    import subprocess
    import sys

    out = tmp_path / "folded"
    script = tmp_path / "killed_fold.py"
    script.write_text(KILLED_FOLD)
    done = subprocess.run([sys.executable, str(script), str(checkpoint), str(out)])
    assert done.returncode == -9
    staged = list(tmp_path.glob(".folded.sparks-new-*"))
    assert len(staged) == 1 and (staged[0] / "model.safetensors").is_file()
    assert not out.exists()
    busy = tmp_path / ".folded.sparks-new-busy"  # a fold still running (this process)
    busy.mkdir()
    from harness_ext.atomic import STAGING_OWNER
    from harness_ext.locks import Owner

    (busy / STAGING_OWNER).write_text(Owner.me().to_json())
    foreign = tmp_path / ".folded.sparks-new-mine"  # not sparks' (no owner record): kept
    foreign.mkdir()
    fold_checkpoint(checkpoint, "zero:L0H1", out)
    assert (out / FOLD_NOTE).is_file()
    assert sorted(p.name for p in tmp_path.glob(".folded.*")) == [busy.name, foreign.name]
