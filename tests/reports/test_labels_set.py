"""The labels against the hand-labelled set (tests/data/responses.jsonl): the goals of
``benchmarks/labels.py``, asserted (no model; the rows are labelled as ``sparks report`` labels
a logged response, with correctness from each task's own grading)."""

from __future__ import annotations

import importlib.util
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from harness_ext.reports import BUILTIN_LABELS

ROOT = Path(__file__).resolve().parents[2]
HAND_FIELDS = (
    "id",
    "label",
    "reason",
    "gold",
    "response",
    "task",
    "stop_reason",
    "generated_tokens",
    "max_gen_toks",
)


def _benchmark() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "sparks_labels_benchmark", ROOT / "benchmarks" / "labels.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


BENCH = _benchmark()
ROWS: list[dict[str, Any]] = BENCH.load_rows()


@pytest.fixture(scope="module")
def results() -> list[Any]:
    return [BENCH.label_row(row) for row in ROWS]


def test_the_set_has_enough_real_and_hand_written_rows() -> None:
    real = [row for row in ROWS if row.get("source") == "real"]
    assert len(real) >= 150
    assert all(row.get("label_b") in BUILTIN_LABELS for row in real)  # a second labeller
    counts = Counter(row["label"] for row in ROWS)
    assert {label: counts[label] for label in BUILTIN_LABELS if counts[label] < 10} == {}
    assert set(counts) <= set(BUILTIN_LABELS)


def test_hand_written_rows_say_so_and_carry_generation_facts() -> None:
    hand = [row for row in ROWS if row.get("source") != "real"]
    assert hand and all(row.get("source") == "hand-written" for row in hand)
    for row in hand:
        missing = [field for field in HAND_FIELDS if row.get(field) in (None, "")]
        assert not missing, (row["id"], missing)
        assert row["stop_reason"] in ("eos", "stop_sequence", "length")
        assert 0 < row["generated_tokens"] <= row["max_gen_toks"]
    ids = [row["id"] for row in ROWS]
    assert len(ids) == len(set(ids))


def test_accuracy_and_every_label_meet_the_goals(results: list[Any]) -> None:
    scores = BENCH.score(results)
    assert scores.accuracy >= BENCH.MIN_ACCURACY
    for label in BUILTIN_LABELS:
        precision, recall = scores.precision(label), scores.recall(label)
        assert precision is not None and precision >= BENCH.MIN_PRECISION, (label, precision)
        assert recall is not None and recall >= BENCH.MIN_RECALL, (label, recall)


def test_every_response_that_hit_its_budget_is_truncated_correct_or_a_loop_to_the_limit(
    results: list[Any],
) -> None:
    stopped = [r for r in results if r.row["stop_reason"] == "length"]
    assert len(stopped) >= 100
    assert [(r.row["id"], r.predicted) for r in BENCH.budget_misses(stopped)] == []
    intervened = [r for r in stopped if r.row.get("interventions") not in (None, "none")]
    assert intervened and all(
        r.predicted in ("truncated", "correct", "logical_loop") for r in intervened
    )
    loops = [r for r in stopped if r.predicted == "logical_loop"]
    assert loops and all(f"{r.row['max_gen_toks']}-token limit" in r.note for r in loops)


def test_the_benchmark_reports_a_missed_goal() -> None:
    row = {
        "id": "x",
        "label": "truncated",
        "stop_reason": "length",
        "response": "So",
        "gold": "1",
        "task": "arith_sparks_greedy",
    }
    wrong = [BENCH.Result(row, "reasoning_error", "")]
    failed = BENCH.goal_failures(BENCH.score(wrong), BENCH.budget_misses(wrong))
    assert any("accuracy" in line for line in failed)
    assert any("truncated: recall" in line for line in failed)
    assert any("stopped at its budget" in line for line in failed)
