"""The failure labels against the hand labels of ``tests/data/responses.jsonl``, in one run.

    PYTHONPATH=. .venv/bin/python benchmarks/labels.py [--data FILE] [--show-detector]

Every labelled row (``label``: the settled hand label) is labelled the way ``sparks report``
labels a logged response (``reports/runs.py``): ``truncated`` from the recorded stop reason
(``stop_reason == "length"``), correctness from the task's own grading, computed here and never
read from the hand label:

``harness_ext.answers.graders.check`` with the grading rules the row's task declares in its
YAML (``metadata.grading``; the math grader for a task that is not in ``tasks/``, such as the
arithmetic one): the math grader for MATH-500, AMC, AIME (integers 0-999) and the arithmetic
task, the letter grader for ``gpqa_diamond_sparks`` and the alias grader (the row's
``aliases``) for ``triviaqa_sparks``; the answer is what the grader extracted.

It prints, for the real rows and for all rows: per label the number of hand labels, precision
and recall; the accuracy; the confusion matrix (rows: hand label, columns: predicted); the
misclassified ids with both labels. Then every response that stopped at its budget that is not
labelled ``truncated``, ``correct`` or ``logical_loop`` with the token limit in its note (a loop
that ran until the budget; split by intervened runs). ``--show-detector`` also runs
the ``found_then_lost`` detector alone on every real wrong response with a final answer (the
labelled ones and the 18 older AIME/AMC ones; outside the label order) and prints each place it
fires, to read its precision by hand.

Goals (exit status 1 when one is missed), on all labelled rows: accuracy at least
:data:`MIN_ACCURACY`; every label with hand cases at least :data:`MIN_PRECISION` precision and
:data:`MIN_RECALL` recall; no response that stopped at its budget labelled other than
``truncated``, ``correct`` or a ``logical_loop`` that names the token limit.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Optional, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "responses.jsonl"
MIN_ACCURACY = 0.85
MIN_PRECISION = 0.70
MIN_RECALL = 0.70

if TYPE_CHECKING:
    from harness_ext.answers.graders import GradingRules

Row = dict[str, Any]


@dataclass(frozen=True)
class Result:
    """One labelled row: its hand label, the predicted label and the evidence."""

    row: Row
    predicted: str
    note: str

    @property
    def hand(self) -> str:
        return str(self.row["label"])


@dataclass(frozen=True)
class Scores:
    """Per-label precision and recall, accuracy and the confusion matrix of some results."""

    labels: tuple[str, ...]
    confusion: Counter  # (hand, predicted) -> count
    n: int

    def count(self, hand: Optional[str] = None, predicted: Optional[str] = None) -> int:
        return sum(
            v
            for (h, p), v in self.confusion.items()
            if (hand is None or h == hand) and (predicted is None or p == predicted)
        )

    def precision(self, label: str) -> Optional[float]:
        predicted = self.count(predicted=label)
        return self.count(label, label) / predicted if predicted else None

    def recall(self, label: str) -> Optional[float]:
        hand = self.count(hand=label)
        return self.count(label, label) / hand if hand else None

    @property
    def accuracy(self) -> float:
        return sum(self.count(label, label) for label in self.labels) / self.n if self.n else 0.0


def load_rows(path: Path = DATA) -> list[Row]:
    """The labelled rows of ``path`` (those with a ``label``), in file order."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return [row for row in rows if row.get("label")]


def _doc(row: Row) -> dict[str, Any]:
    """The row's doc as its task logs it: the gold answer, and the aliases of a TriviaQA row."""
    return {"answer": str(row["gold"]), **({"aliases": row["aliases"]} if "aliases" in row else {})}


def grade(row: Row) -> tuple[str, bool]:
    """(answer, correct) as the row's task grades it (see the module docstring)."""
    from harness_ext.answers import graders

    verdict = graders.check(row["response"], _doc(row), rules(str(row.get("task") or "")))
    return verdict.extracted or "", verdict.correct


def rules(task: str) -> GradingRules:
    """The grading rules ``task`` declares in its YAML under ``tasks/`` (else: math)."""
    from harness_ext.answers.graders import GradingRules

    return _declared().get(task) or GradingRules()


@lru_cache(maxsize=1)
def _declared() -> dict[str, GradingRules]:
    """Every sparks task's grading rules, by task name, as its YAML declares them."""
    from lm_eval.tasks._yaml_loader import load_yaml

    from harness_ext.lm_eval_bridge import tasks_dir
    from harness_ext.reports.grading import declared_rules

    found = {}
    for path in sorted(tasks_dir().rglob("*.yaml")):
        task = load_yaml(path, resolve_func=False).get("task")
        declared = declared_rules(str(path))
        if isinstance(task, str) and declared is not None:
            found[task] = declared
    return found


def label_row(row: Row) -> Result:
    """The label ``sparks report`` would give the row's response."""
    from harness_ext.reports.labels import diagnose_sample, make_sample

    answer, correct = grade(row)
    task = str(row.get("task") or "")
    sample = make_sample(
        row["response"],
        str(row["gold"]),
        truncated=row.get("stop_reason") == "length",
        integer_range=rules(task).integer_range,
        answer=answer,
        correct=correct,
        doc=_doc(row),
        task=task,
        max_gen_toks=row.get("max_gen_toks"),
        n_tokens=row.get("generated_tokens"),
    )
    diagnosis = diagnose_sample(sample)
    return Result(row, diagnosis.label, diagnosis.note)


def score(results: Sequence[Result]) -> Scores:
    """Precision, recall, accuracy and the confusion matrix of ``results``."""
    from harness_ext.reports.labels import BUILTIN_LABELS

    seen = {r.hand for r in results} | {r.predicted for r in results}
    labels = tuple(label for label in BUILTIN_LABELS if label in seen) + tuple(
        sorted(seen - set(BUILTIN_LABELS))
    )
    confusion = Counter((r.hand, r.predicted) for r in results)
    return Scores(labels, confusion, len(results))


def budget_misses(results: Iterable[Result]) -> list[Result]:
    """Responses that stopped at their budget but are labelled neither truncated nor correct,
    nor logical_loop with the token limit in its note (a loop that ran until the budget)."""
    return [
        r
        for r in results
        if r.row.get("stop_reason") == "length"
        and r.predicted not in ("truncated", "correct")
        and not (r.predicted == "logical_loop" and "token limit" in r.note)
    ]


def goal_failures(scores: Scores, misses: Sequence[Result]) -> list[str]:
    """The goals ``scores`` and ``misses`` miss, one line each (empty: all met)."""
    failed = []
    if scores.accuracy < MIN_ACCURACY:
        failed.append(f"accuracy {scores.accuracy:.3f} < {MIN_ACCURACY}")
    for label in scores.labels:
        if not scores.count(hand=label):
            continue
        precision, recall = scores.precision(label), scores.recall(label)
        if precision is None or precision < MIN_PRECISION:
            failed.append(f"{label}: precision {_pct(precision)} < {MIN_PRECISION:.0%}")
        if recall is None or recall < MIN_RECALL:
            failed.append(f"{label}: recall {_pct(recall)} < {MIN_RECALL:.0%}")
    failed.extend(f"{r.row['id']}: stopped at its budget, labelled {r.predicted}" for r in misses)
    return failed


def _pct(value: Optional[float]) -> str:
    return "   -" if value is None else f"{value:4.0%}"


def print_scores(title: str, results: Sequence[Result]) -> Scores:
    """The per-label table, accuracy, confusion matrix and misclassified ids of ``results``."""
    scores = score(results)
    print(f"\n== {title}: {scores.n} rows, accuracy {scores.accuracy:.1%}")
    print(f"{'label':<18} {'n':>4} {'pred':>5} {'prec':>5} {'rec':>5}")
    for label in scores.labels:
        print(
            f"{label:<18} {scores.count(hand=label):>4} {scores.count(predicted=label):>5} "
            f"{_pct(scores.precision(label)):>5} {_pct(scores.recall(label)):>5}"
        )
    short = [label[:8] for label in scores.labels]
    print("\nconfusion (rows: hand label, columns: predicted)")
    print(f"{'':<18}" + "".join(f"{name:>9}" for name in short))
    for hand in scores.labels:
        print(f"{hand:<18}" + "".join(f"{scores.count(hand, p):>9}" for p in scores.labels))
    wrong = [r for r in results if r.hand != r.predicted]
    print(f"\nmisclassified ({len(wrong)}):")
    for r in wrong:
        print(f"  {r.row['id']}: hand {r.hand}, predicted {r.predicted} ({r.note[:90]})")
    return scores


def print_budget(results: Sequence[Result]) -> list[Result]:
    """Responses that stopped at their budget and their labels, intervened runs apart."""
    stopped = [r for r in results if r.row.get("stop_reason") == "length"]
    misses = budget_misses(stopped)
    intervened = [r for r in stopped if str(r.row.get("interventions") or "none") != "none"]
    print(
        f"\n== stopped at their budget: {len(stopped)} ({len(intervened)} on intervened "
        f"runs); labelled other than truncated/correct/logical_loop at the limit: {len(misses)} "
        f"({len(budget_misses(intervened))} on intervened runs)"
    )
    for r in misses:
        print(f"  {r.row['id']}: {r.predicted}")
    return misses


def older_rows(path: Path = DATA) -> list[Row]:
    """The 18 older real rows (AIME 2024 / AMC greedy, 512 tokens; no hand label), with the
    task their id names, for the detector check."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    older = [dict(row) for row in rows if "loop" in row and not row.get("label")]
    for row in older:
        row["task"] = "aime24_sparks_greedy" if "-I" in row["id"] else "amc_sparks_greedy"
        row.setdefault("label", "-")
    return older


def print_detector(rows: Sequence[Row]) -> None:
    """Where ``found_then_lost``'s detector fires on real wrong responses that have a final
    answer (what the labeler sees), ignoring the label order, for reading by hand."""
    from harness_ext.reports.reached import find_reached

    wrong = [
        (row, answer) for row in rows for answer, correct in [grade(row)] if not correct and answer
    ]
    print(
        f"\n== found_then_lost detector alone on {len(wrong)} real wrong responses with a "
        f"final answer (label order ignored)"
    )
    fired = 0
    for row, answer in wrong:
        reached = find_reached(row["response"], str(row["gold"]), answer)
        if reached is not None:
            fired += 1
            context = reached.context.replace("\n", " ")
            print(
                f"  {row['id']} (hand {row['label']}, gold {row['gold']!r}, answer "
                f"{answer!r}): {reached.candidate!r} in ...{context}..."
            )
    print(f"  fired on {fired}")
    print_chance_hits(wrong)


def print_chance_hits(wrong: Sequence[tuple[Row, str]]) -> None:
    """The detector on each response against the golds of the other problems: every hit is a
    value met by chance (a false ``found_then_lost``), the flooding the small-value rule
    keeps down."""
    from harness_ext.reports.reached import find_reached

    golds = sorted({str(row["gold"]) for row, _ in wrong})
    pairs = hits = 0
    for row, answer in wrong:
        for gold in golds:
            if gold == str(row["gold"]) or gold == answer:
                continue
            pairs += 1
            reached = find_reached(row["response"], gold, answer)
            if reached is not None:
                hits += 1
                print(
                    f"  chance: {row['id']} against gold {gold!r}: {reached.candidate!r} in "
                    f"...{reached.context.replace(chr(10), ' ')}..."
                )
    print(f"  against other problems' golds: {hits} hits in {pairs} pairs")


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument(
        "--show-detector",
        action="store_true",
        help="run found_then_lost's detector alone on real wrong responses",
    )
    args = parser.parse_args(argv)
    rows = load_rows(args.data)
    results = [label_row(row) for row in rows]
    real = [r for r in results if r.row.get("source") == "real"]
    print_scores("real rows", real)
    scores = print_scores("all rows", results)
    misses = print_budget(results)
    if args.show_detector:
        print_detector([r.row for r in real] + older_rows(args.data))
    failed = goal_failures(scores, misses)
    print("\ngoals: " + ("all met" if not failed else "MISSED\n  " + "\n  ".join(failed)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
