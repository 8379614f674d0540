"""The grader and the labeler under hostile input and many threads, and plugin loading.

No timing is asserted here: ``benchmarks/hostile.py`` prints what calls cost. These tests check
what bounds the work (the cut, bounded labelers, the worker's CPU limit) and that results stay
right: no digit glued to a word is an answer, the same label from any
thread, no error when 8 threads load the plugins at once.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from harness_ext import answers
from harness_ext.answers import (
    MAX_RESPONSE_CHARS,
    Verdict,
    answers_equal,
    check,
    extract_answer,
    grade,
    is_correct,
)
from harness_ext.errors import SparksError
from harness_ext.reports import BUILTIN_LABELS, builtin_labelers, diagnose, label, loops, reached
from harness_ext.reports.truncation import is_truncated

ROOT = Path(__file__).resolve().parents[2]
MB = 1_000_000

# ----------------------------------------------------------------------------------------------
# Digits glued to words or paths are not answers
# ----------------------------------------------------------------------------------------------

GLUED = [
    "The answer is x0",
    "the final answer is test0.",
    "The final answer is in /home/u0",
    "u0",
    "x0",
    "The answer is in /tmp/pytest-of-u/pytest-0/test_model_text_is_never_execu0/pwned",
    "so the answer is x0 here",
    "See https://example.org/0",
]


@pytest.mark.parametrize("response", GLUED)
def test_a_digit_glued_to_a_word_or_path_is_not_the_answer(response: str) -> None:
    assert extract_answer(response) is None
    assert check(response, "0") == Verdict(None, False, "no_answer")


@pytest.mark.parametrize(
    "response, answer",
    [
        ("x = 0", "x = 0"),
        ("\\boxed{0}", "0"),
        ("The answer is 0.", "0"),
        ("The answer is (0).", "(0)"),
        ("The answer is $0$.", "0"),
        ("The answer is -0", "-0"),
        ("Answer: 0", "0"),
        ("The answer is the value 0", "0"),
        ("So $a_0 = 0$.", "a_0 = 0"),
    ],
)
def test_plain_zero_answers_still_count(response: str, answer: str) -> None:
    assert extract_answer(response) == answer
    assert is_correct(response, "0")


def test_commands_and_products_before_digits_are_kept() -> None:
    assert extract_answer("The answer is $\\sqrt2$.") == "\\sqrt2"
    assert is_correct("The answer is $\\sqrt2$.", "\\sqrt{2}")
    assert extract_answer("The answer is 5x10^3") == "5x10^3"


def test_a_fresh_machines_first_temp_folder_is_not_an_answer() -> None:
    """pytest's first folder is ``pytest-0/..._execu0``: neither 0 may grade as gold 0."""
    marker = "/tmp/pytest-of-root/pytest-0/test_model_text_is_never_execu0/pwned"
    payloads = [
        f"The answer is __import__('os').system('touch {marker}')",
        f"__import__('os').system('touch {marker}')",
    ]
    for payload in payloads:
        assert not is_correct(payload, "0")
        assert not answers_equal(payload, "0")


# ----------------------------------------------------------------------------------------------
# The cut and hostile megabytes
# ----------------------------------------------------------------------------------------------


def test_only_the_end_of_a_long_response_is_read() -> None:
    filler = "Let me think about this some more.\n" * (MAX_RESPONSE_CHARS // 30)
    assert len(filler) > MAX_RESPONSE_CHARS
    assert extract_answer("\\boxed{7}\n" + filler) is None  # the box lies before the cut
    assert extract_answer(filler + "\\boxed{7}") == "7"
    assert extract_answer("{" * 2 * MB + "\\boxed{7}") == "7"


def test_the_cut_starts_at_a_line() -> None:
    from harness_ext.answers.extract import cut_response

    text = "x" * 10 + "\n" + "$a$ " * (MAX_RESPONSE_CHARS // 4)
    kept = cut_response(text)
    assert text.endswith(kept) and len(kept) <= MAX_RESPONSE_CHARS and kept.startswith("$a$")


HOSTILE = {
    "nested_braces": "\\boxed{" + "{" * (MB // 2) + "1" + "}" * (MB // 2) + "}",
    "open_braces": "{" * MB,
    "null_bytes": "\x00" * MB,
    "null_box": "\\boxed{" + "\x00" * MB + "}",
    "surrogates": "\ud800" * MB,
    "surrogate_box": "The answer is \\boxed{\ud800" + "\udfff" * MB + "}",
    "deep_boxed": "\\boxed{" * (MB // 8) + "1" + "}" * (MB // 8),
    "digit_run_box": "\\boxed{" + "9" * MB + "}",
    "distinct_boxes": "".join(f"\\boxed{{{i}}} " for i in range(MB // 12)),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_megabytes_get_a_grade_and_a_label(name: str) -> None:
    response = HOSTILE[name]
    verdict = check(response, "1")
    assert isinstance(verdict, Verdict)
    found = diagnose(response, "1")
    assert found.label in BUILTIN_LABELS
    found.evidence.encode("utf-8")  # printable: no lone surrogate survives into the evidence
    found.note.encode("utf-8")
    if found.span is not None:
        assert 0 <= found.span[0] <= found.span[1] <= len(response)


def test_deep_nesting_is_read_within_the_cut() -> None:
    assert check("\\boxed{" * 5_000 + "1" + "}" * 5_000, "1").correct
    assert check(HOSTILE["deep_boxed"], "1").extracted is None  # its boxes open before the cut


def test_huge_answers_do_not_fill_the_caches() -> None:
    answers.clear_cache()
    for i in range(5):
        assert not is_correct("\\boxed{" + str(i) * 5_000 + "}", "1")
    assert grade._compare_cached.cache_info().currsize == 0
    assert grade.prepare.cache_info().currsize <= 1  # the gold answer only


def test_truncation_counts_lone_surrogates() -> None:
    assert is_truncated("\ud800" * 3000, 1000, has_answer=False)  # 9000 bytes, no crash
    assert not is_truncated("\ud800" * 10, 1000, has_answer=False)


# ----------------------------------------------------------------------------------------------
# Bounded labelers
# ----------------------------------------------------------------------------------------------

LOOP = "Let me check the sum again: 3 + 4 = 7, so the total is 7. " * 12


def test_a_loop_at_the_end_of_a_megabyte_is_found_with_spans_in_the_whole_response() -> None:
    response = "{" * MB + "\n" + LOOP
    found = loops.find_loop(response)
    assert found is not None
    assert response[found.start : found.end] == found.text
    assert found.start > MB


def test_a_loop_far_before_the_examined_tail_is_not_seen() -> None:
    reasoning = "".join(
        f"Step {n}: we add {n} and {n + 1} to get {2 * n + 1}.\n"
        for n in range(loops.MAX_CHARS // 20)
    )
    assert loops.find_loop(LOOP + reasoning) is None


def test_false_claims_are_looked_for_in_the_head_only() -> None:
    filler = "".join(
        f"Step {n}: adding {n} and {n + 1} gives {2 * n + 1}.\n"
        for n in range(builtin_labelers.CLAIM_CHARS // 30)
    )
    assert label("So 12 + 13 = 26.\n" + filler + "\\boxed{5}", "4") == "calculation_error"
    assert label(filler + "So 12 + 13 = 26.\n\\boxed{5}", "4") == "reasoning_error"


def test_the_head_cut_never_splits_a_claim() -> None:
    head = builtin_labelers.CLAIM_CHARS
    text = "a" * (head - 12) + " 12 + 13 = 25 is right.\n\\boxed{5}"
    assert text[head - 12 : head] == " 12 + 13 = 2"  # a cut right here would make a false claim
    assert label(text, "4") == "reasoning_error"


def test_found_then_lost_reads_a_bounded_number_of_candidates() -> None:
    response = HOSTILE["distinct_boxes"]
    assert len(reached.answer_candidates(response)) == reached.MAX_SCANNED
    early = "So the answer is \\boxed{42}. " + "Wait. " * 10 + "\\boxed{41}"
    assert label(early, "42") == "found_then_lost"


# ----------------------------------------------------------------------------------------------
# Time budgets and the sympy worker
# ----------------------------------------------------------------------------------------------


def test_the_box_reader_of_the_task_filters() -> None:
    """The cut and the box reader the control tasks' filters use (``aliases``, ``choices``)."""
    from harness_ext.answers.boxes import last_boxed
    from harness_ext.answers.extract import cut_response

    assert cut_response("abc") == "abc"
    assert last_boxed("so \\boxed{2}, \\boxed{3}") == ("2, 3", 23)


def test_a_worker_child_is_ended_by_its_cpu_time_limit() -> None:
    from harness_ext.answers import worker  # imports nothing heavy: sympy only in the worker

    if not hasattr(signal, "setitimer"):
        pytest.skip("no interval timers here")
    pid = os.fork()
    if pid == 0:  # the child: limited, then busy forever
        worker._limit_cpu(0.05)
        while True:
            pass
    _, status = os.waitpid(pid, 0)
    assert worker._out_of_work(status)
    assert not worker._out_of_work(0)


def test_a_worker_child_is_ended_by_its_work_limit() -> None:
    """The work limit counts Python calls: the same count whatever the load."""
    from harness_ext.answers import worker

    def recurse(n: int) -> int:
        return n if n == 0 else recurse(n - 1)

    pid = os.fork()
    if pid == 0:  # the child: limited to 100 calls, then makes 1000
        calls = [0]
        worker._limit_work(100, calls)
        recurse(1000)
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == worker.WORK_EXHAUSTED and worker._out_of_work(status)


# ----------------------------------------------------------------------------------------------
# Threads
# ----------------------------------------------------------------------------------------------

MIXED = [
    ("So \\boxed{20}.", "20"),
    ("So \\boxed{19}.", "20"),
    (LOOP + "So \\boxed{8}.", "20"),
    ("I am not sure.\n\nMaybe cases.", "20"),
    ("We get 12 \\times 13 = 198, so \\boxed{198}.", "7"),
    ("So the answer is \\boxed{204}. Wait, \\boxed{203}.", "204"),
    ("The answer is x0", "0"),
    (HOSTILE["nested_braces"][:200_000], "1"),
]


def test_labels_from_eight_threads_equal_labels_from_one() -> None:
    expected = [label(r, g) for r, g in MIXED]
    barrier = threading.Barrier(8)

    def run(job: tuple[str, str]) -> str:
        barrier.wait()
        return label(*job)

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        assert list(pool.map(run, MIXED)) == expected
    assert expected[:7] == [
        "correct",
        "reasoning_error",
        "logical_loop",
        "no_answer",
        "calculation_error",
        "found_then_lost",
        "no_answer",
    ]


FIRST_USE = r"""
import concurrent.futures, json, sys, threading
from harness_ext.reports import label
jobs = json.loads(sys.argv[1])
barrier = threading.Barrier(len(jobs))
def run(job):
    barrier.wait()
    try:
        return label(*job)
    except Exception as error:
        return f"{type(error).__name__}: {error}"
with concurrent.futures.ThreadPoolExecutor(len(jobs)) as pool:
    print(json.dumps(list(pool.map(run, jobs))))
"""


def _first_use(jobs: list[tuple[str, str]], **env: str) -> list[str]:
    environ = {k: v for k, v in os.environ.items() if k != "SPARKS_LOAD_PLUGINS"}
    environ.update(env, PYTHONPATH=str(ROOT))
    out = subprocess.run(
        [sys.executable, "-c", FIRST_USE, json.dumps(jobs)],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.mark.integration  # a fresh interpreter
@pytest.mark.parametrize("allow_list", [None, ""])
def test_eight_threads_calling_label_first_in_a_fresh_process(allow_list) -> None:
    jobs = [job for job in MIXED[:7]] + [("So \\boxed{3}.", "3")]
    env = {} if allow_list is None else {"SPARKS_LOAD_PLUGINS": allow_list}
    trials = [_first_use(jobs, **env) for _ in range(3)]  # the race hit 4 trials in 5
    assert not [result for result in trials[0] if "Error" in result]
    assert trials[1:] == [trials[0]] * 2
    if allow_list == "":  # built-ins only, as in this process: the very same labels
        assert trials[0] == [label(r, g) for r, g in jobs]


FAILED_LOAD = r"""
import concurrent.futures, json
from harness_ext import plugins
def run(_):
    try:
        plugins.load_plugins()
        return "loaded"
    except Exception as error:
        return type(error).__name__ + ": " + str(error)
with concurrent.futures.ThreadPoolExecutor(8) as pool:
    first = list(pool.map(run, range(8)))
registered = [name for name in plugins.DEFAULT_PLUGINS if plugins.pm.get_plugin(name) is not None]
print(json.dumps({"first": first, "again": run(0), "registered": registered,
                  "loaded": plugins._loaded}))
"""


@pytest.mark.integration  # a fresh interpreter
def test_a_failed_load_leaves_no_half_registry_and_fails_again() -> None:
    environ = dict(os.environ, PYTHONPATH=str(ROOT), SPARKS_LOAD_PLUGINS="no-such-sparks-plugin")
    out = subprocess.run(
        [sys.executable, "-c", FAILED_LOAD],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    message = (
        "PluginError: SPARKS_LOAD_PLUGINS names 'no-such-sparks-plugin', which is not "
        "installed; install it or remove it from the list"
    )
    assert result["first"] == [message] * 8
    assert result["again"] == message
    assert result["registered"] == [] and result["loaded"] is False


# ----------------------------------------------------------------------------------------------
# Bad input from callers
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "response, gold, match",
    [
        (None, "1", "response to label must be a str, got NoneType"),
        (b"\\boxed{1}", "1", "response to label must be a str, got bytes"),
        ("\\boxed{1}", None, "gold answer must be a str"),
        ("\\boxed{1}", ["1"], "gold answer must be a str"),
    ],
)
def test_label_refuses_arguments_of_the_wrong_type(response, gold, match) -> None:
    with pytest.raises(SparksError, match=match):
        label(response, gold)


def test_a_number_gold_is_fine_for_label() -> None:
    assert label("So \\boxed{42}.", 42) == "correct"


@pytest.mark.parametrize("bad", [(5, 1), (0, "999"), (0,), "0-999", (0.0, 999.0), (True, 5)])
def test_a_malformed_integer_range_is_a_clear_error(bad) -> None:
    for call in (
        lambda: is_correct("\\boxed{5}", "5", integer_range=bad),
        lambda: answers_equal("5", "5", integer_range=bad),
        lambda: label("\\boxed{5}", "5", integer_range=bad),
    ):
        with pytest.raises(SparksError, match="integer_range must be None or a pair of integers"):
            call()
