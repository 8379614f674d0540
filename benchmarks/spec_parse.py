"""Time to parse and resolve intervention specs of 1k, 4k and 16k heads, and the growth ratio.

The model is a config only (128 layers x 128 heads, no weights). Each spec names its heads one
by one (``L0H0+L0H1+...``) in two items, so the duplicate and overlap checks see every head. A
linear parser grows about 4x for 4x the heads; a quadratic one about 16x.

    python benchmarks/spec_parse.py
    python benchmarks/spec_parse.py --rounds 9 --sizes 1000 4000 16000 64000
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

N_LAYERS = N_HEADS = 128


def config() -> Any:
    """A Llama config with 128 x 128 = 16,384 heads (nothing is allocated)."""
    from transformers import LlamaConfig

    return LlamaConfig(
        vocab_size=32,
        hidden_size=N_HEADS * 8,
        intermediate_size=32,
        num_hidden_layers=N_LAYERS,
        num_attention_heads=N_HEADS,
        num_key_value_heads=N_HEADS,
        head_dim=8,
    )


def spec_text(n_heads: int) -> str:
    """``n_heads`` distinct heads spread over every layer, split over a zero and a scale item."""
    total = N_LAYERS * N_HEADS
    if n_heads > total:
        raise SystemExit(f"at most {total} heads fit in the {N_LAYERS} x {N_HEADS} model")
    step = total / n_heads
    heads = [int(i * step) for i in range(n_heads)]
    refs = [f"L{h // N_HEADS}H{h % N_HEADS}" for h in heads]
    half = len(refs) // 2
    return f"zero:{'+'.join(refs[:half])};scale:{'+'.join(refs[half:])}:1.3"


def time_once(text: str, model_config: Any) -> float:
    from harness_ext.interventions import resolve
    from harness_ext.interventions.spec import parse_spec

    start = time.perf_counter()
    resolve(parse_spec(text), model_config)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 4000, 16000])
    parser.add_argument("--rounds", type=int, default=5, help="timings per size (median shown)")
    args = parser.parse_args()
    model_config = config()
    time_once(spec_text(10), model_config)  # imports and plugin loading, outside the timings
    texts = {n: spec_text(n) for n in args.sizes}
    timings: dict[int, list[float]] = {n: [] for n in args.sizes}
    for _ in range(args.rounds):  # sizes interleaved, so that load on the machine hits all alike
        for n, text in texts.items():
            timings[n].append(time_once(text, model_config))
    previous = None
    print(f"{'heads':>8} {'parse+resolve':>14} {'growth':>8}")
    for n in args.sizes:
        median = statistics.median(timings[n])
        growth = (
            "" if previous is None else f"{median / previous[1]:.1f}x for {n / previous[0]:.0f}x"
        )
        print(f"{n:>8} {median * 1000:>11.1f} ms {growth:>8}")
        previous = (n, median)


if __name__ == "__main__":
    main()
