"""Throughput of `sparks-vllm` against `sparks`, and the cost of interventions on vLLM.

Run with .venv-vllm's Python (it has both backends; not in CI):

    .venv-vllm/bin/python benchmarks/vllm.py [--prompts 16] [--tokens 128] [--rounds 7]

1. **Task throughput**, useful tokens/s: the tokens each response really generated (up to its end
   token, from the ``sparks_generation`` facts both backends record), summed, over wall time of
   ``generate_until`` on the same AMC prompts in the chat template, the same budget and the same
   generation arguments, for greedy decoding and for sampling with n = 4 (temperature 0.6, each
   problem's request repeated 4 times, as lm-eval's ``repeats`` does). ``sparks`` runs at each
   ``--hf-batch`` size and its fastest is reported. Rounds alternate the backends.
2. **Intervention overhead on vLLM**: engines without interventions, with zero+scale, with mean
   and with a plugin kind (``negate``, from examples/sparks-negate, when installed), each
   generating the same greedy batch; the median over ``--rounds`` interleaved rounds of each
   engine's time, as a ratio to the engine without interventions.

Engines start once (minutes each on CPU) and are timed only while generating. Goals on a CPU
machine: >= 3x greedy, >= 2x sampled, overhead <= 3%.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
# this file is named vllm.py: keep its folder off the path, or `import vllm` imports it
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != HERE]

KINDS = {
    "zero+scale": "zero:L3H1+L4H0+L10H2;scale:L5H2+L12H6:1.5",
    "mean": "mean:L7H3+L15H1+L20H4",
    "plugin (negate)": "negate:L9H4+L18H0+L25H7",
}


def prompts(count: int) -> list[str]:
    """The first AMC problems in the embedded model's chat template: benchmarks/generate.py's
    prompts (loaded by path: this folder is off sys.path, see above)."""
    import importlib.util

    from transformers import AutoTokenizer

    from harness_ext.embedded import embedded_model_path

    spec = importlib.util.spec_from_file_location("generate_benchmark", HERE / "generate.py")
    assert spec is not None and spec.loader is not None
    generate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generate)
    return generate.prompts(AutoTokenizer.from_pretrained(embedded_model_path()), count)


def requests(texts: list[str], tokens: int, sampled: bool) -> list:
    """lm-eval requests; sampled: each problem 4 times, sharing its arguments (as repeats do)."""
    from lm_eval.api.instance import Instance

    made = []
    for number, text in enumerate(texts):
        settings = {"until": [], "max_gen_toks": tokens, "do_sample": sampled}
        if sampled:
            settings["temperature"] = 0.6
        for _ in range(4 if sampled else 1):
            made.append(
                Instance(
                    request_type="generate_until",
                    doc={},
                    idx=number,
                    arguments=(text, settings),
                )
            )
    return made


def timed(lm, batch: list) -> tuple[float, int]:
    """Seconds for ``generate_until`` and the useful tokens it generated."""
    start = time.perf_counter()
    lm.generate_until(batch, disable_tqdm=True)
    seconds = time.perf_counter() - start
    settings = {id(request.args[1]): request.args[1] for request in batch}
    useful = sum(
        fact["generated_tokens"]
        for gen_kwargs in settings.values()
        for fact in gen_kwargs.get("sparks_generation", [])
    )
    for gen_kwargs in settings.values():
        gen_kwargs.pop("sparks_generation", None)
    return seconds, useful


def throughput(args: argparse.Namespace, texts: list[str], engine) -> None:
    from harness_ext.model import SparksLM

    print(f"\n1. task throughput: {len(texts)} AMC prompts, budget {args.tokens} tokens")
    hf = {size: SparksLM(dtype="float32", batch_size=size, device="cpu") for size in args.hf_batch}
    for sampled in (False, True):
        label = "sampled, n = 4" if sampled else "greedy"
        rates: dict[str, list[float]] = {"sparks-vllm": []}
        rates.update({f"sparks, batch {size}": [] for size in hf})
        for _ in range(args.throughput_rounds):
            seconds, useful = timed(engine, requests(texts, args.tokens, sampled))
            rates["sparks-vllm"].append(useful / seconds)
            for size, lm in hf.items():
                seconds, useful = timed(lm, requests(texts, args.tokens, sampled))
                rates[f"sparks, batch {size}"].append(useful / seconds)
        medians = {name: statistics.median(values) for name, values in rates.items()}
        fastest = max((name for name in medians if name != "sparks-vllm"), key=medians.get)
        for name, value in medians.items():
            print(f"   {label:15s} {name:18s} {value:8.1f} useful tokens/s")
        ratio = medians["sparks-vllm"] / medians[fastest]
        goal = 2.0 if sampled else 3.0
        print(f"   {label}: sparks-vllm / {fastest} = {ratio:.2f}x (goal >= {goal:.0f}x)")


def overhead(args: argparse.Namespace, texts: list[str], engines: dict) -> None:
    print(f"\n2. intervention overhead on vLLM: {len(texts)} prompts x {args.tokens} tokens,")
    print(f"   greedy, median of {args.rounds} interleaved rounds")
    times: dict[str, list[float]] = {name: [] for name in engines}
    for _ in range(args.rounds):
        for name, engine in engines.items():
            times[name].append(timed(engine, requests(texts, args.tokens, False))[0])
    base = statistics.median(times["none"])
    for name, values in times.items():
        ratio = statistics.median(values) / base
        print(f"   {name:16s} median {statistics.median(values):7.2f} s  {ratio:.3f}x")
    worst = max(statistics.median(v) / base for n, v in times.items() if n != "none")
    print(f"   largest overhead: {100 * (worst - 1):+.1f}% (goal <= 3%)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=16)
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=7, help="overhead rounds (>= 7)")
    parser.add_argument("--throughput-rounds", type=int, default=3)
    parser.add_argument("--hf-batch", type=int, nargs="+", default=[8, 16])
    parser.add_argument("--threads", type=int, default=None, help="torch threads for sparks")
    parser.add_argument("--skip", choices=["throughput", "overhead"], default=None)
    args = parser.parse_args()
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "2")
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    from harness_ext.plugins import get_interventions
    from harness_ext.vllm_model import VLLM_VERSION, SparksVLLM

    texts = prompts(args.prompts)
    vllm_args = dict(dtype="float32", max_model_len=2048, seed=1234)
    print(f"vLLM {VLLM_VERSION}, torch {torch.__version__}, {torch.get_num_threads()} threads")
    engines = {"none": SparksVLLM(**vllm_args)}
    if args.skip != "throughput":
        throughput(args, texts, engines["none"])
    if args.skip != "overhead":
        have_negate = "negate" in get_interventions()
        for name, spec in KINDS.items():
            if name.startswith("plugin") and not have_negate:
                print(f"   ({name}: pip install examples/sparks-negate to include it)")
                continue
            engines[name] = SparksVLLM(interventions=spec, **vllm_args)
        overhead(args, texts, engines)


if __name__ == "__main__":  # vLLM spawns processes: the guard is required
    main()
