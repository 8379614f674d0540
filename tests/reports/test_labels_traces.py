"""Labels for two faults seen in real reasoning traces (R1-distill and QwQ styles; the texts
here are ours): a closing "value" that is no value of the gold's kind is ``no_answer``, and a
loop that runs until the token limit is ``logical_loop`` with the cut in its note."""

from __future__ import annotations

from typing import Optional

import pytest

from harness_ext.reports import diagnose
from harness_ext.reports.answer_kind import is_numeric, not_of_kind
from harness_ext.reports.labels import diagnose_sample, make_sample
from harness_ext.reports.loops import find_loop

# ---------------------------------------------------------------- no value of the gold's kind


@pytest.mark.parametrize(
    "response, gold, why",
    [
        ("So every odd count works, and the answer is $2N+1$.", "7", "an expression in N"),
        ("So the final answer is \\boxed{n = 2k+1}.", "15", "an expression in k"),
        ("Therefore the quadrilateral we want is $ABCD$.", "24", "letters"),
        ("The answer is $\\sqrt{x}$.", "\\frac{11}{2}", "an expression in x"),
        ("Thus the answer is \\boxed{N}.", "(1, 2)", "letters"),
    ],
)
def test_no_value_of_a_numeric_gold_is_no_answer(response: str, gold: str, why: str) -> None:
    found = diagnose(response, gold)
    assert found.label == "no_answer"
    assert why in found.note and "the gold is a number" in found.note
    assert response[found.span[0] : found.span[1]] == found.evidence


@pytest.mark.parametrize(
    "response, gold",
    [
        ("So the answer is \\boxed{(C)}.", "42"),  # a choice letter is a value
        ("So the answer is \\boxed{x = 7}.", "5"),  # an assignment states 7
        ("The rope is \\boxed{5 m} long.", "4"),  # a unit after a number
        ("The speed is \\boxed{12 \\text{ km/h}}.", "10"),
        ("So the answer is \\boxed{\\frac{\\pi}{2}}.", "3"),
        ("So the answer is \\boxed{3 + 4i}.", "5"),  # i and e are constants
        ("So the answer is \\boxed{2n+3}.", "2n+1"),  # the gold is an expression too
        ("So the answer is \\boxed{ABD}.", "C"),  # the gold is no number
    ],
)
def test_wrong_values_of_the_gold_kind_stay_wrong_answers(response: str, gold: str) -> None:
    assert diagnose(response, gold).label == "reasoning_error"


@pytest.mark.parametrize(
    "gold, numeric",
    [
        ("7", True),
        ("\\frac{11}{2}", True),
        ("2\\sqrt{3}", True),
        ("(1, 2)", True),
        ("5\\text{ cm}", True),
        ("He has 3*4 = <<3*4=12>>12 eggs.\n#### 12", True),  # a GSM8K solution: its 12
        ("C", False),
        ("2n+1", False),
        ("x \\in [-2, 7]", False),
        ("ABCD", False),
    ],
)
def test_numeric_golds(gold: str, numeric: bool) -> None:
    assert is_numeric(gold) is numeric


@pytest.mark.parametrize(
    "answer, why",
    [
        ("2N+1", "an expression in N; the gold is a number"),
        ("ABCD", "letters; the gold is a number"),
        ("12", None),
        ("e^2", None),
        ("C", None),
    ],
)
def test_not_of_kind(answer: str, why: Optional[str]) -> None:
    assert not_of_kind(answer, "7") == why


# ---------------------------------------------------------------- a loop until the token limit

OVERTHINK = (
    "Okay, let me find the remainder of 2^100 modulo 7.\n\n"
    + "Wait, maybe I should check the cycle again. 2^3 = 8, which is 1 mod 7, so the cycle "
    "has length 3. Hmm, but let me verify that once more.\n\n"
    * 14
    + "Wait, maybe I should check the cycle"
)


def test_a_loop_until_the_token_limit_is_a_logical_loop() -> None:
    sample = make_sample(OVERTHINK, "2", truncated=True, max_gen_toks=512)
    found = diagnose_sample(sample)
    assert found.label == "logical_loop"
    assert "until the 512-token limit cut it off" in found.note
    assert "check the cycle again" in found.evidence
    assert OVERTHINK[found.span[0] : found.span[1]] == found.evidence


def test_a_loop_left_before_the_cut_stays_truncated() -> None:
    escaped = OVERTHINK + " ".join(f"Case {n}: 2^{n} leaves {2**n % 7}." for n in range(1, 25))
    loop = find_loop(escaped)
    assert loop is not None and not loop.reaches_end
    found = diagnose_sample(make_sample(escaped, "2", truncated=True, max_gen_toks=512))
    assert found.label == "truncated"
    # without the cut the loop is still a loop, with no word of a limit
    found = diagnose_sample(make_sample(escaped, "2", truncated=False))
    assert found.label == "logical_loop" and "limit" not in found.note


def test_a_loop_that_ends_with_an_answer_names_no_limit() -> None:
    found = diagnose(OVERTHINK + ". So the answer is \\boxed{3}.", "2")
    assert found.label == "logical_loop" and "limit" not in found.note
