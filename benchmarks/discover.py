"""Benchmark ``sparks discover``'s attribution against brute-force zero ablation, on the embedded
model (SmolLM2-135M-Instruct: 30 layers x 9 heads = 270 heads), CPU, one thread.

Ground truth: for each head alone, zero its o_proj input slice and measure KL(clean || ablated)
of the next-token distributions at the opening's positions (270 forward passes per problem).
Attribution: EAP-IG (``--method eap-ig``, the paper's; node scores, and with ``--edges`` the
sum of absolute edge scores) and the second-order estimate (``--method fisher``), both with zero activations as the corrupted baseline (``corrupt=None``, i.e.
``--corrupt zeros``), so both measure the effect of removing a head; with another input as the
corruption (``base``/``next``), attribution measures something else and the comparison would
not hold. All variants run interleaved per problem in one process. Prints the Spearman rank
correlation of the summed scores with the truth (goal >= 0.7) and each method's speed ratio
to brute force (goal >= 20x).

    .venv/bin/python benchmarks/discover.py [--problems 3] [--opening-tokens 16] [--ig-steps 5]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=int, default=3)
    parser.add_argument("--opening-tokens", type=int, default=16)
    parser.add_argument("--ig-steps", type=int, default=5)
    args = parser.parse_args()
    shared = Path(__file__).resolve().parents[2] / "shared" / "data"
    if "SPARKS_DATA_DIR" not in os.environ and shared.is_dir():
        os.environ["SPARKS_DATA_DIR"] = str(shared)

    import torch
    from scipy.stats import spearmanr

    from harness_ext.discovery import load_model, load_task_rows, prompt_ids
    from harness_ext.discovery.attribution import (
        attribute,
        edge_attribute,
        fisher_attribute,
        greedy_opening,
    )
    from harness_ext.testing import reference_hook

    torch.set_num_threads(1)
    _, model, tokenizer = load_model(None, "float32", "cpu")
    shape = (model.config.num_hidden_layers, model.config.num_attention_heads)
    rows = load_task_rows("amc_sparks", args.problems)
    eos = [tokenizer.eos_token_id]

    def edges(*args):  # noqa: ANN002, ANN202 - the paper's importance: summed |edge scores|
        return edge_attribute(*args).abs().sum(dim=-1)

    methods = {"eap-ig": attribute, "edges": edges, "fisher": fisher_attribute}
    truth_total = torch.zeros(shape)
    totals = {name: torch.zeros(shape) for name in methods}
    times = {name: 0.0 for name in ["brute force", *methods]}
    per_problem: dict[str, list[float]] = {name: [] for name in methods}
    for _, row in rows:
        prompt = prompt_ids(tokenizer, row)
        clean = greedy_opening(model, prompt, args.opening_tokens, eos)
        ids, keep = torch.tensor([prompt + clean]), len(clean) + 1

        t0 = time.perf_counter()
        with torch.no_grad():
            ref = torch.log_softmax(model(ids, logits_to_keep=keep).logits[0, :-1], -1)
            truth = torch.zeros(shape)
            for layer in range(shape[0]):
                for head in range(shape[1]):
                    with reference_hook(model, {(layer, head): torch.zeros_like}):
                        out = torch.log_softmax(model(ids, logits_to_keep=keep).logits[0, :-1], -1)
                    truth[layer, head] = (ref.exp() * (ref - out)).sum()
        times["brute force"] += time.perf_counter() - t0
        truth_total += truth
        line = []
        for name, method in methods.items():
            t0 = time.perf_counter()
            scores = method(model, prompt, clean, None, args.ig_steps).abs()
            times[name] += time.perf_counter() - t0
            totals[name] += scores
            per_problem[name].append(spearmanr(scores.flatten(), truth.flatten()).statistic)
            line.append(f"{name} Spearman {per_problem[name][-1]:.3f}")
        print(
            f"{row['problem_id']}: {len(prompt)} prompt + {len(clean)} opening tokens; "
            + "; ".join(line),
            flush=True,
        )
    top = round(0.1 * shape[0] * shape[1])
    truth_top = set(truth_total.flatten().topk(top).indices.tolist())
    print(
        f"heads: {shape[0] * shape[1]}; problems: {len(rows)}; IG steps / samples: {args.ig_steps}; "
        f"brute force: {times['brute force']:.1f} s"
    )
    for name in methods:
        rho = spearmanr(totals[name].flatten(), truth_total.flatten()).statistic
        overlap = len(set(totals[name].flatten().topk(top).indices.tolist()) & truth_top)
        print(
            f"{name:>7}: Spearman {rho:.3f} (goal >= 0.7; per problem "
            f"{', '.join(f'{r:.3f}' for r in per_problem[name])}); top-{top} overlap "
            f"{overlap}/{top}; {times[name]:.2f} s, {times['brute force'] / times[name]:.1f}x "
            f"faster than brute force (goal >= 20x)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
