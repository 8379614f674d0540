"""Run by tests/models/test_vllm.py with .venv-vllm's python: a hook added after vLLM compiled.

Starts a baseline ``sparks-vllm`` (compiled), generates, then installs a plan in the worker
the way a naive extension would (after the compile warm-up) and generates again: the tokens do
not change (the compiled graph ignores the hook) and sparks' applied-step check raises. Prints
one line, ``sparks-late-hook: {"tokens_unchanged": bool, "error": str}``.
"""

from __future__ import annotations

import json
import os

MARK = "sparks-late-hook: "  # vLLM logs to stdout too: the result line carries this mark


def install_late(worker, path: str, digest: str) -> None:
    from harness_ext.vllm_worker import install_plan

    worker._sparks_layers = install_plan(worker.model_runner.get_model(), path, digest)
    worker.sparks_reset_steps()


def main() -> None:
    # the test sends a function to the worker (collective_rpc), which vLLM pickles only when told
    os.environ["VLLM_ALLOW_INSECURE_SERIALIZATION"] = "1"
    from transformers import AutoConfig
    from vllm import SamplingParams

    from harness_ext.embedded import cache_dir, embedded_model_path
    from harness_ext.errors import SparksError
    from harness_ext.interventions.plan import build_plan, save_plan
    from harness_ext.vllm_model import SparksVLLM

    lm = SparksVLLM(dtype="float32", max_model_len=1024)
    prompt = [lm.tok_encode("Question: what is 12 times 7? Answer:")]
    params = SamplingParams(max_tokens=16, temperature=0)
    before = lm._model_generate(prompt, generate=True, sampling_params=[params])
    plan = build_plan("zero:L0+L1+L2+L3", AutoConfig.from_pretrained(embedded_model_path()))
    path = save_plan(plan, cache_dir() / "vllm-plans")
    lm.model.collective_rpc(install_late, args=(str(path), plan.digest()))
    lm._plan = plan
    error = ""
    try:
        after = lm._model_generate(prompt, generate=True, sampling_params=[params])
    except SparksError as raised:
        error = str(raised)
        lm._plan = None
        lm._counting = False
        after = lm._model_generate(prompt, generate=True, sampling_params=[params])
    unchanged = list(before[0].outputs[0].token_ids) == list(after[0].outputs[0].token_ids)
    print(MARK + json.dumps({"tokens_unchanged": unchanged, "error": error}), flush=True)


if __name__ == "__main__":
    main()
