"""The real `lm_eval` command line on the embedded model, offline, reading our result files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

LM_EVAL = str(Path(sys.executable).with_name("lm_eval"))


def lm_eval(args: list[str], data: Path, out: Path) -> tuple[dict, dict[str, list[dict]]]:
    """Run lm_eval, return its results file and its per-task sample logs."""
    env = {
        **os.environ,
        "SPARKS_DATA_DIR": str(data),
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
    }
    done = subprocess.run(
        [LM_EVAL, "--model", "sparks", *args, "--log_samples", "--output_path", str(out)],
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    [results_file] = out.rglob("results_*.json")
    samples = {}
    for path in out.rglob("samples_*.jsonl"):
        task = path.name[len("samples_") :].rsplit("_", 1)[0]
        samples[task] = [json.loads(line) for line in path.read_text().splitlines()]
    return json.loads(results_file.read_text()), samples


def test_aime24_offline_with_tiers_and_extracted_answers(shared_data, embedded_model, tmp_path):
    results, samples = lm_eval(
        [
            "--tasks",
            "aime24_sparks",
            "--limit",
            "2",
            "--gen_kwargs",
            "max_gen_toks=48",
            "--metadata",
            '{"repeats": 2}',
        ],
        shared_data,
        tmp_path,
    )
    assert 0.0 <= results["results"]["aime24_sparks"]["pass@1,extracted"] <= 1.0
    assert results["config"]["sparks_interventions"] is None
    logged = samples["aime24_sparks"]
    assert [s["doc"]["problem_id"] for s in logged] == ["2024-I-1", "2024-I-2"]
    for sample in logged:
        assert sample["doc"]["tier"] == "easy"
        assert len(sample["resps"][0]) == 2  # n = 2 sampled responses, all kept
        [extracted] = sample["filtered_resps"]  # ... and each one's extracted answer
        assert len(extracted) == 2 and all(isinstance(answer, str) for answer in extracted)


def test_batch_size_4_gives_the_same_greedy_outputs_as_1(shared_data, embedded_model, tmp_path):
    args = ["--tasks", "amc_sparks_greedy", "--limit", "4", "--gen_kwargs", "max_gen_toks=32"]
    _, one = lm_eval([*args, "--batch_size", "1"], shared_data, tmp_path / "b1")
    _, four = lm_eval([*args, "--batch_size", "4"], shared_data, tmp_path / "b4")

    def responses(logged):
        return [s["resps"] for s in sorted(logged, key=lambda s: s["doc_id"])]

    assert responses(one["amc_sparks_greedy"]) == responses(four["amc_sparks_greedy"])


def test_interventions_from_the_command_line_match_the_reference_hook(
    shared_data, embedded_model, tmp_path
):
    """Zeroing L3H1 and L5H2 through lm_eval gives exactly the reference hook's tokens."""
    import torch

    from harness_ext.model import SparksLM
    from harness_ext.testing import reference_hook

    args = ["--tasks", "aime24_sparks_greedy", "--limit", "2", "--gen_kwargs", "max_gen_toks=32"]
    spec = "zero:L3H1+L5H2"
    results, samples = lm_eval(
        [*args, "--model_args", f"interventions={spec}"], shared_data, tmp_path / "ablated"
    )
    assert results["config"]["sparks_interventions"] == spec
    logged = sorted(samples["aime24_sparks_greedy"], key=lambda s: s["doc_id"])
    assert all(
        s["arguments"]["gen_args_0"]["arg_1"]["sparks_interventions"] == spec for s in logged
    )

    lm = SparksLM(pretrained=str(embedded_model), device="cpu")

    def zero(x):
        return torch.zeros_like(x)

    from lm_eval.api.instance import Instance

    requests = [
        Instance(
            request_type="generate_until",
            doc={},
            idx=0,
            arguments=(
                s["arguments"]["gen_args_0"]["arg_0"],
                {
                    k: v
                    for k, v in s["arguments"]["gen_args_0"]["arg_1"].items()
                    if k != "sparks_interventions"
                },
            ),
        )
        for s in logged
    ]
    with reference_hook(lm.model, {(3, 1): zero, (5, 2): zero}):
        reference = lm.generate_until(requests, disable_tqdm=True)
    assert [s["resps"][0][0] for s in logged] == reference


@pytest.mark.slow
def test_a_missing_pretrained_folder_is_one_line(tmp_path):
    """lm_eval's own command line: the bad input reads as one line, no traceback."""
    missing = tmp_path / "no-such-model"
    done = subprocess.run(
        [
            LM_EVAL,
            "--model",
            "sparks",
            "--model_args",
            f"pretrained={missing}",
            "--tasks",
            "amc_sparks_greedy",
            "--limit",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"},
    )
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert done.stderr.splitlines()[-1] == (
        f"sparks: error: pretrained={missing}: the folder {missing} does not exist. Pass a local "
        f"model folder (with config.json) or a Hub id such as HuggingFaceTB/SmolLM2-135M-Instruct, "
        f"or leave pretrained out for the embedded model."
    )


@pytest.mark.slow
def test_lm_eval_records_each_tasks_grading_rules(shared_data, embedded_model, tmp_path):
    """A real --predict_only run: lm-eval writes each task's grading rules (its metadata) into
    the results file's configs, and the report grades each task by them (about 100 s)."""
    from harness_ext.answers.graders import GradingRules
    from harness_ext.reports.runs import load_run

    data = tmp_path / "data"
    data.mkdir()
    control = Path(__file__).resolve().parents[1] / "data" / "control"
    for name in ("gpqa_diamond.jsonl", "triviaqa.jsonl"):
        (data / name).write_bytes((control / name).read_bytes())
    (data / "aime.jsonl").symlink_to(shared_data / "aime.jsonl")
    tasks = "gpqa_diamond_sparks,triviaqa_sparks,aime24_sparks_greedy"
    results, _ = lm_eval(
        ["--tasks", tasks, "--limit", "1", "--predict_only", "--gen_kwargs", "max_gen_toks=8"],
        data,
        tmp_path / "out",
    )
    grading = {task: config["metadata"]["grading"] for task, config in results["configs"].items()}
    assert grading == {
        "gpqa_diamond_sparks": {"grader": "letter", "integer_range": None, "publish_text": False},
        "triviaqa_sparks": {"grader": "alias", "integer_range": None, "publish_text": True},
        "aime24_sparks_greedy": {"grader": "math", "integer_range": [0, 999], "publish_text": True},
    }
    run = load_run(tmp_path / "out", truncation="estimate", warn=pytest.fail)
    assert {task: run.tasks[task].grading for task in run.tasks} == {
        task: GradingRules.model_validate(rules) for task, rules in grading.items()
    }
