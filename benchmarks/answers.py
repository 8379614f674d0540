"""Our answer checker against Math-Verify on the same labelled cases, in one run.

    PYTHONPATH=. .venv/bin/python benchmarks/answers.py [--repeats 3]

For each case (``benchmarks/answer_cases.py``) both checkers grade the response against the gold
answer; we report, per category, how often each agrees with the human label, and the median and
p99 time per case as ratios (ours vs Math-Verify).

Fairness notes:
* ours: ``harness_ext.answers.is_correct(response, gold)`` with its caches cleared before every
  call; the sympy worker is started (and warmed) before timing, as Math-Verify's imports are;
* Math-Verify: ``verify(parse("$gold$"), parse(response))`` with its default settings. Its
  timeouts use SIGALRM, so it runs in the main thread of a helper process; if a case hangs past
  ``--hang-s`` (a C-level big-integer computation cannot be interrupted by a signal), the helper
  is killed, the case counts as wrong and is timed at ``--hang-s``;
* every pass runs all cases once, in order, so no checker sees the same case twice in a row;
  a case's time is its median over the passes.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))
from answer_cases import CASES, Case  # noqa: E402

Result = tuple[bool, float]  # (graded correct, seconds)


# ----------------------------------------------------------------------------------------------
# Math-Verify, in a helper process (main thread, so its SIGALRM timeouts work)
# ----------------------------------------------------------------------------------------------


def math_verify_helper() -> None:
    """Serve ``{"response", "gold"}`` lines with ``{"ok", "s"}`` lines (runs in the helper)."""
    import logging

    logging.disable(logging.CRITICAL)
    from math_verify import parse, verify

    verify(parse("$1$"), parse("\\boxed{1}"))  # warm up
    print("ready", flush=True)
    for line in sys.stdin:
        case = json.loads(line)
        start = time.perf_counter()
        try:
            ok = bool(verify(parse(f"${case['gold']}$"), parse(case["response"])))
        except Exception:  # noqa: BLE001 - a crash is a wrong grade
            ok = False
        print(json.dumps({"ok": ok, "s": time.perf_counter() - start}), flush=True)


class MathVerify:
    """Drives the helper; restarts it after a hang."""

    def __init__(self, hang_s: float) -> None:
        self.hang_s = hang_s
        self.proc: Optional[subprocess.Popen] = None

    def _start(self) -> subprocess.Popen:
        proc = subprocess.Popen(
            [sys.executable, __file__, "--math-verify-helper"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        return proc

    def grade(self, case: Case) -> Result:
        if self.proc is None:
            self.proc = self._start()
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps({"response": case.response, "gold": case.gold}) + "\n")
        self.proc.stdin.flush()
        ready, _, _ = select.select([self.proc.stdout], [], [], self.hang_s)
        if not ready:
            self.proc.kill()
            self.proc.wait()
            self.proc = None
            return False, self.hang_s
        reply = json.loads(self.proc.stdout.readline())
        return reply["ok"], reply["s"]

    def close(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()


# ----------------------------------------------------------------------------------------------
# Ours
# ----------------------------------------------------------------------------------------------


def ours_grader() -> Callable[[Case], Result]:
    from harness_ext import answers

    answers.warm_up()
    answers.answers_equal("\\sin x", "\\sin(x)+0")  # waits for the worker, warms sympy

    def grade(case: Case) -> Result:
        answers.clear_cache()
        start = time.perf_counter()
        ok = answers.is_correct(case.response, case.gold)
        return ok, time.perf_counter() - start

    return grade


# ----------------------------------------------------------------------------------------------
# Report
# ----------------------------------------------------------------------------------------------


def p99(xs: list[float]) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(0.99 * (len(xs) - 1))))]


def run(repeats: int, hang_s: float) -> None:
    ours = ours_grader()
    mv = MathVerify(hang_s)
    times: dict[str, list[list[float]]] = {"ours": [[] for _ in CASES], "mv": [[] for _ in CASES]}
    grades: dict[str, list[bool]] = {"ours": [False] * len(CASES), "mv": [False] * len(CASES)}
    try:
        for _ in range(repeats):
            for i, case in enumerate(CASES):
                for name, grade in (("ours", ours), ("mv", mv.grade)):
                    ok, seconds = grade(case)
                    grades[name][i] = ok
                    times[name][i].append(seconds)
    finally:
        mv.close()
    per_case = {k: [statistics.median(ts) for ts in v] for k, v in times.items()}
    print_report(grades, per_case)


def print_report(grades: dict[str, list[bool]], per_case: dict[str, list[float]]) -> None:
    categories = list(dict.fromkeys(c.category for c in CASES))
    header = f"{'category':<12} {'n':>4} {'ours':>6} {'math_verify':>12} {'ours ms':>9} {'mv ms':>9} {'speedup':>8}"
    print(header)
    print("-" * len(header))
    rows = [(cat, [i for i, c in enumerate(CASES) if c.category == cat]) for cat in categories]
    rows.append(("all", list(range(len(CASES)))))
    not_behind = True
    for cat, idx in rows:
        agree = {k: sum(grades[k][i] == CASES[i].expected for i in idx) / len(idx) for k in grades}
        not_behind &= agree["ours"] >= agree["mv"]
        med = {k: statistics.median(per_case[k][i] for i in idx) for k in per_case}
        print(
            f"{cat:<12} {len(idx):>4} {agree['ours']:>6.2f} {agree['mv']:>12.2f} "
            f"{med['ours'] * 1e3:>9.3f} {med['mv'] * 1e3:>9.3f} {med['mv'] / med['ours']:>7.1f}x"
        )
    disagreements = [
        (c, grades["ours"][i], grades["mv"][i])
        for i, c in enumerate(CASES)
        if grades["ours"][i] != c.expected or grades["mv"][i] != c.expected
    ]
    print("\ncases where a checker disagrees with the label (label, ours, math_verify):")
    for c, o, m in disagreements:
        shown = c.response if len(c.response) < 70 else c.response[:40] + "..." + c.response[-25:]
        print(f"  [{c.category}] {shown!r} vs {c.gold!r}: {c.expected} {o} {m}")
    total = {k: sum(g == c.expected for g, c in zip(grades[k], CASES)) / len(CASES) for k in grades}
    med = {k: statistics.median(v) for k, v in per_case.items()}
    tail = {k: p99(v) for k, v in per_case.items()}
    speedup = med["mv"] / med["ours"]
    print(f"\ngoal: agreement >= math_verify in every category: {'yes' if not_behind else 'NO'}; "
          f"median speedup >= 5x: {'yes' if speedup >= 5 else 'NO'}")
    print(f"agreement ours={total['ours']:.2f} math_verify={total['mv']:.2f}")
    print(
        f"median speedup {speedup:.1f}x "
        f"(ours {med['ours'] * 1e3:.3f} ms, math_verify {med['mv'] * 1e3:.3f} ms), "
        f"p99 ratio ours/math_verify {tail['ours'] / tail['mv']:.4f} "
        f"(ours {tail['ours'] * 1e3:.1f} ms, math_verify {tail['mv'] * 1e3:.1f} ms)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="passes over all cases")
    parser.add_argument("--hang-s", type=float, default=20.0, help="Math-Verify hang cut-off")
    parser.add_argument("--math-verify-helper", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.math_verify_helper:
        math_verify_helper()
        return
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    run(args.repeats, args.hang_s)


if __name__ == "__main__":
    main()
