"""Benchmark ``sparks discover``'s attribution against the brute force it approximates, on the
embedded model (SmolLM2-135M-Instruct: 30 layers x 9 heads = 270 heads), CPU.

Two settings, each with its own ground truth (``--method ablation``, one forward pass per head):

* ``zeros`` (``--corrupt zeros``): each head alone zeroed at every position, against
  KL(clean || ablated) of the next-token distributions at the opening's positions;
* ``next`` (``--corrupt next``): each head alone patched from the corrupted run into the clean
  run. The corrupted run is the same prompt followed by the next problem's opening (cyclically),
  both openings truncated to the shorter; position i of one run goes to position i of the other,
  so the prompt's positions are identical in both runs and only the opening's positions change.

Every method runs on the same openings and prints, pooled over the problems (scores summed, as
``sparks discover`` sums them), the Spearman rank correlation with the truth, the overlap of the
top 10% of heads, and its speed against the brute force. Goal for the default method: Spearman
>= 0.8, overlap >= 2/3, >= 10x faster. Openings and brute-force scores are cached per problem
and setting (``--cache``, default benchmarks/data/discover_truth.json), keyed by the token ids,
so a rerun costs only the methods. Not run in CI.

    PYTHONPATH=. .venv/bin/python benchmarks/discover.py [--problems 8] [--opening-tokens 16]
        [--settings next,zeros] [--methods 'eap-ig 5 steps,fisher 5,...'] [--threads 2]
        [--ig-steps 5,20,100] [--ig-over activations,inputs] [--position-abs] [--subset K]
        [--batch-size 10] [--fisher-seeds 0,1,2]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent


def _methods(args: argparse.Namespace) -> dict[str, Callable[..., Any]]:
    """Every variant measured: name -> ``fn(model, prompt, clean, corrupt)`` -> scores.

    The EAP-IG variants come from the flags: one per ``--ig-steps`` value (over activations),
    and, at the first of those step counts, ``--ig-over inputs`` (EAP-IG-inputs) and
    ``--position-abs`` (absolute value per position before summing)."""
    from functools import partial

    from harness_ext.discovery.attribution import attribute, edge_attribute, fisher_attribute

    steps = [int(value) for value in args.ig_steps.split(",")]
    methods: dict[str, Callable[..., Any]] = {}
    batch = args.batch_size
    for n in steps:
        methods[f"eap-ig {n} steps"] = partial(_call, attribute, n, batch_size=batch)
    if "inputs" in args.ig_over.split(","):
        methods[f"eap-ig inputs {steps[0]}"] = partial(
            _call, attribute, steps[0], batch_size=batch, ig_over="inputs"
        )
    if args.position_abs:
        methods[f"eap-ig pos-abs {steps[0]}"] = partial(
            _call, attribute, steps[0], batch_size=batch, position_abs=True
        )
    methods[f"eap-ig edges {steps[0]}"] = lambda *a: edge_attribute(*a, steps[0]).abs().sum(-1)
    seeds = [int(value) for value in args.fisher_seeds.split(",")]
    for n in sorted({8, 16, *steps}):  # Fisher's sample counts: 8 (the default), 16, --ig-steps
        for seed in seeds:  # each seed draws other tokens: the spread is the sampling noise
            name = f"fisher {n}" + (f" seed {seed}" if seed else "")
            methods[name] = partial(_call, fisher_attribute, n, seed=seed)
    return methods


def _call(fn: Callable[..., Any], steps: int, *args: Any, **options: Any) -> Any:
    """``fn(*args, steps, **options)``: the method with its step count after the inputs."""
    return fn(*args, steps, **options)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=int, default=8)
    parser.add_argument("--opening-tokens", type=int, default=16)
    parser.add_argument("--settings", default="next,zeros")
    parser.add_argument("--methods", default=None, help="comma-separated names (default: all)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--cache", type=Path, default=HERE / "data" / "discover_truth.json")
    parser.add_argument("--ig-steps", default="5,20", help="EAP-IG step counts, comma-separated")
    parser.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help="EAP-IG steps per pass (default: all in one; 100 steps need about 10)",
    )
    parser.add_argument(
        "--ig-over", default="activations", help="activations,inputs: add EAP-IG-inputs"
    )
    parser.add_argument(
        "--position-abs", action="store_true", help="add EAP-IG with |score| per position"
    )
    parser.add_argument(
        "--subset",
        type=int,
        default=None,
        help="measure the methods on the first K of the --problems only (same pairs, same cache)",
    )
    parser.add_argument(
        "--fisher-seeds", default="0", help="Fisher's sampling seeds, comma-separated (0: default)"
    )
    parser.add_argument("--truth-only", action="store_true", help="fill the cache, no methods")
    args = parser.parse_args()
    shared = HERE.parents[1] / "shared" / "data"
    if "SPARKS_DATA_DIR" not in os.environ and shared.is_dir():
        os.environ["SPARKS_DATA_DIR"] = str(shared)

    import torch
    from scipy.stats import spearmanr

    from harness_ext.discovery import load_model, load_task_rows, prompt_ids
    from harness_ext.discovery.attribution import ablation_attribute, greedy_opening

    torch.set_num_threads(args.threads)
    _, model, tokenizer = load_model(None, "float32", "cpu")
    shape = (model.config.num_hidden_layers, model.config.num_attention_heads)
    rows = [row for _, row in load_task_rows("amc_sparks", args.problems)]
    cache: dict[str, Any] = json.loads(args.cache.read_text()) if args.cache.exists() else {}

    def save() -> None:
        args.cache.parent.mkdir(parents=True, exist_ok=True)
        args.cache.write_text(json.dumps(cache, indent=0, sort_keys=True))

    prompts = [prompt_ids(tokenizer, row) for row in rows]
    openings = []
    for row, prompt in zip(rows, prompts):
        key = f"opening {row['problem_id']} {args.opening_tokens}"
        entry = cache.get(key)
        if entry is None or entry["prompt"] != prompt:
            opening = greedy_opening(model, prompt, args.opening_tokens, [tokenizer.eos_token_id])
            cache[key] = entry = {"prompt": prompt, "opening": opening}
            save()
        openings.append(entry["opening"])

    chosen = _methods(args)
    if args.methods:
        unknown = sorted(set(args.methods.split(",")) - set(chosen))
        if unknown:
            parser.error(f"unknown methods {unknown}; choose from {sorted(chosen)}")
        chosen = {name: chosen[name] for name in args.methods.split(",")}
    measured = len(rows) if args.subset is None else min(args.subset, len(rows))
    top = round(0.1 * shape[0] * shape[1])
    for setting in args.settings.split(","):
        truth_total = torch.zeros(shape)
        totals = {name: torch.zeros(shape) for name in chosen}
        times = {name: 0.0 for name in ["brute force", *chosen]}
        per_problem: dict[str, list[float]] = {name: [] for name in chosen}
        for i, (row, prompt) in enumerate(zip(rows, prompts)):
            if i >= measured:
                break
            clean, corrupt = openings[i], None
            if setting == "next":
                other = openings[(i + 1) % len(rows)]
                n = min(len(clean), len(other))
                clean, corrupt = clean[:n], other[:n]
            key = f"truth {setting} {row['problem_id']} {args.opening_tokens}"
            entry = cache.get(key)
            if entry is None or entry["ids"] != [prompt, clean, corrupt]:
                t0 = time.perf_counter()
                truth = ablation_attribute(model, prompt, clean, corrupt)
                seconds = time.perf_counter() - t0
                cache[key] = entry = {
                    "ids": [prompt, clean, corrupt],
                    "scores": truth.tolist(),
                    "seconds": seconds,
                    "threads": args.threads,
                }
                save()
                print(f"{setting} {row['problem_id']}: brute force {seconds:.0f} s", flush=True)
            truth = torch.tensor(entry["scores"])
            times["brute force"] += entry["seconds"]
            truth_total += truth
            if args.truth_only:
                continue
            for name, method in chosen.items():
                t0 = time.perf_counter()
                scores = method(model, prompt, clean, corrupt).abs()
                times[name] += time.perf_counter() - t0
                totals[name] += scores
                per_problem[name].append(spearmanr(scores.flatten(), truth.flatten()).statistic)
                print(
                    f"  {setting} {row['problem_id']} {name}: {time.perf_counter() - t0:.0f} s",
                    flush=True,
                )
        if args.truth_only:
            continue
        truth_top = set(truth_total.flatten().topk(top).indices.tolist())
        print(
            f"\n--corrupt {setting}: {measured} AMC problems, {args.opening_tokens}-token "
            f"openings, {shape[0] * shape[1]} heads; brute force {times['brute force']:.0f} s"
        )
        print(f"{'method':<20} {'Spearman':>8} {'per problem':>17} {'top-10%':>8} {'speed-up':>8}")
        pooled: dict[str, list[tuple[float, int]]] = {}  # name without its seed -> per seed
        for name in chosen:
            rho = spearmanr(totals[name].flatten(), truth_total.flatten()).statistic
            overlap = len(set(totals[name].flatten().topk(top).indices.tolist()) & truth_top)
            pooled.setdefault(name.split(" seed ")[0], []).append((rho, overlap))
            lo, hi = min(per_problem[name]), max(per_problem[name])
            print(
                f"{name:<20} {rho:>8.3f} {lo:>8.2f} - {hi:<6.2f} {overlap:>4}/{top:<3} "
                f"{times['brute force'] / times[name]:>7.1f}x"
            )
        _print_seed_spread(pooled, top)
    return 0


def _print_seed_spread(pooled: dict[str, list[tuple[float, int]]], top: int) -> None:
    """With ``--fisher-seeds``: each sample count's pooled Spearman and top-10% overlap over
    the seeds (median, and the worst seed), the sampling noise a single seed hides."""
    from statistics import median

    spread = {name: runs for name, runs in pooled.items() if len(runs) > 1}
    if not spread:
        return
    print(f"\nover seeds  {'Spearman median (worst)':>24} {'top-10% median (worst)':>24}")
    for name, runs in spread.items():
        rhos, overlaps = [rho for rho, _ in runs], [overlap for _, overlap in runs]
        print(
            f"{name:<11} {median(rhos):>16.3f} ({min(rhos):.3f}) "
            f"{median(overlaps):>14g}/{top} ({min(overlaps)}/{top})  {len(runs)} seeds"
        )


if __name__ == "__main__":
    sys.exit(main())
