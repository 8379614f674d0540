"""sparks-vllm against sparks on the embedded model in float32: the same greedy tokens.

vLLM lives in its own environment (.venv-vllm, made by ``bash scripts/setup-vllm.sh``): these
tests run ``lm_eval`` and ``python`` from it in subprocesses, and compare with ``lm_eval --model
sparks`` from this environment at batch size 1. Engine starts take minutes, so the runs are
shared: four engine starts in all (compiled: baseline, every kind at once, the late-hook check;
eager: every kind at once). Without .venv-vllm the tests skip, except under CI=true, where
they fail.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.vllm, pytest.mark.integration]

ROOT = Path(__file__).resolve().parents[2]
# every kind at once: zero + scale, mean (calibrated), a plugin kind and a random control
EVERY_KIND = "zero:L3H1+L4H0;scale:L5H2:1.5;mean:L7H3;negate:L9H4;random:2:7"
TASK = ["--tasks", "aime24_sparks_greedy", "--limit", "3", "--gen_kwargs", "max_gen_toks=32"]
VLLM_ARGS = "dtype=float32,max_model_len=2048"


def environment(data: Path, site: Path) -> dict[str, str]:
    return {
        **os.environ,
        "SPARKS_DATA_DIR": str(data),
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "VLLM_CPU_KVCACHE_SPACE": os.environ.get("VLLM_CPU_KVCACHE_SPACE", "1"),
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(site)]),
    }


def lm_eval(bin_dir: Path, model: str, model_args: str, env: dict, out: Path) -> dict:
    """One lm_eval run; its results file and samples, read back."""
    extra = ["--batch_size", "1"] if model == "sparks" else []
    command = [str(bin_dir / "lm_eval"), "--model", model, "--model_args", model_args]
    command += [*TASK, "--apply_chat_template", *extra, "--log_samples"]
    done = subprocess.run(
        [*command, "--output_path", str(out)], capture_output=True, text=True, env=env, timeout=1500
    )
    assert done.returncode == 0, done.stderr[-4000:]
    [results] = out.rglob("results_*.json")
    [samples] = out.rglob("samples_*.jsonl")
    return {
        "folder": results.parent,
        "config": json.loads(results.read_text())["config"],
        "samples": [json.loads(line) for line in samples.read_text().splitlines()],
    }


@pytest.fixture(scope="session")
def runs(vllm_bin, plugin_site, shared_data, embedded_model, tmp_path_factory) -> dict:
    """Every run, made once: {(backend, name): run}."""
    out = tmp_path_factory.mktemp("runs")
    env = environment(shared_data, plugin_site)
    hf_bin = Path(sys.executable).parent
    made = {}
    for name, spec in (("baseline", None), ("every_kind", EVERY_KIND)):
        spec_arg = f",interventions={spec}" if spec else ""
        made["hf", name] = lm_eval(
            hf_bin, "sparks", f"dtype=float32{spec_arg}", env, out / f"hf_{name}"
        )
        made["vllm", name] = lm_eval(
            vllm_bin, "sparks-vllm", VLLM_ARGS + spec_arg, env, out / f"vllm_{name}"
        )
    made["eager", "every_kind"] = lm_eval(
        vllm_bin,
        "sparks-vllm",
        f"{VLLM_ARGS},enforce_eager=True,interventions={EVERY_KIND}",
        env,
        out / "eager_every_kind",
    )
    return made


def responses(run: dict) -> list[str]:
    return [sample["resps"][0][0] for sample in run["samples"]]


def facts(run: dict) -> list:
    return [
        sample["arguments"]["gen_args_0"]["arg_1"]["sparks_generation"] for sample in run["samples"]
    ]


@pytest.mark.parametrize(
    "backend, name",
    [("vllm", "baseline"), ("vllm", "every_kind"), ("eager", "every_kind")],
)
def test_same_greedy_tokens_as_transformers(runs, backend, name):
    vllm, hf = runs[backend, name], runs["hf", name]
    assert responses(vllm) == responses(hf)
    assert facts(vllm) == facts(hf)
    assert vllm["config"]["sparks_interventions"] == hf["config"]["sparks_interventions"]
    assert vllm["config"]["sparks_random_control"] == hf["config"]["sparks_random_control"]


def test_the_interventions_change_the_output(runs):
    assert responses(runs["vllm", "every_kind"]) != responses(runs["vllm", "baseline"])


@pytest.mark.parametrize("backend", ["vllm", "eager"])
def test_every_layer_applied_in_every_engine_step(runs, backend):
    config = runs[backend, "every_kind"]["config"]
    applied = config["sparks_applied_steps"]
    assert config["sparks_backend"] == "vllm" and config["sparks_intervention_mode"] == "in-graph"
    assert applied["engine_steps"] > 0
    drawn = [int(head[1:].split("H")[0]) for head in config["sparks_random_control"]["heads"]]
    assert set(map(int, applied["layers"])) == {3, 4, 5, 7, 9, *drawn}
    assert set(applied["layers"].values()) == {applied["engine_steps"]}


def test_results_folders_name_the_backend(runs):
    assert runs["vllm", "every_kind"]["folder"].name.endswith(
        "__vllm__" + runs["hf", "every_kind"]["folder"].name.split("__", 1)[1]
    )
    assert runs["vllm", "baseline"]["folder"].name.endswith("__vllm")


def test_a_hook_added_after_compilation_fails_the_run(vllm_bin, plugin_site, shared_data):
    """The silent failure this backend exists to prevent: a late hook changes nothing, and the
    applied-step check turns that into an error."""
    done = subprocess.run(
        [str(vllm_bin / "python"), str(ROOT / "tests" / "vllm_late_hook.py")],
        capture_output=True,
        text=True,
        env=environment(shared_data, plugin_site),
        timeout=1500,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    mark = "sparks-late-hook: "
    lines = [line for line in done.stdout.splitlines() if line.startswith(mark)]
    assert lines, done.stdout[-3000:]
    result = json.loads(lines[-1][len(mark) :])
    assert result["tokens_unchanged"] is True  # the late hook was silently ignored by the graph
    assert "interventions were skipped" in result["error"]


def test_report_compares_a_vllm_run_with_a_transformers_run(runs, tmp_path):
    from harness_ext.cli import main

    base, candidate = runs["hf", "every_kind"]["folder"], runs["vllm", "every_kind"]["folder"]
    assert main(["report", str(base), str(candidate), "-o", str(tmp_path / "report")]) == 0
    written = (tmp_path / "report" / "report.json").read_text()
    assert "backend differs" in written


@pytest.mark.parametrize(
    "model_args, problem",
    [
        ("intervention_mode=fold,interventions=zero:L3H1", "not available on vLLM"),
        ("tensor_parallel_size=2", "does not divide the model's 9 attention heads"),
        ("interventions=zero:L3H1,pipeline_parallel_size=2", "pipeline_parallel_size=2"),
        ("interventions=zero:L99H1", "layer 99 out of range"),
    ],
)
def test_bad_input_is_refused_before_the_engine_starts(
    vllm_bin, shared_data, plugin_site, model_args, problem
):
    command = [str(vllm_bin / "lm_eval"), "--model", "sparks-vllm", "--model_args", model_args]
    done = subprocess.run(
        [*command, *TASK],
        capture_output=True,
        text=True,
        env=environment(shared_data, plugin_site),
        timeout=600,
    )
    assert done.returncode != 0
    assert problem in done.stderr
    assert "Initializing a V1 LLM engine" not in done.stderr
