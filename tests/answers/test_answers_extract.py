"""Extraction of the final answer from real answer styles (docs/answers.md, "Extraction").

Each group is one rule of the issue "Answer checking that beats Math-Verify": AoPS-style
boxes, several boxes that restate one answer, answer phrases after the box that state no
answer, answer phrases and conclusions in the languages of lighteval's tests, and an unboxed
final computation. The sentences are ours, written in the styles of those sources.
"""

from __future__ import annotations

import pytest

from harness_ext.answers import check, extract_answer, find_answer, is_correct

# ------------------------------------------------------------------- AoPS-style boxes


@pytest.mark.parametrize(
    "response, gold",
    [
        (
            "Therefore, the answer is $100 + 13 = \\boxed{\\textbf{(113) }}$.\n~A. Contributor",
            "113",
        ),
        ("so $d = \\boxed{\\textbf{(073)}}.$\n\n-B. Contributor", "73"),
        ("$16 \\cdot 4 \\cdot 6 + 1 = \\boxed{\\textbf{(385) }}$.", "385"),
        ("$\\boxed{\\textbf{(C)}}$", "C"),
        ("$\\boxed{\\textbf{(C) }42}$", "42"),
        ("$\\boxed{\\textbf{(C) }42}$", "C"),
    ],
)
def test_aops_boxes(response: str, gold: str) -> None:
    assert is_correct(response, gold)


def test_aops_boxes_under_the_aime_rule() -> None:
    verdict = check("so $d = \\boxed{\\textbf{(073)}}.$", "73", integer_range=(0, 999))
    assert (verdict.correct, verdict.reason) == (True, "exact")
    assert not is_correct("$\\boxed{\\textbf{(C)}}$", "3", integer_range=(0, 999))


# ------------------------------------------------------------------- several boxes

RESTATED = (
    "Expressed as a fraction, $d = 15\\frac{975}{1000} = \\boxed{15\\frac{39}{40}},$ or "
    "$\\boxed{\\frac{639}{40}}$ inches."
)


@pytest.mark.integration  # 13 s under load
def test_boxes_that_restate_one_answer() -> None:
    assert find_answer(RESTATED).parts == ("15\\frac{39}{40}", "\\frac{639}{40}")
    assert is_correct(RESTATED, "\\frac{639}{40}")
    assert is_correct(RESTATED, "15\\frac{39}{40}")
    assert is_correct(RESTATED, "15.975")
    assert not is_correct(RESTATED, "15")


def test_a_box_that_contradicts_the_others_is_wrong() -> None:
    assert not is_correct("so $x = \\boxed{3}$, or $\\boxed{4}$", "3")
    assert not is_correct("so $x = \\boxed{3}$, or $\\boxed{4}$", "4")


@pytest.mark.parametrize(
    "response, gold",
    [
        ("The solutions are $\\boxed{2}$ and $\\boxed{3}$.", "2, 3"),
        ("$\\boxed{1}$ papers and $\\boxed{2}$ bins", "1, 2"),
        ("$$\\boxed{(3, 3)} \\text{ for part (a) and } \\boxed{(1, 1)}$$", "(3, 3), (1, 1)"),
    ],
)
def test_joined_boxes_are_one_list(response: str, gold: str) -> None:
    assert is_correct(response, gold)


def test_boxes_with_other_text_between_are_not_joined() -> None:
    assert extract_answer("\\boxed{1} no no no no no \\boxed{2}") == "2"
    assert extract_answer("\\boxed{1} and and and or thus but \\boxed{2} and \\boxed{3}") == "2, 3"


# ------------------------------------------------------------------- phrases after the box


@pytest.mark.parametrize(
    "response",
    [
        "Therefore, $17^{-1}\\equiv \\boxed{44}\\pmod{83}$.\n\nWe may check our answer: "
        "$17\\cdot 44 = 748 = 9\\cdot 83+1 \\equiv 1\\pmod{83}$, so our answer is correct.",
        "So the result is $\\boxed{44}$. Please reason step by step, and put your final answer "
        "within \\boxed{}.",
        "The total is $\\boxed{44}$. Let us verify the answer: $4 \\cdot 11 = 44$.",
        "The total is $\\boxed{44}$; the answer is as shown above.",
    ],
)
def test_a_phrase_after_the_box_that_states_no_answer_keeps_the_box(response: str) -> None:
    assert extract_answer(response) == "44"
    assert is_correct(response, "44")


def test_a_later_stated_answer_still_wins() -> None:
    response = (
        "the interest is $\\boxed{255}$. Final Answer: The final answer is $10,455$. I "
        "hope it is correct."
    )
    assert extract_answer(response) == "10,455"
    assert is_correct(response, "10455")


# ------------------------------------------------------------------- other languages


@pytest.mark.parametrize(
    "response, answer",
    [
        # Chinese: "答案" phrases, and conclusions with 因此 / 所以 / 结论
        ("先算每份的重量。答案：每份应该是 (\\frac{2}{5}) 吨。", "\\frac{2}{5}"),
        ("每袋有33颗，共26袋。因此，弗兰克一共有**858颗**糖果。", "858"),
        ("两个数相加：3 + 10 = 13。所以一共有 3 + 10 = 13 只鸟。", "13"),
        ("她减掉了126公斤。因此，她开始前的体重是192公斤。", "192"),
        ("每个男孩9颗。 2. **结论**：Haley总共有99颗弹珠。", "99"),
        ("计划的比例为13/28", "13/28"),
        ("地块面积 = 72000 / 18 = 4000千克", "4000"),
        # French: "réponse", "donc", "en conclusion", a decimal comma
        ("La réponse est (35 + 70 = 105).", "105"),
        ("Réponse : il restera 220 $ à payer d'ici 12 mois.", "220"),
        ("Il a acheté 353 g. Donc, il a déjà 79 g de cire.", "79"),
        ("Le coût final est donc de 100 - 30 = 70", "70"),
        ("En conclusion, la probabilité est de **25%**.", "25%"),
        ("La réponse est 2,74.", "2,74"),
        # Arabic and Hindi: answer words and conclusions
        ("الإجابة: 92", "92"),
        ("لذا، ناتج العملية الحسابية 79 * 2 - 66 هو **92**.", "92"),
        ("उत्तर: 67", "67"),
        ("इसलिए, दुकान में अब 67 कमीजें हैं।", "67"),
    ],
)
def test_answer_phrases_and_conclusions_in_other_languages(response: str, answer: str) -> None:
    assert extract_answer(response) == answer


def test_answers_in_other_languages_grade() -> None:
    assert is_correct("La réponse est 2,74.", "2.74")
    assert is_correct("En conclusion, la probabilité est de **25%**.", "25\\%")
    assert is_correct("先算每份的重量。答案：每份应该是 (\\frac{2}{5}) 吨。", "2/5")
    assert not is_correct("Il a acheté 353 g. Donc, il a déjà 79 g de cire.", "353")


# ------------------------------------------------------------------- unboxed computations


@pytest.mark.parametrize(
    "response, gold",
    [
        ("Then $s = 9/2.4 = 3.75$, so t = 24. $180 + 24 = 204$.", "204"),
        ("Adding, the total is $12 \\cdot 3 + 4 = 40$.", "40"),
        ("So the answer is $35 + 70 = 105$.", "105"),
    ],
)
def test_an_unboxed_final_computation_is_its_result(response: str, gold: str) -> None:
    assert is_correct(response, gold)


def test_a_final_equation_with_a_variable_is_not_cut() -> None:
    assert extract_answer("So $x = 5+5+1 = 11$.") == "x = 5+5+1 = 11"
    assert is_correct("So $x = 5+5+1 = 11$.", "11")


# ------------------------------------------------------------------- no answer stays no answer


@pytest.mark.parametrize(
    "response",
    [
        "There are 5 apples and 3 oranges.",
        "Let me compute $17 \\times 3 = 51$. Now we still need to subtract the",
        "The answer is x0",
        "答案是 x0",
        "See /tmp/pytest-of-u/pytest-0/case0 for the answer",
        "AZYUK2A",
    ],
)
def test_no_answer_where_none_is_stated(response: str) -> None:
    assert extract_answer(response) is None


def test_the_number_of_a_short_line_of_words() -> None:
    assert extract_answer("Soucis : 2,74 $ a..") == "2,74"
    assert is_correct("Soucis : 2,74 $ a..", "2.74")
    assert extract_answer("the number is not 10 which is 1,000.99€") == "1,000.99"


# ------------------------------------------------------------------- small models' closings
# (from the real SmolLM2 responses in tests/data/responses.jsonl: arith/5, arith/12)


@pytest.mark.parametrize(
    "response, answer",
    [
        ("We can do this by adding them together, which is 13. So, 4 + 9 = 13.", "13"),
        ("9 + 2 is 11.", "11"),
        ("4 + 9 = 13", "13"),
        ("Therefore, 12 + 30 = 42.", "42"),
    ],
)
def test_a_closing_computation_gives_its_result(response: str, answer: str) -> None:
    assert extract_answer(response) == answer


@pytest.mark.parametrize(
    "response",
    [
        "So, the answer is the sum of the proper divisors of 284.",
        "The answer is the number of divisors of 12.",
    ],
)
def test_a_description_of_the_answer_is_no_answer(response: str) -> None:
    assert extract_answer(response) is None
    assert not is_correct(response, "284") and not is_correct(response, "12")


def test_a_description_with_a_stated_value_keeps_the_value() -> None:
    assert extract_answer("Thus the sum of the digits of 284 is 14.") == "14"
    assert extract_answer("So the answer is a total of 12.") == "12"


# ------------------------------------------------------------------- reasoning traces
# Issue 21, section 2: styles seen in R1-distill and QwQ long chain-of-thought outputs (the
# sentences are ours, written in those styles).

BEFORE_HEADER = "Checking x = 11/2: 2(11/2) + 1 = 12, fine. So 11/2 is the answer.\n\n"


@pytest.mark.parametrize(
    "header",
    [
        "**Final Answer**\nThe largest possible value of \\( x \\)",
        "**Final Answer**\nThe",
        "**Final Answer**\n",
        "Final Answer: the largest possible value of $x$.",
        "**Final Answer**\nThe answer is an integer",
    ],
)
def test_a_header_without_a_value_leaves_the_value_stated_before(header: str) -> None:
    found = find_answer(BEFORE_HEADER + header)
    assert found is not None and found.text == "11/2"
    assert is_correct(BEFORE_HEADER + header, "\\frac{11}{2}")
    assert not is_correct(BEFORE_HEADER + header, "x")


def test_a_header_with_a_value_keeps_it() -> None:
    assert extract_answer(BEFORE_HEADER + "**Final Answer**\n\\[ \\boxed{6} \\]") == "6"
    assert extract_answer(BEFORE_HEADER + "**Final Answer**\nThe largest value is 6.") == "6"
    assert extract_answer(BEFORE_HEADER + "**Final Answer**\nThe value 6") == "6"


@pytest.mark.parametrize(
    "response, answer",
    [
        ("so the answer should be 12. Let me double-check the count once more", "12"),
        ("Hence the final answer should be (C).", "(C)"),
        ("So the answer should be $\\frac{3}{4}$, I think.", "\\frac{3}{4}"),
        # hedged and without a value: no answer phrase, the closing sentence decides
        ("The answer should be positive, so x = 3", "3"),
    ],
)
def test_the_answer_should_be(response: str, answer: str) -> None:
    assert extract_answer(response) == answer


@pytest.mark.parametrize(
    "response, answer",
    [
        (
            "The angle is 60 degrees, so the answer is 60. But if the answer is 90 degrees, "
            "that would be surprising.",
            "60",
        ),
        ("So $\\boxed{60}$. Suppose the answer is 90; then the sides would differ.", "60"),
        ("Assuming the answer is 7, we check it: no. The answer is 8.", "8"),
        # a comma ends the supposition
        ("If I did this right, the answer is 45.", "45"),
    ],
)
def test_a_hypothetical_is_no_final_answer(response: str, answer: str) -> None:
    assert extract_answer(response) == answer


GSM8K_GOLD = (
    "She buys 3 packs of 12 pens, so 3*12 = <<3*12=36>>36 pens.\n"
    "She gives 10 away, so 36-10 = <<36-10=26>>26 pens are left.\n#### 26"
)


def test_a_gsm8k_gold_is_the_number_after_the_hashes() -> None:
    verdict = check("She ends with \\boxed{26} pens.", GSM8K_GOLD)
    assert (verdict.correct, verdict.reason) == (True, "exact")
    assert check("\\boxed{36}", GSM8K_GOLD).reason == "mismatch"
    assert is_correct("The total is 1,250.", "5*250 = <<5*250=1250>>1250\n#### 1,250")
    assert is_correct("So 26.", "#### 26")


@pytest.mark.parametrize(
    "tail",
    [
        "\\[\n\\boxed{",
        "$\\boxed{",
        "The final answer is $\\boxed{",
        "**Final Answer**\nThe answer is \\boxed{4",
        "**Final Answer**\n\\[\n\\boxed",
    ],
)
def test_an_unclosed_box_at_the_cut_leaves_the_phrase_before(tail: str) -> None:
    response = "Both cases give 15 + 27 = 42 ways, so the answer is 42.\n\n" + tail
    assert extract_answer(response) == "42"
    assert is_correct(response, "42") and not is_correct(response, "4")


def test_an_unclosed_box_far_from_the_end_is_left_alone() -> None:
    response = "We try \\boxed{ and keep going. " + "More steps here. " * 20 + "The answer is 7."
    assert extract_answer(response) == "7"
