"""Peak memory and time of ``sparks report`` on one large samples file (synthetic, ours).

    PYTHONPATH=. .venv/bin/python benchmarks/report_memory.py [--mb 200] [--chars 100000] [--keep DIR]

Writes, in a temporary folder, one lm-eval run of ``aime24_sparks`` (pass@1, 4 responses per
problem) whose samples file is about ``--mb`` MB: long synthetic reasoning traces (ours, not
model output: numbered steps with arithmetic, some non-ASCII symbols as real traces have, a
boxed answer at the end, right in one of four responses). Then it runs ``sparks report RUN -o
OUT`` in a child process (``--chars``: characters per response; many short responses
cost more memory than few long ones, as each response keeps its labels) and prints the child's peak resident memory (``ru_maxrss`` of
``RUSAGE_CHILDREN``) and its wall time. The figure is what docs/reports.md states as the bound;
tests never assert memory or time.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TASK = "aime24_sparks"
RESPONSES = 4
RESPONSE_CHARS = 100_000
STEP = (
    "Step {i}: we have {a} + {b} = {c}, and {a} \u00d7 {b} = {d}. Since {c} \u2264 {e}, the "
    "bound on \\( x_{{{i}}} \\) still holds; check the case n = {i} \u2212 1 again.\n"
)


def trace(rng: random.Random, answer: int, right: bool, chars: int = RESPONSE_CHARS) -> str:
    """One synthetic reasoning trace of about ``chars`` characters."""
    parts, size, i = [], 0, 0
    while size < chars:
        a, b = rng.randint(2, 999), rng.randint(2, 999)
        line = STEP.format(i=i, a=a, b=b, c=a + b, d=a * b, e=a + b + rng.randint(0, 9))
        parts.append(line)
        size += len(line)
        i += 1
    final = answer if right else (answer + rng.randint(1, 50)) % 1000
    parts.append(f"\nSo the answer is \\boxed{{{final}}}.")
    return "".join(parts)


def write_big_run(folder: Path, megabytes: int, chars: int = RESPONSE_CHARS, seed: int = 0) -> Path:
    """An lm-eval output folder with one samples file of about ``megabytes`` MB, of responses
    of about ``chars`` characters."""
    from harness_ext.reports.fixtures import DATE_ID, FakeProblem, write_run

    rng = random.Random(seed)
    per_problem = RESPONSES * (chars + 200) + 600
    count = max(1, megabytes * 1_000_000 // per_problem)
    golds = [rng.randint(0, 999) for _ in range(count)]
    # the results file (and a small samples file, replaced below) in lm-eval's shape
    small = [
        FakeProblem(f"p{i}", str(g), ["x"] * RESPONSES, correct=[False] * RESPONSES, ungraded=0)
        for i, g in enumerate(golds)
    ]
    results = write_run(folder, {TASK: small})
    samples = results.with_name(f"samples_{TASK}_{DATE_ID}.jsonl")
    with open(samples, "w", encoding="utf-8") as stream:
        for i, gold in enumerate(golds):
            texts = [trace(rng, gold, k == 0, chars) for k in range(RESPONSES)]
            doc = {"problem_id": f"p{i}", "problem": f"Problem {i}.", "answer": str(gold)}
            doc.update({"number": str(i % 15 + 1), "tier": "easy", "source": "synthetic"})
            line = {
                "doc_id": i,
                "doc": doc,
                "target": str(gold),
                "arguments": {
                    "gen_args_0": {"arg_0": doc["problem"], "arg_1": {"max_gen_toks": 32768}}
                },
                "resps": [texts],
                "filtered_resps": [[text.rsplit("{", 1)[-1].rstrip("}.") for text in texts]],
                "filter": "extracted",
                "metrics": ["pass@1", "ungraded"],
                "pass@1": 1 / RESPONSES,
                "ungraded": 0,
            }
            stream.write(json.dumps(line, ensure_ascii=False) + "\n")
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=200, help="size of the samples file (MB)")
    parser.add_argument("--chars", type=int, default=RESPONSE_CHARS, help="characters per response")
    parser.add_argument("--keep", type=Path, help="write the run here and keep it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = args.keep or Path(scratch)
        samples = write_big_run(root / "run", args.mb, args.chars)
        size = samples.stat().st_size / 1e6
        command = [
            sys.executable,
            "-c",
            "import sys; from harness_ext.cli import main; sys.exit(main(sys.argv[1:]))",
            "report",
            str(root / "run"),
            "-o",
            str(root / "out"),
            "--truncation",
            "estimate",
        ]
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # KiB on Linux
        if done.returncode != 0:
            print(done.stdout[-2000:], done.stderr[-4000:], sep="\n")
            return 1
        count = sum(1 for _ in open(samples, "rb")) * RESPONSES
        print(f"samples file: {size:.0f} MB, {count} responses of ~{args.chars} characters")
        print(f"sparks report: peak RSS {peak:.0f} MiB, {seconds:.1f} s wall")
    return 0


if __name__ == "__main__":
    sys.exit(main())
