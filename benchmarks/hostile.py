"""Hostile model output against the grader and the labeler: the same verdict under any load,
and what a call costs, in one run.

    PYTHONPATH=. .venv/bin/python benchmarks/hostile.py [--rounds 3] [--threads 8] [--size 1000000]

Each case is a response of about ``--size`` characters built to be slow: nested braces, a
million ``{``, null bytes, lone surrogates, long digit runs, deep ``\\boxed`` nesting, unclosed
math, repeated answer markers and claims, plus answers that keep the Math-Verify worker busy up
to its CPU-time limit, alone and at the end of a megabyte of junk or of reasoning.
``harness_ext.reports.label()`` and ``harness_ext.answers.check()`` are run

* alone: one call at a time, ``--rounds`` calls per case;
* from threads: ``--threads`` threads call the function on the case at the same moment (a
  barrier), ``--rounds`` times;
* all at once: ``--threads`` threads work through every case together (each thread on a
  different case), ``--rounds`` passes.

Caches are cleared before every call (alone) or every round (threads), so no call is served
from a cache filled by an earlier round. The worker is started and warmed first. A verdict is
decided by work (CPU time in the worker), never by a clock, so every call must return what the
first call alone returned: the exit status is 1 when any differs. For each case and mode it
also prints the p50 and the max wall time: what a call costs on this machine at this load
(figures, not a bound: on a busy machine they grow, the verdicts do not).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import logging
import os
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Callable, NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


class Hostile(NamedTuple):
    name: str
    response: str
    gold: str


def hostile_cases(size: int) -> list[Hostile]:
    """The hostile responses, each about ``size`` characters (the sympy ones are short)."""
    half = size // 2
    slow_sympy = [  # equal, but simplify() is slow: these run into the worker's CPU-time limit
        ("sympy_power", "\\boxed{\\sin(x)^{50}\\cos(x)^{50}}", "\\frac{\\sin(2x)^{50}}{2^{50}}"),
        ("sympy_binomial", "\\boxed{(\\sin x + \\cos x)^{30}}", "(1+\\sin 2x)^{15}"),
        (
            "sympy_half_angle",
            "\\boxed{\\tan(x/2)^{8}}",
            "\\left(\\frac{1-\\cos x}{\\sin x}\\right)^8",
        ),
    ]
    cases = [
        Hostile("nested_braces", "\\boxed{" + "{" * half + "1" + "}" * half + "}", "1"),
        Hostile("million_open_braces", "{" * size, "1"),
        Hostile("open_braces_then_box", "{" * size + "\\boxed{7}", "7"),
        Hostile("null_bytes", "\x00" * size, "0"),
        Hostile("null_bytes_boxed", "\\boxed{" + "\x00" * size + "}", "0"),
        Hostile("lone_surrogates", "\ud800" * size, "0"),
        Hostile("surrogates_boxed", "The answer is \\boxed{\ud800" + "\udfff" * size + "}", "0"),
        Hostile("digit_run", "7" * size, "7"),
        Hostile("digit_run_boxed", "\\boxed{" + "9" * size + "}", "9"),
        Hostile("deep_boxed", "\\boxed{" * (size // 8) + "1" + "}" * (size // 8), "1"),
        Hostile("unclosed_boxed", "\\boxed{" * (size // 7), "1"),
        Hostile("unclosed_dollars", "The answer is " + "$" * size, "1"),
        Hostile("unclosed_display_math", "\\[ x " * (size // 5), "1"),
        Hostile("many_markers", "The answer is 1. " * (size // 17), "2"),
        Hostile("marker_then_spaces", "The final answer is" + " " * size + "5", "5"),
        Hostile("repeated_zeros", "0 " * half, "1"),
        Hostile("false_claims", "1 + 1 = 3. " * (size // 11), "2"),
        Hostile("many_boxes", "\\boxed{1} and " * (size // 14), "2"),
        Hostile("distinct_boxes", "".join(f"\\boxed{{{i}}} " for i in range(size // 12)), "-1"),
        Hostile("dots", "." * size + "x", "1"),
        Hostile("backslashes", "\\" * size, "1"),
        Hostile("letters", "a" * size, "1"),
        Hostile("newlines", "\n" * size + "5", "5"),
        Hostile("inline_math", "$x$ " * (size // 4), "1"),
        Hostile("open_parens", "(" * size, "1"),
        Hostile("open_fracs", "\\frac{1}{" * (size // 9), "1"),
        Hostile("digits_in_words", "x0 " * (size // 3), "0"),
        Hostile("chat_tokens", "<|im_start|>" * (size // 12), "1"),
        Hostile("huge_power_box", "\\boxed{9^{9^{9^9}}}" + " " * size, "5"),
    ]
    cases += [Hostile(name, response, gold) for name, response, gold in slow_sympy]
    junk = "".join(f"\\boxed{{{i}}} " for i in range(size // 12))
    reasoning = (
        "Let $x$ be the number of apples. Then $2x + 3 = 11$, so $x = 4$. "
        "Checking: $2 \\cdot 4 + 3 = 11$. "
    )
    for name, response, gold in slow_sympy[:1]:  # a long hostile prefix, then a slow final answer
        cases.append(
            Hostile(f"boxes_then_{name}", f"{junk}\n\nSo the final answer is {response}.", gold)
        )
        cases.append(
            Hostile(
                f"reasoning_then_{name}",
                reasoning * (size // len(reasoning)) + f"\n\nSo {response}.",
                gold,
            )
        )
    return cases


Timed = Callable[[Hostile], tuple[object, float]]


def timed(function: Callable[[str, str], object]) -> Timed:
    def run(case: Hostile) -> tuple[object, float]:
        start = time.perf_counter()
        result = function(case.response, case.gold)
        return result, time.perf_counter() - start

    return run


def alone(call: Timed, case: Hostile, rounds: int, clear: Callable[[], None]) -> list:
    results = []
    for _ in range(rounds):
        clear()
        results.append(call(case))
    return results


def together(call: Timed, case: Hostile, rounds: int, threads: int, clear: Callable[[], None]):
    results: list = []
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        for _ in range(rounds):
            clear()
            barrier = threading.Barrier(threads)

            def start_together(_: int) -> tuple[object, float]:
                barrier.wait()
                return call(case)

            results += pool.map(start_together, range(threads))
    return results


def all_at_once(
    call: Timed, cases: list[Hostile], rounds: int, threads: int, clear: Callable[[], None]
) -> dict[str, list]:
    results: dict[str, list] = {case.name: [] for case in cases}
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        for _ in range(rounds):
            clear()
            for case, result in zip(cases, pool.map(call, cases)):
                results[case.name].append(result)
    return results


def row(name: str, mode: str, results: list, expected: object) -> tuple[str, int]:
    times = [seconds for _, seconds in results]
    differ = sum(result != expected for result, _ in results)
    line = (
        f"{name:<24} {mode:<10} {statistics.median(times) * 1e3:>9.1f} "
        f"{max(times) * 1e3:>9.1f} {len(results) - differ:>4}/{len(results)}"
        f"{'  DIFFERS' if differ else ''}"
    )
    return line, differ


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="calls (or thread rounds) per case")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--size", type=int, default=1_000_000, help="characters per response")
    parser.add_argument("--only", nargs="*", default=None, help="case names to run")
    args = parser.parse_args()
    os.environ.setdefault("SPARKS_LOAD_PLUGINS", "")  # built-in labelers only
    logging.getLogger("harness_ext.answers").setLevel(logging.ERROR)  # timeouts are expected

    from harness_ext import answers
    from harness_ext.reports import label

    answers.warm_up()
    answers.answers_equal("\\sin x", "\\sin(x)+0")  # waits for the worker
    label("\\boxed{1}", "1")  # loads the plugins
    cases = [c for c in hostile_cases(args.size) if not args.only or c.name in args.only]
    functions = {
        "label": timed(lambda response, gold: label(response, gold)),
        "check": timed(lambda response, gold: answers.check(response, gold)),
    }
    print(
        f"{len(cases)} cases of about {args.size:,} characters, {args.rounds} rounds, "
        f"{args.threads} threads; same = calls that returned the first verdict"
    )
    header = f"{'case':<24} {'mode':<10} {'p50 ms':>9} {'max ms':>9} {'same':>9}"
    failures = []
    for fname, call in functions.items():
        print(f"\n{fname}()\n{header}\n{'-' * len(header)}")
        answers.clear_cache()
        expected = {case.name: call(case)[0] for case in cases}
        shared = all_at_once(call, cases, args.rounds, args.threads, answers.clear_cache)
        for case in cases:
            for mode, results in (
                ("alone", alone(call, case, args.rounds, answers.clear_cache)),
                (
                    f"{args.threads} threads",
                    together(call, case, args.rounds, args.threads, answers.clear_cache),
                ),
                ("all cases", shared[case.name]),
            ):
                line, differ = row(case.name, mode, results, expected[case.name])
                print(line, flush=True)
                if differ:
                    failures.append(f"{fname} {case.name} {mode}: {differ} different verdict(s)")
    print()
    if failures:
        print(f"{len(failures)} call group(s) whose verdict changed with the load:")
        for failure in failures:
            print(f"  {failure}")
        return 1
    print("every call returned the verdict of the first call alone")
    return 0


if __name__ == "__main__":
    sys.exit(main())
