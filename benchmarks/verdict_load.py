"""The same verdict under any load: 16 distinct symbolic checks (each one goes to Math-Verify in
the worker) from 1, 8 and 32 threads, then again beside CPU-burning processes.

    PYTHONPATH=. .venv/bin/python benchmarks/verdict_load.py [--burners 4] [--repeats 4]

For each setting it prints how many checks returned the verdict they get alone, how many came
back ungraded (reason "timeout") and the wall time of the whole batch (a figure, not a bound).
Caches are cleared before each batch. The cases are our own (not a public suite): the kinds of
answers that need Math-Verify (trig identities, sets, intervals, roots, factorials).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import logging
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SYMBOLIC = [  # (response, gold): 16 distinct checks the exact fast paths cannot settle
    ("\\boxed{\\sin(kx)^2+\\cos(kx)^2}", "1"),
    ("\\boxed{2\\sqrt3}", "\\sqrt{12}"),
    ("\\boxed{\\sin\\frac{\\pi}{6}}", "\\frac12"),
    ("\\boxed{\\tan\\frac{\\pi}{3}}", "\\sqrt3"),
    ("\\boxed{\\cos\\frac{\\pi}{3}}", "\\frac{\\sqrt3}{2}"),
    ("\\boxed{x > 3}", "(3,\\infty)"),
    ("\\boxed{(x+1)^2}", "x^2+2x+1"),
    ("\\boxed{\\frac{1}{2004!}}", "\\frac{1}{2006!}"),
    ("\\boxed{\\sqrt{2}+\\sqrt{3}}", "\\sqrt{5}"),
    ("\\boxed{x^2-1}", "(x-1)^2"),
    ("\\boxed{[1, 2)}", "x \\in [1, 2)"),
    ("\\boxed{e^{i\\pi}}", "-1"),
    ("\\boxed{\\sqrt[3]{-8}}", "-2"),
    ("\\boxed{\\{1, 2\\} \\cup \\{3\\}}", "\\{1, 2, 3\\}"),
    ("\\boxed{\\frac{x^2-1}{x+1}}", "x - 1"),
    ("\\boxed{(\\sin x + \\cos x)^2}", "1 + \\sin 2x"),
]


def batch(threads: int, repeats: int) -> tuple[list, float]:
    """Every case ``repeats`` times from ``threads`` threads (fresh caches): verdicts, seconds."""
    from harness_ext import answers

    answers.clear_cache()
    jobs = SYMBOLIC * repeats
    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        verdicts = list(pool.map(lambda job: answers.check(*job), jobs))
    return verdicts, time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--burners", type=int, default=4, help="CPU-burning processes beside")
    parser.add_argument("--repeats", type=int, default=4, help="copies of the cases at 32 threads")
    args = parser.parse_args()
    logging.getLogger("harness_ext.answers").setLevel(logging.ERROR)
    from harness_ext import answers

    answers.warm_up()
    alone, _ = batch(1, 1)
    print(f"{'setting':<28} {'checks':>6} {'same':>6} {'ungraded':>8} {'wall s':>7}")
    differ = 0

    def report(name: str, threads: int, repeats: int) -> None:
        nonlocal differ
        verdicts, seconds = batch(threads, repeats)
        same = sum(v == a for v, a in zip(verdicts, alone * repeats))
        differ += len(verdicts) - same
        ungraded = sum(v.ungraded for v in verdicts)
        print(f"{name:<28} {len(verdicts):>6} {same:>6} {ungraded:>8} {seconds:>7.1f}", flush=True)

    report("1 thread", 1, 1)
    report("8 threads", 8, 1)
    report(f"32 threads x{args.repeats}", 32, args.repeats)
    burners = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.burners)
    ]
    try:
        report(f"8 threads, {args.burners} burners", 8, 1)
        report(f"32 threads x{args.repeats}, {args.burners} burners", 32, args.repeats)
    finally:
        for proc in burners:
            proc.kill()
            proc.wait()
    print(
        f"alone: {sum(v.correct for v in alone)} correct, {sum(v.ungraded for v in alone)} ungraded"
    )
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
