"""The `sparks` lm-eval model on tiny random checkpoints: HFLM behaviour kept, batching exact."""

from __future__ import annotations

import pytest
from lm_eval.api.instance import Instance
from tiny_models import PROMPTS, generate

from harness_ext.errors import SparksError
from harness_ext.model import SparksLM


@pytest.mark.parametrize("arch", ["llama", "qwen2"])
def test_batch_size_does_not_change_greedy_outputs(tiny_model_dirs, arch):
    single = SparksLM(pretrained=str(tiny_model_dirs[arch]), device="cpu", batch_size=1)
    batched = SparksLM(pretrained=str(tiny_model_dirs[arch]), device="cpu", batch_size=4)
    outputs = generate(single, PROMPTS)
    assert outputs == generate(batched, PROMPTS)
    assert any(outputs)  # the tiny model does produce text


def test_hflm_model_args_pass_through(tiny_model_dirs):
    lm = SparksLM.create_from_arg_string(
        f"pretrained={tiny_model_dirs['llama']},dtype=bfloat16,max_length=96,device=cpu",
        {"batch_size": 2},
    )
    assert lm.max_length == 96
    assert str(lm.model.dtype) == "torch.bfloat16"
    assert lm.batch_size == 2
    info = lm.get_model_info()
    assert info["sparks_interventions"] is None and info["sparks_version"]


def test_loglikelihood_works(tiny_model_dirs):
    lm = SparksLM(pretrained=str(tiny_model_dirs["qwen2"]), device="cpu")
    request = Instance(
        request_type="loglikelihood",
        doc={},
        idx=0,
        arguments=("What is 12 times 13?", " The answer is 156."),
    )
    [(logprob, greedy)] = lm.loglikelihood([request], disable_tqdm=True)
    assert logprob < 0 and isinstance(greedy, bool)


def test_bad_intervention_mode_is_refused_before_loading(tiny_model_dirs):
    with pytest.raises(SparksError, match="intervention_mode='fast' is not one of auto, fold"):
        SparksLM(pretrained=str(tiny_model_dirs["llama"]), intervention_mode="fast")


def test_no_pretrained_means_the_embedded_model(monkeypatch, tmp_path, tiny_model_dirs):
    import harness_ext.embedded as embedded

    monkeypatch.setattr(embedded, "embedded_model_path", lambda: tiny_model_dirs["llama"])
    lm = SparksLM(device="cpu")
    assert lm.pretrained == str(tiny_model_dirs["llama"])


def test_generation_budget_is_fitted_to_the_context(tiny_model_dirs, caplog):
    lm = SparksLM(pretrained=str(tiny_model_dirs["llama"]), device="cpu", max_length=64)
    request = Instance(
        request_type="generate_until",
        doc={},
        idx=0,
        arguments=(
            PROMPTS[1],
            {"until": ["<|im_end|>"], "do_sample": False, "max_gen_toks": 32768},
        ),
    )
    [output] = lm.generate_until([request], disable_tqdm=True)
    prompt_tokens = len(lm.tok_encode(PROMPTS[1]))
    assert request.args[1]["max_gen_toks"] == 64 - prompt_tokens - 1
    assert "does not fit in this model's context" in caplog.text
    assert isinstance(output, str)


@pytest.mark.parametrize("how", ["string", "object"])
def test_an_argument_given_twice_is_one_line_naming_both(how: str) -> None:
    """--model_args device=cpu with --device cpu: lm-eval passed both as keywords (a TypeError
    traceback); sparks refuses before any model loads, naming both values."""
    from harness_ext.model import SparksLM

    with pytest.raises(SparksError, match=r"^device is given twice: .*device=cuda.*--device cpu"):
        if how == "string":
            SparksLM.create_from_arg_string("device=cuda", {"device": "cpu", "batch_size": None})
        else:
            SparksLM.create_from_arg_obj({"device": "cuda"}, {"device": "cpu"})


def test_a_chat_template_asked_of_a_model_without_one_is_one_line(tiny_model_dirs) -> None:
    """--apply_chat_template on a model whose tokenizer has no template: refused when lm-eval
    first asks for the template (before any request), not a traceback from transformers."""
    from harness_ext.model import SparksLM

    lm = SparksLM(pretrained=str(tiny_model_dirs["llama"]), device="cpu")
    assert lm.chat_template(True)  # the tiny checkpoint has one
    lm.tokenizer.chat_template = None
    with pytest.raises(
        SparksError, match=r"^--apply_chat_template: the model .* has no chat template"
    ):
        lm.chat_template(True)
