"""Peak memory and time of ``sparks discover``'s attribution on the embedded model
(SmolLM2-135M-Instruct, CPU, float32) at long openings: 128, 512 and 2,048 tokens.

Each size and setting runs in a fresh subprocess, so that its peak resident memory
(``resource.getrusage(...).ru_maxrss``; tracemalloc does not see torch's allocations) is its
own. The child loads the model, records its resident memory, runs one problem's attribution
(the AMC prompt of problem 1, an opening of N tokens cut from the AMC problems' text, the
corrupted opening the next N tokens: ``--corrupt next``), and prints the peak and the time.
A watchdog thread in the child ends it once its resident memory passes ``--limit-gb`` (an
address-space rlimit would count torch's ~4.5 GB of reserved, never-touched virtual memory),
so a size that does not fit is reported as such instead of pushing a shared machine into the
OOM killer. Not run in CI.

    PYTHONPATH=. .venv/bin/python benchmarks/discover_scale.py [--sizes 128,512,2048]
        [--method fisher] [--ig-steps 8] [--batch-size 8] [--threads 2] [--limit-gb 14]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SETTINGS = {  # name -> (batch size or None for --batch-size, gradient checkpointing)
    "plain": (None, False),
    "checkpointing": (None, True),
    "batch1": (1, False),
    "batch1+ckpt": (1, True),
}
OVER_LIMIT = 3  # the child's exit status when the watchdog stopped it


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="128,512,2048")
    parser.add_argument("--method", default="fisher", choices=("fisher", "eap-ig"))
    parser.add_argument("--ig-steps", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--settings", default="plain,checkpointing")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--limit-gb", type=float, default=12.0, help="resident memory cap")
    parser.add_argument("--one", default=None, help=argparse.SUPPRESS)  # "N setting": a child
    args = parser.parse_args()
    if args.one:
        size, setting = args.one.split()
        print(json.dumps(_measure(args, int(size), setting)), flush=True)
        return 0
    print(
        f"{args.method}, {args.ig_steps} steps/samples, --batch-size {args.batch_size}, "
        f"{args.threads} threads, resident memory capped at {args.limit_gb:g} GB"
    )
    print(f"{'opening':>8} {'setting':<14} {'model MB':>9} {'peak MB':>8} {'added MB':>9} {'s':>6}")
    for size in [int(value) for value in args.sizes.split(",")]:
        for setting in args.settings.split(","):
            child = [sys.executable, __file__, *sys.argv[1:], "--one", f"{size} {setting}"]
            done = subprocess.run(child, capture_output=True, text=True)
            lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
            if done.returncode == OVER_LIMIT:
                print(f"{size:>8} {setting:<14} over {args.limit_gb:g} GB: stopped", flush=True)
                continue
            if done.returncode or not lines:
                why = (done.stderr.strip().splitlines() or ["no output"])[-1][:100]
                print(f"{size:>8} {setting:<14} failed: {why}", flush=True)
                continue
            row = json.loads(lines[-1])
            print(
                f"{size:>8} {setting:<14} {row['model_mb']:>9.0f} {row['peak_mb']:>8.0f} "
                f"{row['peak_mb'] - row['model_mb']:>9.0f} {row['seconds']:>6.1f}",
                flush=True,
            )
    return 0


def _measure(args: argparse.Namespace, size: int, setting: str) -> dict[str, float]:
    """In the child: load, attribute one problem with an opening of ``size`` tokens, report."""
    _watchdog(args.limit_gb)
    shared = HERE.parents[1] / "shared" / "data"
    if "SPARKS_DATA_DIR" not in os.environ and shared.is_dir():
        os.environ["SPARKS_DATA_DIR"] = str(shared)
    import torch

    from harness_ext.discovery import load_model, load_task_rows, prompt_ids
    from harness_ext.discovery.engine import Attribution, scorer

    torch.set_num_threads(args.threads)
    _, model, tokenizer = load_model(None, "float32", "cpu")
    rows = [row for _, row in load_task_rows("amc_sparks", 40)]
    text = "\n\n".join(row["problem"] for row in rows)
    tokens = tokenizer(text, add_special_tokens=False)["input_ids"]
    while len(tokens) < 2 * size:
        tokens = tokens + tokens
    clean, corrupt = tokens[:size], tokens[size : 2 * size]
    prompt = prompt_ids(tokenizer, rows[0])
    batch, checkpointing = SETTINGS[setting]
    how = Attribution(
        opening_tokens=size,
        ig_steps=args.ig_steps,
        method=args.method,
        batch_size=batch or args.batch_size,
        gradient_checkpointing=checkpointing,
    )
    model_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux
    t0 = time.perf_counter()
    scorer(how)(model, prompt, clean, corrupt)
    seconds = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"model_mb": model_mb, "peak_mb": peak_mb, "seconds": seconds, "prompt": len(prompt)}


def _watchdog(limit_gb: float) -> None:
    """End this process (status :data:`OVER_LIMIT`) once its resident memory passes the limit;
    checked every 50 ms from a daemon thread."""
    import threading

    page = os.sysconf("SC_PAGE_SIZE")

    def watch() -> None:
        while True:
            with open("/proc/self/statm") as statm:
                resident = int(statm.read().split()[1]) * page
            if resident > limit_gb * 2**30:
                os._exit(OVER_LIMIT)
            time.sleep(0.05)

    threading.Thread(target=watch, daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
