"""mean: reference activations from the clean model, cached on disk, exact against the reference hook."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from harness_ext.errors import SparksError
from harness_ext.interventions import apply_interventions, calibrate, reference, resolve
from harness_ext.interventions.reference import REFERENCE_PROMPTS
from harness_ext.testing import reference_hook, tiny_model, tiny_tokenizer

GENERATE = dict(max_new_tokens=8, min_new_tokens=8, do_sample=False)


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SPARKS_CACHE_DIR", str(tmp_path))
    return tmp_path / "reference"


def head_means(model: Any, layer: int, heads: list[int]) -> dict[int, torch.Tensor]:
    """Each head's mean output over the reference prompts, computed independently of sparks
    (the reference hook, with functions that record each head's slice and keep it)."""
    tokenizer = tiny_tokenizer()
    rows: dict[int, list[torch.Tensor]] = {h: [] for h in heads}

    def record(head: int) -> Any:
        return lambda x: rows[head].append(x[0].clone()) or x

    with reference_hook(model, {(layer, h): record(h) for h in heads}), torch.no_grad():
        for prompt in REFERENCE_PROMPTS:
            model(tokenizer(prompt, return_tensors="pt").input_ids)
    return {h: torch.cat(rows[h]).mean(0) for h in heads}  # [n_tokens, head_dim] -> [head_dim]


@pytest.mark.parametrize("arch", ["llama", "qwen3"])
def test_mean_matches_reference_hook(arch: str) -> None:
    model = tiny_model(arch)
    tokenizer = tiny_tokenizer()
    batch = dict(
        tokenizer(["What is 2+3? Think.", "1+1=", "Find x."], padding=True, return_tensors="pt")
    )
    means = {
        **{(0, h): m for h, m in head_means(model, 0, [1, 2]).items()},
        **{(1, h): m for h, m in head_means(model, 1, [3]).items()},
    }
    functions = {key: (lambda x, m=mean: m.expand_as(x).clone()) for key, mean in means.items()}
    with torch.no_grad():
        plain = model.generate(**batch, **GENERATE)
        with reference_hook(model, functions):
            expected = model.generate(**batch, **GENERATE)
            expected_logits = model(**batch).logits
        resolved = resolve("mean:L0H1+L0H2+L1H3", model.config)
        with apply_interventions(model, resolved, tokenizer=tokenizer) as mode:
            tokens = model.generate(**batch, **GENERATE)
            logits = model(**batch).logits
    assert mode == "pyvene"
    assert tokens.equal(expected) and not tokens.equal(plain)
    torch.testing.assert_close(logits, expected_logits, rtol=1e-5, atol=1e-5)


def test_reference_activations_are_cached(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = tiny_model()
    tokenizer = tiny_tokenizer()
    first = resolve("mean:L1H0+L1H1", model.config)
    calibrate(model, tokenizer, first)
    assert len(list(cache.glob("*.pt"))) == 1

    def refuse(*args: object) -> None:
        raise AssertionError("recomputed although cached")

    monkeypatch.setattr(reference, "_collect", refuse)
    second = resolve("mean:L1H0+L1H1", model.config)
    calibrate(model, tokenizer, second)
    assert torch.equal(first[0].intervention.mean, second[0].intervention.mean)
    other = tiny_model(seed=1)  # same config, other weights: a different cache entry
    with pytest.raises(AssertionError, match="recomputed"):
        calibrate(other, tokenizer, resolve("mean:L1H0+L1H1", other.config))


def test_mean_without_tokenizer_is_explained() -> None:
    model = tiny_model()
    with pytest.raises(SparksError, match="mean needs reference activations: pass tokenizer="):
        apply_interventions(model, resolve("mean:L1H0", model.config))
