"""``sparks discover --bootstrap B``: rank intervals, circuit and emergent frequencies, Jaccard
stability and ``@heads.json#stable``, on the planted tiny pair (the base lacks two heads that
the post model has, so those two are emergent in every resample) and on hand-made scores."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from harness_ext.discovery.circuits import CircuitRule
from harness_ext.discovery.heads_file import build_result
from harness_ext.discovery.stability import add_stability, mean_jaccard
from harness_ext.errors import SparksError

pytest.importorskip("torch")

CHOSEN = [(0, 1), (1, 2)]
PROMPTS = ["What is 2+3? ", "Solve x+1=4. ", "Area of a 3x4 box? ", "Is 91 prime? "]


def test_mean_jaccard() -> None:
    assert mean_jaccard([{1, 2}, {1, 2}, {1, 2}]) == 1.0
    assert mean_jaccard([{1, 2}, {2, 3}]) == pytest.approx(1 / 3)
    assert mean_jaccard([set(), set()]) == 1.0
    assert mean_jaccard([{1}]) is None


def test_a_head_carried_by_one_problem_is_unstable() -> None:
    """Head (0, 0) is first in one problem of four and absent from the rest: in the full-sample
    circuit of one head, but only in the resamples that draw that problem (about 68%)."""
    problems = [[[0.0, 0.1], [0.2, 0.3]] for _ in range(3)] + [[[9.0, 0.1], [0.2, 0.3]]]
    total = [[sum(p[i][j] for p in problems) for j in range(2)] for i in range(2)]
    rule = CircuitRule("size", size=1)
    result = add_stability(build_result(total, None, rule, {}), problems, None, rule, 200)
    first = next(h for h in result["heads"] if (h["layer"], h["head"]) == (0, 0))
    assert first["in_circuit_post"] and 0.5 < first["circuit_frequency_post"] < 0.8
    assert not first["stable"] and result["stability"]["stable_emergent"] == []
    assert first["rank_interval_post"][0] == 1 and first["rank_interval_post"][1] > 1
    assert 0 < result["stability"]["jaccard_circuit_post"] < 1


def test_bootstrap_marks_the_planted_heads_stable(tmp_path: Path) -> None:
    from harness_ext.discovery import configure_discover, discover_heads
    from harness_ext.discovery.command import Attribution, Problem
    from harness_ext.testing import tiny_model

    def planted(factor: float):  # noqa: ANN202
        import torch

        model = tiny_model("llama", 0)
        d = model.config.head_dim
        with torch.no_grad():
            for layer, head in CHOSEN:
                model.model.layers[layer].self_attn.o_proj.weight[:, head * d : (head + 1) * d] *= (
                    factor
                )
        return model

    problems = [Problem(f"p{i}", tuple(text.encode())) for i, text in enumerate(PROMPTS)]
    how = Attribution(opening_tokens=6, ig_steps=3, corrupt="base", method="fisher")
    found = discover_heads(planted(8.0), problems, how, base=planted(0.0))
    assert len(found["per_problem_post"]) == len(PROMPTS)
    rule = CircuitRule("size", size=2)
    result = build_result(found["importance_post"], found["importance_base"], rule, {})
    add_stability(result, found["per_problem_post"], found["per_problem_base"], rule, 50)
    stability = result["stability"]
    assert sorted((h["layer"], h["head"]) for h in stability["stable_emergent"]) == CHOSEN
    assert 0.8 < stability["jaccard_emergent"] <= 1 and "80%" in stability["definition"]
    for head in result["heads"]:
        planted_head = (head["layer"], head["head"]) in CHOSEN
        assert head["stable"] == planted_head
        assert head["circuit_frequency_base"] == 0.0 or not planted_head  # absent in the base
        assert (head["emergent_frequency"] >= 0.8) == planted_head

    from harness_ext.discovery.heads_file import write_json
    from harness_ext.interventions.spec import parse_spec

    path = tmp_path / "heads.json"
    write_json(result, path)
    spec = parse_spec("zero:@heads.json#stable", base_dir=tmp_path)
    assert sorted((ref.layer, ref.head) for ref in spec.items[0].heads) == CHOSEN
    del result["stability"]
    path.write_text(json.dumps(result))
    with pytest.raises(SparksError, match="--bootstrap"):
        parse_spec("zero:@heads.json#stable", base_dir=tmp_path)

    parser = argparse.ArgumentParser()
    configure_discover(parser)
    from harness_ext.discovery import run_discover

    with pytest.raises(SparksError, match="--bootstrap 1"):
        run_discover(parser.parse_args(["--bootstrap", "1"]))


def test_cli_bootstrap_writes_stability(tmp_path: Path, local_data, capsys) -> None:  # noqa: ANN001
    """``sparks discover --bootstrap 20`` on saved tiny models: heads.json carries the
    stability entry and each head's frequencies; the heat map is drawn; the summary counts the
    stable heads and suggests ablating them (``#stable``)."""
    from harness_ext.discovery import configure_discover, run_discover
    from harness_ext.testing import tiny_model, tiny_tokenizer

    for name in ("post", "base"):
        tiny_model("llama", 0).save_pretrained(tmp_path / name)
        tiny_tokenizer().save_pretrained(tmp_path / name)
    parser = argparse.ArgumentParser()
    configure_discover(parser)
    argv = ["--model", str(tmp_path / "post"), "--base", str(tmp_path / "base"), "--limit", "3"]
    argv += ["--ig-steps", "2", "--opening-tokens", "4", "--method", "fisher", "--device", "cpu"]
    out = tmp_path / "heads.json"
    assert run_discover(parser.parse_args([*argv, "--bootstrap", "20", "-o", str(out)])) == 0
    data = json.loads(out.read_text())
    assert data["stability"]["resamples"] == 20 and data["stability"]["problems"] == 3
    printed = capsys.readouterr().out
    stable = len(data["stability"]["stable_emergent"])
    assert f"stable (emergent in >= 80% of 20 resamples): {stable} of " in printed
    assert f"'zero:@{out}#stable'" in printed
    assert all(0 <= h["circuit_frequency_post"] <= 1 for h in data["heads"])
    assert all(h["rank_interval_post"][0] <= h["rank_interval_post"][1] for h in data["heads"])
