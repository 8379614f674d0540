"""The `sparks` model with interventions: exact against the reference hook through lm-eval's
own request path (generate_until and loglikelihood), batched, in both modes."""

from __future__ import annotations

import pytest
from lm_eval.api.instance import Instance
from lm_eval.models.huggingface import HFLM
from tiny_models import PROMPTS, generate

from harness_ext.errors import SparksError
from harness_ext.model import SparksLM
from harness_ext.testing import reference_hook

SPEC = "zero:L0H1+L1H3;scale:L1H0:1.5"
REFERENCE = {(0, 1): lambda x: x * 0, (1, 3): lambda x: x * 0, (1, 0): lambda x: x * 1.5}


def loglikelihoods(lm: SparksLM) -> list[float]:
    requests = [
        Instance(
            request_type="loglikelihood", doc={}, idx=i, arguments=(prompt, " The answer is 156.")
        )
        for i, prompt in enumerate(PROMPTS)
    ]
    return [logprob for logprob, _ in lm.loglikelihood(requests, disable_tqdm=True)]


@pytest.mark.parametrize("mode", ["fold", "pyvene"])
@pytest.mark.parametrize("arch", ["llama", "qwen2"])
def test_interventions_match_the_reference_hook(tiny_model_dirs, arch, mode):
    path = str(tiny_model_dirs[arch])
    intervened = SparksLM(
        pretrained=path, device="cpu", batch_size=3, interventions=SPEC, intervention_mode=mode
    )
    plain = SparksLM(pretrained=path, device="cpu", batch_size=3)
    with reference_hook(plain.model, REFERENCE):
        expected_text = generate(plain, PROMPTS, max_gen_toks=12)
        expected_ll = loglikelihoods(plain)
    assert generate(intervened, PROMPTS, max_gen_toks=12) == expected_text
    assert loglikelihoods(intervened) == pytest.approx(expected_ll, rel=1e-5, abs=1e-5)
    assert loglikelihoods(plain) != pytest.approx(expected_ll, rel=1e-5, abs=1e-5)


def test_info_records_the_normalized_spec(tiny_model_dirs):
    lm = SparksLM(
        pretrained=str(tiny_model_dirs["llama"]),
        device="cpu",
        interventions="scale:L1H0:1.5;zero:L1H3+L0H1",
    )
    info = lm.get_model_info()
    assert info["sparks_interventions"] == lm.interventions
    assert info["sparks_intervention_mode"] == "fold"
    assert list(info["sparks_plugins"]) == ["harness_ext.interventions.builtin"]
    same = SparksLM(pretrained=str(tiny_model_dirs["llama"]), device="cpu", interventions=SPEC)
    assert same.interventions == lm.interventions and same.cache_tag == lm.cache_tag


def test_use_cache_files_are_separate_per_spec(tiny_model_dirs, tmp_path):
    from lm_eval.api.model import CachingLM

    lm = SparksLM(pretrained=str(tiny_model_dirs["llama"]), device="cpu", interventions=SPEC)
    cached = CachingLM(lm, str(tmp_path / "cache_rank0.db"))
    assert cached.cache_db == str(tmp_path / f"cache_rank0_sparks-{lm.cache_tag}.db")
    plain = SparksLM(pretrained=str(tiny_model_dirs["llama"]), device="cpu")
    assert CachingLM(plain, str(tmp_path / "c.db")).cache_db == str(tmp_path / "c.db")


def test_bad_heads_fail_before_the_model_loads(tiny_model_dirs, monkeypatch):
    def must_not_load(*args, **kwargs):
        raise AssertionError("the model was loaded before the spec was checked")

    monkeypatch.setattr(HFLM, "__init__", must_not_load)
    with pytest.raises(SparksError, match="out of range"):
        SparksLM(pretrained=str(tiny_model_dirs["llama"]), interventions="zero:L7H1")
    with pytest.raises(SparksError, match=r"\^"):
        SparksLM(pretrained=str(tiny_model_dirs["llama"]), interventions="zero:L1H1:")
    with pytest.raises(SparksError, match="unknown intervention"):
        SparksLM(pretrained=str(tiny_model_dirs["llama"]), interventions="nope:L1H1")


def test_logged_generation_arguments_carry_the_spec(tiny_model_dirs):
    lm = SparksLM(pretrained=str(tiny_model_dirs["llama"]), device="cpu", interventions=SPEC)
    request = Instance(
        request_type="generate_until",
        doc={},
        idx=0,
        arguments=(PROMPTS[0], {"until": ["<|im_end|>"], "do_sample": False, "max_gen_toks": 4}),
    )
    lm.generate_until([request], disable_tqdm=True)
    assert request.args[1]["sparks_interventions"] == lm.interventions
    lm.generate_until([request], disable_tqdm=True)  # the key never reaches generate()
