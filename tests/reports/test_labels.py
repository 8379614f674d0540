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

LOOP = "We need the sum. " + "Let me check the sum again: 3 + 4 = 7, so the total is 7. " * 12
REASONED = (
    "First, 12 \\times 13 = 156. Then 156 + 4 = 160. Dividing, 160 / 8 = 20. "
    "So the answer is \\boxed{20}."
)


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


@pytest.mark.parametrize(
    "response, claim, note",
    [
        (
            "We get 12 \\times 13 = 198, so the answer is \\boxed{198}.",
            "12 \\times 13 = 198",
            "12 \\times 13 = 156, not 198",
        ),
        (
            "Adding, $3/4 + 1/8 = 5/8$. The answer is \\boxed{5/8}.",
            "3/4 + 1/8 = 5/8",
            "3/4 + 1/8 = 7/8 (~0.875), not 5/8",
        ),
        (
            "Then \\frac{1}{2} + \\frac{1}{3} = \\frac{2}{5}, so \\boxed{2/5}.",
            "\\frac{1}{2} + \\frac{1}{3} = \\frac{2}{5}",
            "= 5/6",
        ),
    ],
)
def test_calculation_error(response: str, claim: str, note: str) -> None:
    found = diagnose(response, "7")
    assert found.label == "calculation_error"
    assert found.evidence == claim
    assert note in found.note
    assert response[found.span[0] : found.span[1]] == claim


def test_calculation_error_records_the_first_false_claim() -> None:
    response = "2 + 2 = 4. Then 5 \\times 5 = 24 and 6 \\times 6 = 35. So \\boxed{35}."
    assert diagnose(response, "36").evidence == "5 \\times 5 = 24"


def test_found_then_lost() -> None:
    response = (
        "Solving, x = 204, so the answer is \\boxed{204}. Wait, we double counted; "
        "subtracting gives \\boxed{203}."
    )
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
    # truncated and looping and a false claim: a loop cut by the limit is a logical_loop
    response = LOOP + " 2 + 2 = 5"
    assert label(response, "20", truncated=True) == "logical_loop"
    assert label(response, "20") == "logical_loop"
    # a loop left behind before the cut: truncated comes first
    escaped = LOOP + " ".join(f"Row {n} holds {n + 3} seats." for n in range(12)) + " 2 + 2 = 5"
    assert label(escaped, "20", truncated=True) == "truncated"
    assert label(escaped, "20") == "logical_loop"


def test_make_sample_has_the_documented_keys() -> None:
    sample = make_sample(REASONED, "20", truncated=False)
    for key in (
        "doc",
        "target",
        "resps",
        "filtered_resps",
        "response",
        "answer",
        "gold",
        "correct",
        "truncated",
        "integer_range",
        "task",
        "max_gen_toks",
        "n_tokens",
        "grade_reason",
    ):
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
        assert (
            names.index("found_then_lost")
            < names.index("shouting")
            < names.index("reasoning_error")
        )
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


@pytest.mark.parametrize(
    "text",
    [
        "x + 2 = 5",
        "2x + 3 = 7",
        "x^2 + 3 = 12",
        "\\sqrt{16} + 1 = 5",
        "a_1 + 3 = 5",
        "7 + 8 = 3 \\pmod{12}",
        "7 + 8 = 3 (mod 12)",
        "y - 3 + 5 = 9",
        "5! = 120",
        "3 \\cdot 4 = 12x",
        "2^{10} = 1024",
        "1,000 + 24 = 1,024",
        "1/3 = 0.333",
        "2 \\times 3 = 6 + 1 = 7",
        "\\pi \\times 2 = 6.28",
        "50\\% \\times 20 = 11",
        "101_2 + 11_2 = 1000_2",
        "f(3) + 2 = 9",
        "x_{1} + 4 = 10",
    ],
)
def test_no_false_calculation_alarm(text: str) -> None:
    assert find_false_claim(text) is None


@pytest.mark.parametrize(
    "text, value",
    [
        ("so 3 + 4 = 8", "7"),
        ("$-3 + 5 = 3$", "2"),
        ("(2 + 3) \\times 4 = 24", "20"),
        ("2^{10} = 1000", "1024"),
        ("\\boxed{3 + 4 = 8}", "7"),
        ("**3 + 4 = 8**", "7"),
        ("1/3 = 0.34", "1/3"),
        ("\\dfrac{6}{8} = \\dfrac{2}{3}", "3/4"),
        ("3 \u00d7 4 = 13", "12"),
        ("9 \u2212 4 = 6", "5"),
    ],
)
def test_false_claims_are_found(text: str, value: str) -> None:
    claim = find_false_claim(text)
    assert claim is not None and str(claim.actual) == value


def test_claims_are_bounded_and_never_evaluated() -> None:
    assert find_false_claim("9^{99999999} = 1") is None  # too large to compute: skipped
    assert find_false_claim("__import__('os') + 1 = 2") is None
    many = "1 + 1 = 2. " * 5000
    assert sum(1 for _ in check_claims(many)) <= 2000


def test_no_loop_in_ordinary_or_enumerating_text() -> None:
    enumeration = " ".join(
        f"For n = {n}: n^2 + 1 = {n * n + 1}, which is not prime." for n in range(2, 40)
    )
    assert find_loop(enumeration) is None
    assert find_loop(REASONED * 2) is None  # a recap (two copies) is not a loop
    assert find_loop("short " * 10) is None


def test_degenerate_repetition_is_a_loop() -> None:
    found = find_loop("The answer is 0 " + "0 " * 300)
    assert found is not None and found.copies > 100


def test_found_then_lost_ignores_intermediate_values() -> None:
    assert find_reached("We have x = 5 and y = 2, so \\boxed{7}", "5", "7") is None


# ---------------------------------------------------------------- found_then_lost: results


def _label_of(response: str, gold: str, answer: str, **view: object) -> Diagnosis:
    """The label of a response whose grading is given (independent of the extractor)."""
    from harness_ext.reports.labels import diagnose_sample

    return diagnose_sample(make_sample(response, gold, answer=answer, correct=False, **view))


CORNERS = (
    "The grid has 12 rows and 13 columns, so there are $12 \\times 13 = 156$ squares. "
    "But the corners were counted twice, so we subtract them: $156 - 12 = 144$.\n\n"
    "The final answer is \\boxed{144}."
)


def test_found_then_lost_from_an_intermediate_result() -> None:
    found = _label_of(CORNERS, "156", "144")
    assert found.label == "found_then_lost"
    assert CORNERS[found.span[0] : found.span[1]] == "156"
    assert "reached in a step '156'" in found.note and "'144'" in found.note


@pytest.mark.parametrize(
    "response, gold, answer",
    [
        ("Then $a + b = -1 + 5 = 4$, so $x = 4$. Since $a = 3$, $a + b = 8$. \\boxed{8}", "4", "8"),
        ("Adding the parts, the total is 156. Subtracting the corners: \\boxed{144}", "156", "144"),
        (
            "The dot product is 0, so the angle is $90^\\circ$. Halving it, \\boxed{45^\\circ}",
            "90^\\circ",
            "45^\\circ",
        ),
        (
            "We get $2 + \\frac{5}{3} + 1 = \\frac{14}{3}$. Dividing by 3: $\\frac{14}{9}$.",
            "\\frac{14}{3}",
            "\\frac{14}{9}",
        ),
        (
            "So Evelyn is the student with the greatest speed. Or Carla: \\boxed{\\text{Carla}}",
            "\\text{Evelyn}",
            "\\text{Carla}",
        ),
        (
            "$\\tan A = \\frac{2\\cos A}{\\cos A} = 2$. Taking the reciprocal, $\\tan A = \\frac{1}{2}$."
            " \\boxed{\\frac{1}{2}}",
            "2",
            "\\frac{1}{2}",
        ),  # a small gold, for the final quantity
    ],
)
def test_found_then_lost_reads_results_of_steps(response: str, gold: str, answer: str) -> None:
    assert _label_of(response, gold, answer).label == "found_then_lost"


@pytest.mark.parametrize(
    "response, gold, answer",
    [
        ("Let $x = 5$ and $y = 2$. Then the answer is \\boxed{7}.", "5", "7"),  # a given
        ("Its area is 2 times larger, so \\boxed{8}.", "2", "8"),  # no value ends the sentence
        ("We have $1 + 1 = 2$ and $3 + 4 = 7$, so \\boxed{7}.", "2", "7"),  # a small gold
        (
            "Evelyn runs a short distance, so the answer is \\boxed{\\text{Carla}}.",
            "\\text{Evelyn}",
            "\\text{Carla}",
        ),  # named, not concluded
        ("So \\boxed{8}. Check: $2 + 2 = 4$ is not it.", "4", "8"),  # after the final answer
        (
            "$\\sin A = 2x$, so $\\tan A = \\frac{x}{2x} = \\frac{1}{2}$. \\boxed{\\frac{1}{2}}",
            "2",
            "\\frac{1}{2}",
        ),  # 2x is a term, not the value 2
    ],
)
def test_found_then_lost_ignores_values_that_are_no_results(
    response: str, gold: str, answer: str
) -> None:
    assert _label_of(response, gold, answer).label == "reasoning_error"


def test_found_then_lost_skips_results_that_restate_the_problem() -> None:
    response = "The perimeter of one triangle is 21 inches, so the hexagon has \\boxed{42}."
    assert _label_of(response, "21", "42").label == "found_then_lost"
    problem = {"problem": "If the perimeter of one of the triangles is 21 inches, what is ...?"}
    assert _label_of(response, "21", "42", doc=problem).label == "reasoning_error"
    stated = "So the answer is \\boxed{21}. No: \\boxed{42}."  # stated answers still count
    assert _label_of(stated, "21", "42", doc=problem).label == "found_then_lost"


def test_found_then_lost_needs_a_final_answer() -> None:
    from harness_ext.reports.builtin_labelers import found_then_lost

    sample = make_sample("First, 5 + 9 = 14. Next,", "14", answer="", correct=False)
    assert found_then_lost(sample) is None  # no final answer: nothing was "then" answered


def test_found_then_lost_the_paper_cases_end_to_end() -> None:
    assert label(CORNERS, "156") == "found_then_lost"
    assert label("Dividing, we get $x - 1 = 3$, so $x = 4$. Doubling, \\boxed{8}.", "4") == (
        "found_then_lost"
    )


# ---------------------------------------------------------------- logical_loop: before an answer

SHORT_LOOP = (
    "To find the remainder, we use $n \\equiv 2 \\pmod{7}$.\n"
    + "So, the remainder is 1 when $n$ is divided by 7.\n" * 3
    + "\nTherefore, the answer is \\boxed{1}."
)


def test_logical_loop_of_three_short_copies_before_the_answer() -> None:
    found = _label_of(SHORT_LOOP, "3", "1")
    assert found.label == "logical_loop"
    assert "the remainder is 1" in found.evidence


def test_logical_loop_early_then_reasoning_on() -> None:
    early = (
        "We need Pierre and Rosa apart at the table.\n" * 4
        + "Now we count. "
        + " ".join(f"Seat {n} has {n + 2} neighbours." for n in range(30))
        + " So \\boxed{720}."
    )
    assert _label_of(early, "144", "720").label == "logical_loop"


def test_two_copies_and_tiny_passages_are_no_loop() -> None:
    recap = ("We have $f(x) = g(x)$ when $|x| = \\frac{3}{8}$. " * 2) + "So \\boxed{2}."
    assert find_loop(recap) is None
    assert find_loop("We get 1, 1, 1, 1. So the answer is 3.") is None  # a 2-token passage


# ---------------------------------------------------------------- no_answer: no value


@pytest.mark.parametrize(
    "response, answer, why",
    [
        ("So, the final answer is: The answer.", "The answer", "a placeholder"),
        ("Therefore, the number of divisors is 3,", "3", "a dangling end"),
        ("Therefore, the number of divisors is 3,", "3,", "a dangling end"),
        ("So, the answer is $12 +$", "12 +", "a dangling end"),
        (
            "So, the answer is no longer possible to provide.",
            "no longer possible to provide",
            "prose",
        ),
        (
            "The final answer is \\boxed{\\text{the number of ways}}.",
            "\\text{the number of ways}",
            "prose",
        ),
    ],
)
def test_no_answer_for_answers_that_are_no_value(response: str, answer: str, why: str) -> None:
    found = _label_of(response, "42", answer)
    assert found.label == "no_answer"
    assert f"({why})" in found.note


@pytest.mark.parametrize(
    "response, answer",
    [
        ("THE ANSWER IS CLEARLY 3, NOTHING ELSE.", "3,"),  # the comma does not end the response
        ("So $x \\in (0, 3]$.", "(0, 3]"),
        ("It is 3 \\text{ feet and } 4 \\text{ inches}.", "3 \\text{ feet and } 4 \\text{ inches}"),
        ("So the answer is \\boxed{\\text{Evelyn}}.", "\\text{Evelyn}"),
    ],
)
def test_values_are_not_no_answer(response: str, answer: str) -> None:
    assert _label_of(response, "42", answer).label == "reasoning_error"


def test_a_sentence_is_a_value_for_triviaqa() -> None:
    response = "The band Abbey Road released the album Abbey Road."
    trivia = {"aliases": ["The Beatles", "Beatles"]}  # the doc of an alias-graded task
    found = _label_of(response, "The Beatles", response[:-1], doc=trivia)
    assert found.label == "reasoning_error"
    assert _label_of(response, "The Beatles", response[:-1]).label == "no_answer"  # a math task


# ---------------------------------------------------------------- calculation_error: more claims


@pytest.mark.parametrize(
    "text, claim, note",
    [
        ("9 + 8 is 610.", "9 + 8 is 610", "9 + 8 = 17, not 610"),
        ("5 + 9 equals 16, so", "5 + 9 equals 16", "5 + 9 = 14, not 16"),
        ("The final answer is $3x-2+1=3x+1$.", "3x-2+1=3x+1", "3x-2+1 = 3x - 1, not 3x + 1"),
    ],
)
def test_claims_in_words_and_simplifications(text: str, claim: str, note: str) -> None:
    found = find_false_claim(text)
    assert found is not None and found.text == claim and found.describe() == note


@pytest.mark.parametrize(
    "text",
    [
        "2 + 7 is a classic example",
        "8 + 9 is an arithmetic operation",
        "2x + 3 = 2x + 5",
        "3x - 2 + 1 = 3x - 1",
        "x + x = 2x",
        "so 3x - 2 + 1 = 3x + 1",
    ],
)
def test_no_false_alarm_in_words_or_equations(text: str) -> None:
    assert find_false_claim(text) is None
