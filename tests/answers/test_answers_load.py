"""The same verdict under any load: symbolic checks and labels from 1, 8 and 32 threads, and
beside CPU-burning processes, get what they get alone (issue: verdicts changed under load
when wall-clock budgets decided them). No test here looks at a clock."""

from __future__ import annotations

import concurrent.futures
import json
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

from harness_ext import answers
from harness_ext.answers import Verdict, check
from harness_ext.reports import diagnose

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from verdict_load import SYMBOLIC  # noqa: E402 - 16 distinct checks that go to the worker

RESPONSES = Path(__file__).resolve().parents[1] / "data" / "responses.jsonl"


def _label_cases() -> list[tuple[str, str, bool, tuple[int, int] | None]]:
    rows = [json.loads(line) for line in RESPONSES.read_text().splitlines()][:24]
    return [
        (
            row["response"],
            row["gold"],
            not row.get("ended", True),
            (0, 999) if "-I-" in row["id"] or "-II-" in row["id"] else None,
        )
        for row in rows
    ]


def _verdicts(threads: int, repeats: int = 1) -> list[Verdict]:
    """Every symbolic case ``repeats`` times, from ``threads`` threads at once (fresh caches)."""
    answers.clear_cache()
    jobs = SYMBOLIC * repeats
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        return list(pool.map(lambda job: check(*job), jobs))


def _labels(threads: int) -> list[str]:
    answers.clear_cache()
    cases = _label_cases()
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        return list(
            pool.map(
                lambda c: diagnose(c[0], c[1], c[2], integer_range=c[3]).label,
                cases,
            )
        )


@pytest.fixture(scope="module")
def alone() -> list[Verdict]:
    """The verdicts of the cases checked one at a time."""
    answers.warm_up()
    verdicts = _verdicts(1)
    assert not any(v.ungraded for v in verdicts), verdicts  # none is near its CPU limit
    assert sum(v.correct for v in verdicts) >= 10 and sum(not v.correct for v in verdicts) >= 3
    return verdicts


@pytest.fixture(scope="module")
def labels_alone() -> list[str]:
    answers.warm_up()
    return _labels(1)


@pytest.fixture
def cpu_burners() -> Iterator[int]:
    """Four processes that burn CPU as long as the test runs (on two cores: a machine 3x
    oversubscribed), ended afterwards."""
    burners = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"], stdin=subprocess.DEVNULL)
        for _ in range(4)
    ]
    try:
        yield len(burners)
    finally:
        for proc in burners:
            proc.kill()
            proc.wait()


@pytest.mark.integration  # 32 threads
@pytest.mark.parametrize("threads, repeats", [(8, 1), (32, 4)])
def test_symbolic_verdicts_from_many_threads_equal_the_ones_alone(alone, threads, repeats):
    assert _verdicts(threads, repeats) == alone * repeats


@pytest.mark.integration  # CPU burners
def test_symbolic_verdicts_beside_cpu_burners_equal_the_ones_alone(alone, cpu_burners):
    assert _verdicts(8) == alone
    assert _verdicts(32, 2) == alone * 2


@pytest.mark.integration  # 32 threads
@pytest.mark.parametrize("threads", [8, 32])
def test_labels_from_many_threads_equal_the_ones_alone(labels_alone, threads):
    assert _labels(threads) == labels_alone


@pytest.mark.integration  # CPU burners
def test_labels_beside_cpu_burners_equal_the_ones_alone(labels_alone, cpu_burners):
    assert _labels(8) == labels_alone


@pytest.mark.parametrize("argument", ["response", "gold"])
@pytest.mark.parametrize("value", [b"\\boxed{1}", None])
def test_bytes_or_none_is_a_type_error_naming_the_argument(argument, value):
    given = {"response": "\\boxed{1}", "gold": "1", argument: value}
    with pytest.raises(TypeError, match=f"^{argument} must be"):
        check(given["response"], given["gold"])
    with pytest.raises(TypeError, match=f"^{argument} must be"):
        answers.is_correct(given["response"], given["gold"])
    pred = "1" if argument == "gold" else value
    with pytest.raises(TypeError, match="^(pred|gold) must be"):
        answers.check_answer(pred, given["gold"])  # type: ignore[arg-type]


def test_a_gold_given_as_a_number_is_read_as_text():
    assert check("\\boxed{12}", 12).correct  # type: ignore[arg-type]
