"""Greedy generation speed with head interventions, as ratios to no intervention.

Variants, interleaved round by round in one process: no intervention, 10 heads zeroed through
the pyvene hooks, and the same 10 heads folded into the weights. Each timing includes entering
and leaving the prepared ``apply_interventions`` context (the sparks model does that around
every call).

    python benchmarks/interventions.py                 # the embedded SmolLM2-135M-Instruct
    python benchmarks/interventions.py --model PATH    # any local Hugging Face folder
    python benchmarks/interventions.py --random        # random weights, SmolLM2-135M's shape
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time
from typing import Any, Callable, Iterator

DEFAULT_SPEC = "zero:L2H1+L5H4+L8H2+L10H7+L12H0+L15H3+L18H5+L21H8+L24H6+L27H2"
PROMPT = (
    "Solve step by step and put the final answer in \\boxed{}: how many positive divisors "
    "does 2024 have?"
)


def load(args: argparse.Namespace) -> tuple[Any, Any]:
    """The model and tokenizer to time (random weights come without a tokenizer: random prompt ids)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig

    path = args.model
    if path is None and not args.random:
        try:
            from harness_ext.embedded import embedded_model_path
        except ImportError:
            args.random = True  # no embedded model in this checkout: time the same shape
        else:
            path = str(embedded_model_path())
    if args.random:
        config = LlamaConfig(
            vocab_size=49152,
            hidden_size=576,
            intermediate_size=1536,
            num_hidden_layers=30,
            num_attention_heads=9,
            num_key_value_heads=3,
            head_dim=64,
            tie_word_embeddings=True,
            max_position_embeddings=8192,
        )
        torch.manual_seed(0)
        return AutoModelForCausalLM.from_config(config, dtype=torch.float32).eval(), None
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval()
    return model, AutoTokenizer.from_pretrained(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--model", help="local Hugging Face model folder (default: the embedded model)"
    )
    source.add_argument(
        "--random", action="store_true", help="random weights in SmolLM2-135M's shape"
    )
    parser.add_argument(
        "--spec", default=DEFAULT_SPEC, help="zero-type spec to time (default: 10 heads)"
    )
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--device", default=None, help="default: cuda when available, else cpu")
    parser.add_argument(
        "--threads", type=int, default=None, help="torch CPU threads (default: torch's)"
    )
    args = parser.parse_args()

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)

    from harness_ext.interventions.resolver import resolve
    from harness_ext.interventions.runtime import apply_interventions

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    model, tokenizer = load(args)
    model.to(device)
    if tokenizer is not None:
        tokenizer.padding_side = "left"
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        inputs = tokenizer([PROMPT] * args.batch, return_tensors="pt", padding=True).to(device)
    else:
        ids = torch.randint(
            3, model.config.vocab_size, (args.batch, 40), generator=torch.Generator().manual_seed(0)
        )
        inputs = {"input_ids": ids.to(device), "attention_mask": torch.ones_like(ids).to(device)}
    resolved = resolve(args.spec, model.config)
    generate_args = dict(
        max_new_tokens=args.new_tokens,
        min_new_tokens=args.new_tokens,
        do_sample=False,
        pad_token_id=model.config.eos_token_id or 0,
    )

    def run(mode: str | None) -> Callable[[], Any]:
        context = (
            contextlib.nullcontext()
            if mode is None
            else apply_interventions(model, resolved, mode=mode)
        )

        def generate() -> Any:
            with context, torch.no_grad():
                return model.generate(**inputs, **generate_args)

        return generate

    variants = {"none": run(None), "pyvene": run("pyvene"), "folded": run("fold")}
    outputs = {name: fn() for name, fn in variants.items()}  # warm-up, and the tokens to compare
    same = torch.equal(outputs["pyvene"], outputs["folded"])
    changed = not torch.equal(outputs["none"], outputs["pyvene"])
    wall: dict[str, list[float]] = {name: [] for name in variants}
    cpu: dict[str, list[float]] = {name: [] for name in variants}
    for round_number in range(args.rounds):
        order = list(variants)[round_number % 3 :] + list(variants)[: round_number % 3]
        for name in order:
            with timed(wall[name], cpu[name]):
                variants[name]()
    tokens = args.batch * args.new_tokens
    print(
        f"model: {args.model or ('random SmolLM2-135M shape' if args.random else 'embedded SmolLM2-135M-Instruct')}"
        f" on {device}, {torch.get_num_threads()} threads; batch {args.batch} x {args.new_tokens} new tokens,"
        f" {args.rounds} interleaved rounds; spec {args.spec}"
    )
    print(f"pyvene and folded tokens identical: {same}; intervention changed the tokens: {changed}")
    print("ratios are medians of per-round ratios to 'none' (wall clock; process CPU time)")
    for name in variants:
        wall_ratio = statistics.median(b / t for b, t in zip(wall["none"], wall[name]))
        cpu_ratio = statistics.median(b / t for b, t in zip(cpu["none"], cpu[name]))
        print(
            f"{name:>7}: {tokens / statistics.median(wall[name]):8.1f} tokens/s  "
            f"ratio {wall_ratio:.3f} wall, {cpu_ratio:.3f} cpu"
        )


@contextlib.contextmanager
def timed(wall: list[float], cpu: list[float]) -> Iterator[None]:
    start, start_cpu = time.perf_counter(), time.process_time()
    yield
    wall.append(time.perf_counter() - start)
    cpu.append(time.process_time() - start_cpu)


if __name__ == "__main__":
    main()
