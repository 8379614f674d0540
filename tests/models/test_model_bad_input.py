"""The `sparks` model on a newcomer's bad input: missing folders, no GPU, overflowing
interventions, raw prompts to an instruct model, and the results folder of each run."""

from __future__ import annotations

import logging

import pytest
import torch
from lm_eval.api.instance import Instance
from lm_eval.api.registry import get_model
from lm_eval.models.huggingface import HFLM

from harness_ext import hookimpl
from harness_ext.embedded import MODEL_NAME
from harness_ext.errors import SparksError
from harness_ext.interventions.base import HeadIntervention
from harness_ext.local_paths import checked_local_path, looks_local
from harness_ext.model import SparksLM, choose_device
from harness_ext.testing import throwaway_plugin

PROMPT = "What is 12 times 13?"


def request(do_sample: bool = False, **settings) -> Instance:
    arguments = {"until": ["<|im_end|>"], "do_sample": do_sample, "max_gen_toks": 6, **settings}
    return Instance(request_type="generate_until", doc={}, idx=0, arguments=(PROMPT, arguments))


@pytest.fixture
def no_loading(monkeypatch):
    def must_not_load(*args, **kwargs):
        raise AssertionError("the model was loaded before pretrained was checked")

    monkeypatch.setattr(HFLM, "__init__", must_not_load)


@pytest.fixture
def embedded_is_tiny(monkeypatch, tiny_model_dirs):
    import harness_ext.embedded as embedded

    monkeypatch.setattr(embedded, "embedded_model_path", lambda: tiny_model_dirs["llama"])


# ------------------------------------------------------------------ pretrained that is a path


@pytest.mark.parametrize(
    "path",
    [
        "/missing/folder",
        "./missing",
        "../missing",
        "~/sparks-missing",
        "models/org/missing",
        "C:\\models\\missing",
    ],
)
def test_a_missing_local_folder_is_named_before_loading(path, no_loading):
    with pytest.raises(SparksError, match=r"does not exist\. Pass a local model folder"):
        SparksLM(pretrained=path)


def test_a_file_is_not_a_model_folder(tmp_path, no_loading):
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(b"")
    with pytest.raises(SparksError, match="is a file, not a model folder"):
        SparksLM(pretrained=str(weights), interventions="zero:L0H1")


def test_hub_ids_are_left_to_the_hub():
    assert not looks_local("HuggingFaceTB/SmolLM2-135M-Instruct") and not looks_local("gpt2")
    assert checked_local_path("org/name") == "org/name"


def test_a_home_folder_is_expanded(tiny_model_dirs, tmp_path, monkeypatch):
    (tmp_path / "tiny").symlink_to(tiny_model_dirs["llama"], target_is_directory=True)
    monkeypatch.setenv("HOME", str(tmp_path))
    lm = SparksLM(pretrained="~/tiny", device="cpu")
    assert lm.pretrained == str(tmp_path / "tiny")


# ------------------------------------------------------------------------------- the device


@pytest.mark.integration  # simple_evaluate
def test_without_a_device_lm_eval_entry_points_choose_the_cpu(embedded_is_tiny, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    sparks = get_model("sparks")
    assert sparks.create_from_arg_string("").device == torch.device("cpu")
    # simple_evaluate(model="sparks") passes device=None, which lm-eval drops: HFLM's "cuda"
    lm = sparks.create_from_arg_string(
        "", {"batch_size": 1, "max_batch_size": None, "device": None}
    )
    assert lm.device == torch.device("cpu")


def test_the_default_device_is_cuda_when_available_and_an_explicit_one_wins(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert choose_device(None) == "cuda" and choose_device("") == "cuda"
    assert choose_device("cpu") == "cpu" and choose_device("cuda:1") == "cuda:1"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert choose_device(None) == "cpu" and choose_device("cpu") == "cpu"


def test_explicit_cuda_without_cuda_is_clear(tiny_model_dirs, monkeypatch, no_loading):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(SparksError, match="device=cuda, but torch finds no CUDA device"):
        SparksLM(pretrained=str(tiny_model_dirs["llama"]), device="cuda")


# ------------------------------------------------------------------ non-finite model output


class Overflow(HeadIntervention):
    """Multiply the heads' outputs by infinity: what a far too large factor does in float32."""

    def forward(self, base, source=None, subspaces=None):
        return base * float("inf")


class OverflowPlugin:
    @staticmethod
    @hookimpl
    def register_interventions(register):
        def overflow() -> Overflow:
            """Make the heads' outputs infinite."""
            return Overflow()

        register("overflow", overflow)


@pytest.mark.parametrize("do_sample", [False, True], ids=["greedy", "sampling"])
def test_overflowing_interventions_name_the_spec_and_the_fix(tiny_model_dirs, do_sample):
    with throwaway_plugin("overflow-plugin", OverflowPlugin()):
        lm = SparksLM(
            pretrained=str(tiny_model_dirs["llama"]), device="cpu", interventions="overflow:L0H1"
        )
        with pytest.raises(SparksError) as caught:
            lm.generate_until([request(do_sample=do_sample, temperature=1.0)], disable_tqdm=True)
    message = str(caught.value)
    assert "became inf or NaN during generation with the interventions 'overflow:L0H1'" in message
    assert "Use smaller factors" in message


def test_non_finite_sampling_without_interventions_names_the_dtype(tiny_model_dirs):
    lm = SparksLM(pretrained=str(tiny_model_dirs["llama"]), device="cpu")
    with torch.no_grad():
        lm.model.lm_head.weight.fill_(float("inf"))  # a model that overflows by itself
    with pytest.raises(
        SparksError, match="dtype float32, no interventions.*dtype=bfloat16"
    ) as caught:
        lm.generate_until([request(do_sample=True, temperature=1.0)], disable_tqdm=True)
    assert "probability tensor contains" in str(caught.value.__cause__)  # torch's, translated


def test_masked_tokens_are_not_taken_for_an_overflow(tiny_model_dirs):
    """top-k sets the other scores to -inf: finite rows, no error."""
    lm = SparksLM(
        pretrained=str(tiny_model_dirs["llama"]),
        device="cpu",
        interventions="scale:L0H1:1.3",
        intervention_mode="pyvene",
    )
    [output] = lm.generate_until(
        [request(do_sample=True, temperature=1.0, top_k=3)], disable_tqdm=True
    )
    assert isinstance(output, str)


# ------------------------------------------------------------------- chat template warning


def instruct_copy(tiny_model_dirs, tmp_path) -> str:
    folder = tmp_path / "Tiny-Instruct"
    folder.symlink_to(tiny_model_dirs["llama"], target_is_directory=True)
    return str(folder)


def test_raw_prompts_to_an_instruct_model_warn_once(tiny_model_dirs, tmp_path, caplog):
    lm = SparksLM(pretrained=instruct_copy(tiny_model_dirs, tmp_path), device="cpu")
    with caplog.at_level(logging.WARNING, logger="harness_ext.model"):
        lm.generate_until([request()], disable_tqdm=True)
        lm.generate_until([request()], disable_tqdm=True)
    warnings = [r.message for r in caplog.records if "--apply_chat_template" in r.message]
    assert len(warnings) == 1 and "Tiny-Instruct (an instruct model)" in warnings[0]


def test_the_embedded_model_warns_without_the_chat_template(embedded_is_tiny, caplog):
    lm = SparksLM(device="cpu")
    with caplog.at_level(logging.WARNING, logger="harness_ext.model"):
        lm.generate_until([request()], disable_tqdm=True)
    assert "the embedded instruct model has a chat template" in caplog.text


def test_no_warning_when_lm_eval_applies_the_template(tiny_model_dirs, tmp_path, caplog):
    lm = SparksLM(pretrained=instruct_copy(tiny_model_dirs, tmp_path), device="cpu")
    # what lm-eval's evaluate() does for --apply_chat_template, before any generation
    prompt = lm.apply_chat_template([{"role": "user", "content": PROMPT}])
    assert prompt.startswith("<|im_start|>user")
    with caplog.at_level(logging.WARNING, logger="harness_ext.model"):
        lm.generate_until([request()], disable_tqdm=True)
    assert "--apply_chat_template" not in caplog.text


def test_no_warning_for_a_model_not_named_instruct(tiny_model_dirs, caplog):
    lm = SparksLM(pretrained=str(tiny_model_dirs["llama"]), device="cpu")
    with caplog.at_level(logging.WARNING, logger="harness_ext.model"):
        lm.generate_until([request()], disable_tqdm=True)
    assert "--apply_chat_template" not in caplog.text


# -------------------------------------------------------------------- results folder names


def folder_for(model_source: str, model_args) -> tuple[str, str]:
    from lm_eval.loggers import EvaluationTracker

    tracker = EvaluationTracker().general_config_tracker
    tracker.log_experiment_args(
        model_source=model_source,
        model_args=model_args,
        system_instruction=None,
        chat_template=None,
        fewshot_as_multiturn=False,
    )
    return tracker.model_name, tracker.model_name_sanitized


def test_folder_names_say_the_model_and_the_interventions():
    assert folder_for("sparks", "") == (MODEL_NAME, MODEL_NAME)
    assert folder_for("sparks", {"dtype": "float32"}) == (MODEL_NAME, MODEL_NAME)
    name, folder = folder_for("sparks", "interventions=zero:L1H3+L0H1")
    same = folder_for("sparks", {"interventions": "zero:L0H1+L1H3", "dtype": "float32"})
    assert (name, folder) == same and folder.startswith(f"{MODEL_NAME}__sparks-")
    assert folder_for("sparks", "pretrained=org/model,interventions=zero:L0H1+L1H3") == (
        "org/model",
        f"org__model__sparks-{folder.rsplit('-', 1)[1]}",
    )
    assert folder_for("hf", "pretrained=org/model") == ("org/model", "org__model")


def test_the_digest_is_the_models_cache_tag(tiny_model_dirs):
    lm = SparksLM(
        pretrained=str(tiny_model_dirs["llama"]),
        device="cpu",
        interventions="zero:L1H1;scale:L0H2:1.5",
    )
    _, folder = folder_for(
        "sparks", {"pretrained": "x", "interventions": "scale:L0H2:1.5;zero:L1H1"}
    )
    assert folder == f"x__sparks-{lm.cache_tag}"


@pytest.mark.integration  # simple_evaluate
def test_a_baseline_and_an_ablated_run_get_their_own_folders(
    embedded_is_tiny, local_data, tmp_path, caplog
):
    """simple_evaluate in-process, on the CPU without device=, both runs to one output path;
    the chat-template warning follows lm-eval's own apply_chat_template signal."""
    import lm_eval
    from lm_eval.loggers import EvaluationTracker
    from lm_eval.tasks import TaskManager

    from harness_ext.lm_eval_bridge import tasks_dir

    manager = TaskManager(include_path=str(tasks_dir()), include_defaults=False)
    folders, warned = [], []
    # the tiny tokenizer spells an AIME problem in ~530 tokens: beyond its 512, harmless here
    for model_args, chat in (
        ("max_length=2048", False),
        ("max_length=2048,interventions=zero:L0H1", True),
    ):
        tracker = EvaluationTracker(output_path=str(tmp_path))
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="harness_ext.model"):
            results = lm_eval.simple_evaluate(
                model="sparks",
                model_args=model_args,
                tasks=["aime24_sparks_greedy"],
                limit=1,
                gen_kwargs="max_gen_toks=4",
                task_manager=manager,
                evaluation_tracker=tracker,
                apply_chat_template=chat,
            )
        warned.append("--apply_chat_template" in caplog.text)
        tracker.save_results_aggregated(results=results, samples=None)
        folders.append(tracker.general_config_tracker.model_name_sanitized)
    assert folders[0] == MODEL_NAME and folders[1].startswith(f"{MODEL_NAME}__sparks-")
    written = sorted(path.parent.name for path in tmp_path.rglob("results_*.json"))
    assert written == sorted(folders)
    assert warned == [True, False]


def test_an_empty_interventions_value_is_refused_not_run_as_the_baseline() -> None:
    from harness_ext.interventions.spec import SpecError
    from harness_ext.model import SparksLM

    with pytest.raises(SpecError, match="the spec is empty; omit interventions="):
        SparksLM.create_from_arg_string("interventions=,dtype=float32")


@pytest.mark.integration  # a fresh interpreter
def test_ctrl_c_under_lm_eval_is_one_line() -> None:
    """lm_eval lets KeyboardInterrupt escape; once sparks is loaded, it prints one line."""
    import subprocess
    import sys

    code = (
        "from harness_ext.errors import install_excepthook\n"
        "install_excepthook()\n"
        "raise KeyboardInterrupt\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stderr.strip() == "sparks: interrupted" and done.returncode != 0
