"""Failure labels on hand-made responses: one test per label, the order, evidence, plugins."""

from __future__ import annotations

import pytest

from harness_ext import hookimpl
from harness_ext.errors import SparksError
from harness_ext.reports import BUILTIN_LABELS, Diagnosis, diagnose, label, ordered
from harness_ext.reports.arithmetic import check_claims, find_false_claim
from harness_ext.reports.labels import get_ordered_labelers, make_sample
from harness_ext.reports.loops import find_loop
from harness_ext.reports.reached import find_reached
from harness_ext.testing import throwaway_plugin

LOOP = ("We need the sum. " + "Let me check the sum again: 3 + 4 = 7, so the total is 7. " * 12)
REASONED = ("First, 12 \\times 13 = 156. Then 156 + 4 = 160. Dividing, 160 / 8 = 20. "
            "So the answer is \\boxed{20}.")


# ---------------------------------------------------------------- one test per label

def test_correct() -> None:
    assert label(REASONED, "20") == "correct"
    assert label(REASONED, "20", truncated=True) == "correct"  # correct wins over everything


def test_truncated() -> None:
    found = diagnose("Let me think about this step by step and compute the", "20", truncated=True)
    assert found.label == "truncated"
    assert found.evidence.endswith("compute the")
    assert "no final answer" in found.note


def test_logical_loop() -> None:
    found = diagnose(LOOP + "So the answer is \\boxed{8}.", "20")
    assert found.label == "logical_loop"
    assert "check the sum again" in found.evidence
    assert "repeats" in found.note
    start, end = found.span
    assert (LOOP + "So the answer is \\boxed{8}.")[start:end] == found.evidence


def test_no_answer() -> None:
    found = diagnose("I am not sure how to do this.\n\nMaybe we consider cases.", "20")
    assert found.label == "no_answer"
    assert "no final answer" in found.note


def test_no_answer_for_wrong_aime_form() -> None:
    response = "The probability is \\boxed{\\frac{1}{2}}."
    assert label(response, "500", integer_range=(0, 999)) == "no_answer"
    assert label("So \\boxed{1500}.", "500", integer_range=(0, 999)) == "no_answer"
    assert label("So \\boxed{499}.", "500", integer_range=(0, 999)) == "reasoning_error"
    assert label(response, "500") == "reasoning_error"  # no AIME rule: a wrong value


@pytest.mark.parametrize("response, claim, note", [
    ("We get 12 \\times 13 = 198, so the answer is \\boxed{198}.", "12 \\times 13 = 198",
     "12 \\times 13 = 156, not 198"),
    ("Adding, $3/4 + 1/8 = 5/8$. The answer is \\boxed{5/8}.", "3/4 + 1/8 = 5/8",
     "3/4 + 1/8 = 7/8 (~0.875), not 5/8"),
    ("Then \\frac{1}{2} + \\frac{1}{3} = \\frac{2}{5}, so \\boxed{2/5}.",
     "\\frac{1}{2} + \\frac{1}{3} = \\frac{2}{5}", "= 5/6"),
])
def test_calculation_error(response: str, claim: str, note: str) -> None:
    found = diagnose(response, "7")
    assert found.label == "calculation_error"
    assert found.evidence == claim
    assert note in found.note
    assert response[found.span[0]:found.span[1]] == claim


def test_calculation_error_records_the_first_false_claim() -> None:
    response = "2 + 2 = 4. Then 5 \\times 5 = 24 and 6 \\times 6 = 35. So \\boxed{35}."
    assert diagnose(response, "36").evidence == "5 \\times 5 = 24"


def test_found_then_lost() -> None:
    response = ("Solving, x = 204, so the answer is \\boxed{204}. Wait, we double counted; "
                "subtracting gives \\boxed{203}.")
    found = diagnose(response, "204")
    assert found.label == "found_then_lost"
    assert "\\boxed{204}" in found.evidence
    assert "'204'" in found.note and "'203'" in found.note


def test_found_then_lost_from_a_stated_answer() -> None:
    response = "Hence the answer is 42. Hmm, but let me reconsider... Final: \\boxed{41}"
    assert label(response, "42") == "found_then_lost"


def test_reasoning_error() -> None:
    found = diagnose("Counting the cases gives 17. So \\boxed{17}.", "20")
    assert found.label == "reasoning_error"
    assert found.evidence == "17"


# ---------------------------------------------------------------- order and API

def test_builtin_order_is_documented_order() -> None:
    names = [name for name, _ in get_ordered_labelers()]
    assert [n for n in names if n in BUILTIN_LABELS] == list(BUILTIN_LABELS)


def test_order_decides_between_labels() -> None:
    # truncated and looping and a false claim: truncated comes first
    response = LOOP + " 2 + 2 = 5"
    assert label(response, "20", truncated=True) == "truncated"
    assert label(response, "20") == "logical_loop"


def test_make_sample_has_the_documented_keys() -> None:
    sample = make_sample(REASONED, "20", truncated=False)
    for key in ("doc", "target", "resps", "filtered_resps", "response", "answer", "gold",
                "correct", "truncated", "integer_range", "task", "max_gen_toks", "n_tokens",
                "grade_reason"):
        assert key in sample
    assert sample["resps"] == [[REASONED]] and sample["filtered_resps"] == ["20"]
    assert sample["correct"] is True


class ShortPlugin:
    @staticmethod
    @hookimpl
    def register_labelers(register):
        @ordered(150)
        def too_short(sample):
            """Wrong and under 20 characters."""
            if not sample["correct"] and len(sample["response"]) < 20:
                return Diagnosis("too_short", sample["response"], (0, len(sample["response"])))
            return None

        def shouting(sample):
            """Wrong and all capitals."""
            return "shouting" if sample["response"].isupper() else None

        register("too_short", too_short)
        register("shouting", shouting)


def test_plugin_labelers_join_the_order() -> None:
    with throwaway_plugin("short-labels", ShortPlugin()):
        names = [name for name, _ in get_ordered_labelers()]
        assert names.index("truncated") < names.index("too_short") < names.index("logical_loop")
        # no order attribute: after the specific built-ins, before the catch-all
        assert names.index("found_then_lost") < names.index("shouting") < names.index(
            "reasoning_error")
        assert diagnose("\\boxed{3}", "4").label == "too_short"
        assert label("THE ANSWER IS CLEARLY 3, NOTHING ELSE.", "4") == "shouting"
    assert "too_short" not in [name for name, _ in get_ordered_labelers()]


def test_choosing_labelers_and_errors() -> None:
    chosen = get_ordered_labelers(["reasoning_error", "correct"])
    assert [name for name, _ in chosen] == ["reasoning_error", "correct"]
    with pytest.raises(SparksError, match="unknown labeler.*nope.*registered ones"):
        get_ordered_labelers(["nope"])


class BrokenPlugin:
    @staticmethod
    @hookimpl
    def register_labelers(register):
        def broken(sample):
            """Always fails."""
            raise RuntimeError("boom")

        broken.order = 50
        register("broken", broken)


def test_failing_labeler_is_named() -> None:
    with throwaway_plugin("broken-labels", BrokenPlugin()):
        with pytest.raises(SparksError, match="labeler 'broken' failed: RuntimeError: boom"):
            label("\\boxed{3}", "4")


# ---------------------------------------------------------------- the detectors

@pytest.mark.parametrize("text", [
    "x + 2 = 5", "2x + 3 = 7", "x^2 + 3 = 12", "\\sqrt{16} + 1 = 5", "a_1 + 3 = 5",
    "7 + 8 = 3 \\pmod{12}", "7 + 8 = 3 (mod 12)", "y - 3 + 5 = 9", "5! = 120",
    "3 \\cdot 4 = 12x", "2^{10} = 1024", "1,000 + 24 = 1,024", "1/3 = 0.333",
    "2 \\times 3 = 6 + 1 = 7", "\\pi \\times 2 = 6.28", "50\\% \\times 20 = 11",
    "101_2 + 11_2 = 1000_2", "f(3) + 2 = 9", "x_{1} + 4 = 10",
])
def test_no_false_calculation_alarm(text: str) -> None:
    assert find_false_claim(text) is None


@pytest.mark.parametrize("text, value", [
    ("so 3 + 4 = 8", "7"), ("$-3 + 5 = 3$", "2"), ("(2 + 3) \\times 4 = 24", "20"),
    ("2^{10} = 1000", "1024"), ("\\boxed{3 + 4 = 8}", "7"), ("**3 + 4 = 8**", "7"),
    ("1/3 = 0.34", "1/3"), ("\\dfrac{6}{8} = \\dfrac{2}{3}", "3/4"),
    ("3 \u00d7 4 = 13", "12"), ("9 \u2212 4 = 6", "5"),
])
def test_false_claims_are_found(text: str, value: str) -> None:
    claim = find_false_claim(text)
    assert claim is not None and str(claim.actual) == value


def test_claims_are_bounded_and_never_evaluated() -> None:
    assert find_false_claim("9^{99999999} = 1") is None  # too large to compute: skipped
    assert find_false_claim("__import__('os') + 1 = 2") is None
    many = "1 + 1 = 2. " * 5000
    assert sum(1 for _ in check_claims(many)) <= 2000


def test_no_loop_in_ordinary_or_enumerating_text() -> None:
    enumeration = " ".join(f"For n = {n}: n^2 + 1 = {n * n + 1}, which is not prime." for n in
                           range(2, 40))
    assert find_loop(enumeration) is None
    assert find_loop(REASONED * 2) is None  # a recap (two copies) is not a loop
    assert find_loop("short " * 10) is None


def test_degenerate_repetition_is_a_loop() -> None:
    found = find_loop("The answer is 0 " + "0 " * 300)
    assert found is not None and found.copies > 100


def test_found_then_lost_ignores_intermediate_values() -> None:
    assert find_reached("We have x = 5 and y = 2, so \\boxed{7}", "5", "7") is None
