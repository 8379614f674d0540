"""Greedy generation speed: the `sparks` lm-eval model versus plain transformers `generate`.

Both run the embedded model on the same AMC prompts with the same settings (greedy, batch 1,
the same token budget), interleaved round by round in one process; the ratio of tokens/s
(sparks / transformers) is printed. Goal: >= 0.98 (lm-eval's own `hf` model measured 0.99).
Also prints how long a later load of the converted embedded model takes (goal: under 3 s).

    python benchmarks/generate.py [--prompts 6] [--tokens 64] [--rounds 3] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def prompts(tokenizer, count: int) -> list[str]:
    """The first AMC problems as our tasks prompt them, in the model's chat template."""
    from harness_ext.tasks.scoring import doc_to_text

    folder = Path(os.environ.get("SPARKS_DATA_DIR") or DEFAULT_DATA)
    lines = (folder / "amc.jsonl").read_text().splitlines()[:count]
    return [
        tokenizer.apply_chat_template(
            [{"role": "user", "content": doc_to_text(json.loads(line))}],
            tokenize=False,
            add_generation_prompt=True,
        )
        for line in lines
    ]


def run_sparks(lm, texts: list[str], tokens: int) -> tuple[float, int]:
    from lm_eval.api.instance import Instance

    requests = [
        Instance(
            request_type="generate_until",
            doc={},
            idx=i,
            arguments=(
                text,
                {"until": [], "do_sample": False, "max_gen_toks": tokens, "min_new_tokens": tokens},
            ),
        )
        for i, text in enumerate(texts)
    ]
    start = time.perf_counter()
    lm.generate_until(requests, disable_tqdm=True)
    return time.perf_counter() - start, tokens * len(texts)  # min_new_tokens: exactly `tokens`


def run_plain(model, tokenizer, texts: list[str], tokens: int) -> tuple[float, int]:
    import torch

    generated = 0
    start = time.perf_counter()
    for text in texts:
        ids = tokenizer(text, return_tensors="pt", add_special_tokens=False).input_ids
        with torch.no_grad():
            out = model.generate(
                ids,
                max_new_tokens=tokens,
                min_new_tokens=tokens,
                do_sample=False,
                pad_token_id=tokenizer.pad_token_id,
            )
        generated += out.shape[1] - ids.shape[1]
    return time.perf_counter() - start, generated


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=6)
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads (default 1: stable timings on a shared machine)",
    )
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from harness_ext.embedded import embedded_model_path
    from harness_ext.model import SparksLM

    path = embedded_model_path()
    start = time.perf_counter()
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval()
    load_seconds = time.perf_counter() - start
    lm = SparksLM(pretrained=str(path), device="cpu", batch_size=1, dtype="float32")
    texts = prompts(tokenizer, args.prompts)

    sparks_rates, plain_rates = [], []
    for _ in range(args.rounds):
        seconds, count = run_sparks(lm, texts, args.tokens)
        sparks_rates.append(count / seconds)
        seconds, count = run_plain(model, tokenizer, texts, args.tokens)
        plain_rates.append(count / seconds)
    sparks_rate, plain_rate = statistics.median(sparks_rates), statistics.median(plain_rates)
    print(f"embedded model load (converted folder): {load_seconds:.2f} s")
    print(f"transformers generate: {plain_rate:.1f} tokens/s (median of {args.rounds})")
    print(f"sparks lm-eval model:  {sparks_rate:.1f} tokens/s (median of {args.rounds})")
    print(f"ratio sparks / transformers: {sparks_rate / plain_rate:.3f}")


if __name__ == "__main__":
    main()
