"""Labelled grading cases shared by ``benchmarks/answers.py`` and ``tests/answers/test_answers.py``.

Each case is a model response, a gold answer (as in MATH-500 / AMC / AIME data) and whether a
careful human grader would mark the response correct. Labels follow mathematics and the
competition's conventions, not any grader's quirks; cases where a rule is a matter of taste
(e.g. should ``(1,2)`` match the set ``\\{1,2\\}``) are left out.
"""

from __future__ import annotations

from typing import NamedTuple


class Case(NamedTuple):
    category: str
    response: str
    gold: str
    expected: bool
    note: str = ""
    source: str = "ours"  # where the style comes from (the text is always ours)


# The styles of long chain-of-thought outputs of DeepSeek-R1-distill and QwQ models, seen in
# real traces in a public repository that has no licence: the sentences below are written by
# us in those styles; no trace is copied.
TRACES = "style of R1-distill/QwQ traces (public repository, no licence); text ours"
GSM8K = "GSM8K gold format (a solution ending in '#### N'); text ours"


def _box(answer: str, lead: str = "Thus the final answer is ") -> str:
    return f"We compute step by step.\n\n{lead}$\\boxed{{{answer}}}$."


LONG_REASONING = (
    "Let $x$ be the number of apples. Then $2x + 3 = 11$, so $x = 4$. "
    "Checking: $2 \\cdot 4 + 3 = 11$. " * 40
)

CASES: list[Case] = [
    # --- integers -------------------------------------------------------------------------
    Case("integers", _box("033"), "33", True, "AIME leading zeros"),
    Case("integers", _box("33"), "33", True),
    Case("integers", _box("34"), "33", False),
    Case("integers", _box("1,000"), "1000", True, "thousands separator"),
    Case("integers", _box("10,\\!080"), "10080", True),
    Case("integers", _box("-5"), "-5", True),
    Case("integers", _box("5"), "-5", False),
    Case("integers", "\u22125", "-5", True, "unicode minus"),
    Case("integers", "The answer is 42.", "42", True),
    Case("integers", "**Final Answer:** 17", "17", True),
    Case("integers", "Answer: 204", "204", True),
    Case("integers", _box("x = 5"), "5", True),
    Case("integers", _box("n=12"), "12", True),
    Case(
        "integers",
        "First guess $\\boxed{3}$; on reflection $\\boxed{4}$.",
        "4",
        True,
        "last box wins",
    ),
    Case(
        "integers",
        "First guess $\\boxed{3}$; on reflection $\\boxed{4}$.",
        "3",
        False,
        "last box wins",
    ),
    Case("integers", LONG_REASONING + "\\boxed{4}", "4", True, "long response"),
    Case("integers", _box("10^3"), "1000", True),
    Case("integers", _box("2^{10}"), "1024", True),
    Case("integers", _box("42.0"), "42", True),
    Case("integers", _box("\\boxed{7}"), "7", True, "nested box"),
    Case("integers", "\\boxed 5", "5", True, "box without braces"),
    Case("integers", _box("142"), "142", True),
    Case("integers", _box("1296"), "1296", True),
    Case("integers", _box("129"), "1296", False),
    # --- fractions / decimals -------------------------------------------------------------
    Case("fractions", _box("1.2 \\times 10^{5}"), "120000", True),
    Case("fractions", _box("10^{-3}"), "0.001", True),
    Case("fractions", _box("25\\%"), "\\frac{1}{4}", True),
    Case("fractions", _box("\\frac{1}{2}"), "0.5", True),
    Case("fractions", _box("0.5"), "\\frac{1}{2}", True),
    Case("fractions", _box("\\dfrac{3}{4}"), "\\frac34", True),
    Case("fractions", _box("0.75"), "\\frac{3}{4}", True),
    Case("fractions", _box("3\\frac{1}{2}"), "\\frac{7}{2}", True, "mixed number"),
    Case("fractions", _box("3.5"), "3\\frac{1}{2}", True),
    Case("fractions", _box("137.5"), "137 \\frac{1}{2}", True),
    Case("fractions", _box("4.67"), "\\frac{14}{3}", False, "rounded"),
    Case("fractions", _box("\\frac{14}{3}"), "\\frac{14}{3}", True),
    Case("fractions", _box("14/3"), "\\frac{14}{3}", True),
    Case("fractions", _box("\\frac{28}{6}"), "\\frac{14}{3}", True),
    Case("fractions", _box("0.35625"), ".35625", True),
    Case("fractions", _box("\\frac{57}{160}"), ".35625", True),
    Case("fractions", _box("0.333"), "\\frac{1}{3}", False),
    Case("fractions", _box("-\\frac{3}{8}"), "\\frac{-3}{8}", True),
    Case("fractions", _box("\\frac{3}{8}"), "-\\frac{3}{8}", False),
    Case("fractions", _box("\\tfrac{9}{19}"), "\\frac9{19}", True),
    Case("fractions", _box("\\frac{17}{50}"), "\\dfrac{17}{50}", True),
    Case("fractions", _box("0.34"), "\\dfrac{17}{50}", True),
    Case("fractions", _box("\\frac{2}{1005}"), "\\frac{2}{1005}", True),
    Case("fractions", _box("\\frac{1}{1005}"), "\\frac{2}{1005}", False),
    Case("fractions", _box("6.72\\times 10^{-5}"), ".0000672", True),
    # --- radicals / pi --------------------------------------------------------------------
    Case("radicals_pi", _box("\\frac{\\sqrt3}2"), "\\frac{\\sqrt{3}}{2}", True),
    Case("radicals_pi", _box("9\\sqrt{2}\\text{ cm}"), "9\\sqrt2", True),
    Case("radicals_pi", _box("2\\sqrt3"), "\\sqrt{12}", True),
    Case("radicals_pi", _box("\\sqrt{2}/2"), "\\frac{\\sqrt2}{2}", True),
    Case("radicals_pi", _box("\\frac{1}{\\sqrt2}"), "\\frac{\\sqrt{2}}{2}", True),
    Case("radicals_pi", _box("\\sqrt{117}"), "3\\sqrt{13}", True),
    Case("radicals_pi", _box("\\sqrt{5}"), "\\sqrt{6}", False),
    Case("radicals_pi", _box("12\\pi"), "12\\pi", True),
    Case("radicals_pi", _box("\\pi \\cdot 12"), "12\\pi", True),
    Case("radicals_pi", _box("6\\pi"), "12\\pi", False),
    Case("radicals_pi", _box("\\frac{20000}{\\pi}"), "\\frac{20000}{\\pi}", True),
    Case("radicals_pi", _box("20000/\\pi"), "\\frac{20000}{\\pi}", True),
    Case("radicals_pi", _box("18+2\\pi"), "18+2\\pi", True),
    Case("radicals_pi", _box("2\\pi+18"), "18+2\\pi", True),
    Case("radicals_pi", _box("\\frac{3\\sqrt3}{4}"), "\\frac{3\\sqrt{3}}{4}", True),
    Case("radicals_pi", _box("\\frac{3}{4}\\sqrt{3}"), "\\frac{3\\sqrt{3}}{4}", True),
    Case("radicals_pi", _box("\\sqrt{2}+1"), "\\frac{1}{\\sqrt{2}-1}", True),
    Case("radicals_pi", _box("11\\sqrt5+11"), "11 \\sqrt{5} + 11", True),
    Case("radicals_pi", _box("11\\sqrt5-11"), "11 \\sqrt{5} + 11", False),
    Case("radicals_pi", _box("6.283185307179586"), "2\\pi", True, "float of 2 pi"),
    Case("radicals_pi", _box("1.57"), "\\frac{\\pi}{2}", False),
    Case("radicals_pi", _box("\\sqrt[3]{16}"), "2\\sqrt[3]{2}", True),
    Case("radicals_pi", _box("\\sin\\frac{\\pi}{6}"), "\\frac{1}{2}", True),
    Case("radicals_pi", _box("\\frac{\\sqrt{21}}{5}"), "\\frac{\\sqrt{21}}{5}", True),
    Case("radicals_pi", _box("\\frac{\\pi^2}{8}"), "\\frac{\\pi^2}{8}", True),
    Case("radicals_pi", _box("-2+7i"), "-2 + 7i", True),
    Case("radicals_pi", _box("7i-2"), "-2 + 7i", True),
    Case("radicals_pi", _box("2-7i"), "-2 + 7i", False),
    # --- sets / tuples / intervals / matrices ---------------------------------------------
    Case(
        "structures", "The solutions are $\\boxed{2}$ and $\\boxed{3}$.", "2, 3", True, "two boxes"
    ),
    Case("structures", _box("x = 2 \\text{ or } x = 3"), "2, 3", True),
    Case(
        "structures",
        "So $y_1 = \\boxed{-2(x-1)^2+5}$ and $y_2 = \\boxed{3(x+2)^2-2}$.",
        "y_{1}=-2x^{2}+4x+3, y_{2}=3x^{2}+12x+10",
        True,
        "two labelled boxes",
    ),
    Case("structures", "We get $a = \\boxed{3}$, $b = \\boxed{-1}$.", "(3, -1)", True),
    Case("structures", _box("\\left\\{ 1, 2 \\right\\}"), "\\{1,2\\}", True),
    Case(
        "structures",
        _box("\\left(3, \\frac{\\pi}{2}\\right)"),
        "\\left( 3, \\frac{\\pi}{2} \\right)",
        True,
    ),
    Case("structures", _box("(3, \\pi/2)"), "\\left( 3, \\frac{\\pi}{2} \\right)", True),
    Case("structures", _box("(3, \\pi)"), "\\left( 3, \\frac{\\pi}{2} \\right)", False),
    Case("structures", _box("(2,1)"), "(1,2)", False, "tuples are ordered"),
    Case("structures", _box("(1,2)"), "(1,2)", True),
    Case("structures", _box("\\{2,1\\}"), "\\{1,2\\}", True),
    Case("structures", _box("7, 5, 3"), "3, 5, 7", True, "all solutions, any order"),
    Case("structures", _box("3, 5"), "3, 5, 7", False),
    Case("structures", _box("[1,2)"), "[1,2)", True),
    Case("structures", _box("[1,2]"), "[1,2)", False),
    Case("structures", _box("(-\\infty,0]"), "(-\\infty, 0]", True),
    Case("structures", _box("(-\\infty,0)"), "(-\\infty, 0]", False),
    Case(
        "structures",
        _box("(3, \\infty) \\cup (-\\infty, 2)"),
        "(-\\infty, 2) \\cup (3, \\infty)",
        True,
    ),
    Case("structures", _box("[-2,7]"), "x \\in [-2,7]", True),
    Case("structures", _box("1+\\sqrt{19}, 1-\\sqrt{19}"), "1 \\pm \\sqrt{19}", True),
    Case("structures", _box("1 \\pm \\sqrt{19}"), "1 \\pm \\sqrt{19}", True),
    Case("structures", _box("1+\\sqrt{19}"), "1 \\pm \\sqrt{19}", False),
    Case("structures", _box("\\{-2, 1+\\sqrt5, 1-\\sqrt5\\}"), "\\{1\\pm\\sqrt{5},-2\\}", True),
    Case(
        "structures",
        _box("\\begin{pmatrix} -1 & 0 \\\\ 0 & -1 \\end{pmatrix}"),
        "\\begin{pmatrix} -1 & 0 \\\\ 0 & -1 \\end{pmatrix}",
        True,
    ),
    Case(
        "structures",
        _box("\\begin{pmatrix} 1 & 0 \\\\ 0 & -1 \\end{pmatrix}"),
        "\\begin{pmatrix} -1 & 0 \\\\ 0 & -1 \\end{pmatrix}",
        False,
    ),
    Case(
        "structures",
        _box("\\begin{pmatrix} -\\frac13 \\\\ \\frac23 \\\\ \\frac53 \\end{pmatrix}"),
        "\\begin{pmatrix} -1/3 \\\\ 2/3 \\\\ 5/3 \\end{pmatrix}",
        True,
    ),
    Case("structures", _box("(1,-16,-4,43)"), "(1,-16,-4,43)", True),
    Case("structures", _box("(1,-16,-4,42)"), "(1,-16,-4,43)", False),
    Case(
        "structures",
        _box("\\left(\\frac35, \\frac83\\right]"),
        "\\left(\\frac{3}{5},\\frac{8}{3}\\right]",
        True,
    ),
    Case("structures", _box("(2, 12) \\cup (12, 102)"), "(2,12) \\cup (12,102)", True),
    # --- equations / expressions ----------------------------------------------------------
    Case("equations", _box("f(x) = 2x+1"), "2x+1", True),
    Case("equations", _box("y = \\frac{1}{2}x + 3"), "y = 0.5x+3", True),
    Case("equations", _box("y = 2x + 3"), "y = 2x + 3", True),
    Case("equations", _box("y=3+2x"), "y = 2x + 3", True),
    Case("equations", _box("y = 3x + 2"), "y = 2x + 3", False),
    Case("equations", _box("y = -2x"), "y = -2x", True),
    Case(
        "equations", _box("-5x + 7y - 11z - 4 = 0"), "5x - 7y + 11z + 4 = 0", True, "scaled by -1"
    ),
    Case("equations", _box("5x - 7y + 11z - 4 = 0"), "5x - 7y + 11z + 4 = 0", False),
    Case("equations", _box("(x+1)^2"), "x^2+2x+1", True),
    Case("equations", _box("x^2+2x-1"), "x^2+2x+1", False),
    Case("equations", _box("-q + p"), "p - q", True),
    Case("equations", _box("q - p"), "p - q", False),
    Case("equations", _box("2(3r^2-2r-12)"), "6r^2-4r-24", True),
    Case("equations", _box("x^3+3x+6"), "x^3+3x-6", False),
    Case("equations", _box("\\frac{9a+11}{20}"), "\\frac{11+9a}{20}", True),
    Case("equations", _box("ab+2a+5b+10"), "(a+5)(b+2)", True),
    Case("equations", _box("8n^2+4n+1"), "8n^2 + 4n + 1", True),
    Case("equations", _box("3R^2"), "3R^2", True),
    Case("equations", _box("\\frac{\\cos x}{\\sin x}"), "\\cot x", True),
    Case("equations", _box("2k+2"), "2k+2", True),
    Case("equations", _box("2(k+1)"), "2k+2", True),
    # --- text / units / percent / degrees -------------------------------------------------
    Case("text_units", _box("1.5 \\text{ hours}"), "1.5", True),
    Case("text_units", _box("\\text{No}"), "\\text{no}", True),
    Case("text_units", _box("(A)"), "A", True),
    Case("text_units", _box("\\text{Evelyn}"), "\\text{Evelyn}", True),
    Case("text_units", _box("Evelyn"), "\\text{Evelyn}", True),
    Case("text_units", _box("\\text{Navin}"), "\\text{Evelyn}", False),
    Case("text_units", _box("\\text{East}"), "\\text{east}", True),
    Case("text_units", _box("\\text{(C)}"), "\\text{(C)}", True),
    Case("text_units", _box("\\textbf{(C)}"), "\\text{(C)}", True),
    Case("text_units", _box("\\text{(D)}"), "\\text{(C)}", False),
    Case("text_units", _box("50\\%"), "50", True),
    Case("text_units", _box("25\\%"), "30", False),
    Case("text_units", _box("30^\\circ"), "30", True),
    Case("text_units", _box("30"), "30^\\circ", True),
    Case("text_units", _box("120^{\\circ}"), "120^\\circ", True),
    Case("text_units", _box("60^\\circ"), "120^\\circ", False),
    Case("text_units", _box("15 \\text{ cm}^2"), "15\\mbox{ cm}^2", True),
    Case("text_units", _box("15"), "15\\mbox{ cm}^2", True),
    Case("text_units", _box("864"), "864 \\mbox{ inches}^2", True),
    Case("text_units", _box("\\$18.90"), "\\$18.90", True),
    Case("text_units", _box("18.90"), "\\$18.90", True),
    Case("text_units", _box("18.9"), "\\$18.90", True),
    Case("text_units", _box("19.80"), "\\$18.90", False),
    Case("text_units", _box("5.4"), "5.4 \\text{ cents}", True),
    Case("text_units", _box("32,348"), "\\$32,\\!348", True),
    Case("text_units", _box("\\frac{270}{7}"), "\\frac{270}7\\text{ degrees}", True),
    Case("text_units", _box("2516_8"), "2516_8", True),
    Case("text_units", _box("4210_{5}"), "4210_{5}", True),
    Case("text_units", _box("4211_5"), "4210_{5}", False),
    # --- false-positive traps -------------------------------------------------------------
    Case("traps", _box("\\frac{1}{2004!}"), "\\frac{1}{2006!}", False, "Math-Verify rounds"),
    Case("traps", _box("\\frac{1}{2006!}"), "\\frac{1}{2006!}", True),
    Case("traps", _box("1.0000001"), "1", False),
    Case("traps", _box("3.14"), "\\pi", False),
    Case("traps", _box("\\frac{355}{113}"), "\\pi", False),
    Case("traps", _box("10^{-7}"), "0", False),
    Case("traps", _box("2^{100}"), "2^{100}+1", False),
    Case("traps", _box("1.41421"), "\\sqrt{2}", False),
    Case("traps", _box("0.999"), "1", False),
    Case("traps", _box("0.33"), "\\frac{1}{3}", False),
    Case("traps", _box("\\frac{1}{10^{10}}"), "0", False),
    Case("traps", _box("100000000000000000001"), "100000000000000000000", False),
    Case("traps", _box("\\frac{1000001}{1000000}"), "1", False),
    Case("traps", _box("e^{\\pi\\sqrt{163}}"), "262537412640768744", False, "near-integer"),
    Case("traps", _box("\\sqrt{10001}"), "100", False),
    Case("traps", _box("\\frac{2006!}{2004!}"), "4022030", True),
    # --- malformed ------------------------------------------------------------------------
    Case("malformed", _box("\\frac12"), "\\frac{1}{2}", True),
    Case("malformed", _box("\\frac 34"), "\\frac{3}{4}", True),
    Case("malformed", _box("\\sqrt2"), "\\sqrt{2}", True),
    Case("malformed", _box("{5}"), "5", True),
    Case("malformed", _box(" 5 "), "5", True),
    Case("malformed", _box("5."), "5", True),
    Case("malformed", _box("\\,-\\,3"), "-3", True),
    Case("malformed", _box("\\textbf{5}"), "5", True),
    Case("malformed", "\\boxed{}", "0", False, "empty box"),
    Case("malformed", "", "5", False, "empty response"),
    Case("malformed", "I could not solve this problem.", "5", False),
    Case("malformed", _box("\\frac{1}{0}"), "1", False),
    Case("malformed", "So $x = \\frac{1}{2}$.", "\\frac12", True, "final inline math"),
    Case("malformed", "The answer is \\(\\frac{3}{4}\\).", "0.75", True),
    Case("malformed", _box("\\left(1, 2\\right)"), "(1,2)", True),
    # --- extraction from raw generations -----------------------------------------------------
    Case(
        "extraction",
        "x + y = 7 and x - y = 1, so x = 4. Final Answer: The final answer is "
        "$\\frac{3}{4}$. I hope it is correct.",
        "0.75",
        True,
    ),
    Case(
        "extraction",
        "We found $x = 3$ above. Therefore, there are 12 ways to arrange them.",
        "12",
        True,
    ),
    Case("extraction", "Adding the tax, the total cost is \\$18.90.", "18.90", True),
    Case("extraction", "**Answer:** $\\boxed{7}$", "7", True),
    Case("extraction", "The answer is: 120", "120", True),
    Case(
        "extraction",
        "First the interest is $\\boxed{255}$, so the balance is 10,455. "
        "Final Answer: The final answer is $10,455$. I hope it is correct.",
        "10455",
        True,
        "a later final answer beats an earlier box",
    ),
    Case(
        "extraction",
        "<think>6 times 7 is 42.</think> The answer is $\\boxed{42}$<|im_end|>",
        "42",
        True,
    ),
    Case("extraction", "So the probability is 2/3.", "\\frac{2}{3}", True),
    Case("extraction", "Answer: The largest $n$ is 34.", "34", True),
    Case("extraction", "Maybe the answer is 5. Let me re-check... no. The answer is 6.", "6", True),
    Case(
        "extraction", "Maybe the answer is 5. Let me re-check... no. The answer is 6.", "5", False
    ),
    Case(
        "extraction",
        "Let me compute $17 \\times 3 = 51$. Now we still need to subtract the",
        "51",
        False,
        "truncated generation: no final answer",
    ),
    Case(
        "extraction",
        "There are 24 cases. In the first case we need 3 more steps before",
        "3",
        False,
        "truncated generation: no final answer",
    ),
    # --- real answer styles (docs/answers.md, "Extraction") -------------------------------
    Case(
        "styles",
        "Therefore, the answer is $100 + 13 = \\boxed{\\textbf{(113) }}$.\n~A. Author",
        "113",
        True,
        "AoPS AIME box",
    ),
    Case("styles", "so $d = \\boxed{\\textbf{(073)}}.$\n\n-B. Author", "73", True, "AoPS AIME box"),
    Case("styles", "so $d = \\boxed{\\textbf{(073)}}.$", "37", False),
    Case(
        "styles",
        "$d = \\boxed{15\\frac{39}{40}},$ or $\\boxed{\\frac{639}{40}}$ inches.",
        "\\frac{639}{40}",
        True,
        "two boxes restate one answer",
    ),
    Case(
        "styles",
        "$d = \\boxed{15\\frac{39}{40}},$ or $\\boxed{\\frac{639}{40}}$ inches.",
        "15",
        False,
    ),
    Case("styles", "so $x = \\boxed{3}$, or $\\boxed{4}$", "3", False, "boxes that disagree"),
    Case(
        "styles",
        "Therefore $17^{-1}\\equiv \\boxed{44}\\pmod{83}$.\n\nWe may check our answer: "
        "$17\\cdot 44 = 748 \\equiv 1\\pmod{83}$, so our answer is correct.",
        "44",
        True,
        "a phrase after the box that states no answer",
    ),
    Case(
        "styles",
        "So the result is $\\boxed{12}$. Please put your final answer within \\boxed{}.",
        "12",
        True,
    ),
    Case(
        "styles",
        "Then $s = 3.75$, so t = 24. $180 + 24 = 204$.",
        "204",
        True,
        "an unboxed final computation",
    ),
    Case("styles", "Then $s = 3.75$, so t = 24. $180 + 24 = 204$.", "24", False),
    Case("styles", "因此，她开始慢跑前的体重是192公斤。", "192", True, "Chinese conclusion"),
    Case(
        "styles",
        "答案：每份应该是 (\\frac{2}{5}) 吨。",
        "\\frac{2}{5}",
        True,
        "Chinese answer word",
    ),
    Case("styles", "Donc, il a déjà 79 g de cire.", "79", True, "French conclusion"),
    Case("styles", "La réponse est 2,74.", "2.74", True, "decimal comma"),
    Case("styles", "Réponse : il restera 220 $ à payer d'ici 12 mois.", "220", True),
    Case("styles", "لذا، الناتج هو **92**.", "92", True, "Arabic conclusion"),
    Case("styles", "इसलिए, दुकान में अब 67 कमीजें हैं।", "67", True, "Hindi conclusion"),
    Case("styles", "The answer is x0", "0", False, "a digit glued to a word"),
    Case("styles", "The answer is in /tmp/pytest-0/case0", "0", False, "a digit in a path"),
    Case(
        "styles",
        "The final answer is $\\boxed{p=5,q=2;\\ p=7,q=2}$",
        "(5,2),(7,2)",
        True,
        "several solutions as assignments",
    ),
    # --- reasoning traces (issue 21 section 2; styles named in TRACES and GSM8K) -----------
    Case(
        "traces",
        "Okay, so I need the largest x with 2x + 1 <= 12. Subtracting 1 gives 2x <= 11, so "
        "x <= 11/2. Checking x = 11/2: 2(11/2) + 1 = 12, fine. So 11/2 is the answer.\n\n"
        "**Final Answer**\nThe largest possible value of \\( x \\)",
        "\\frac{11}{2}",
        True,
        "a Final Answer header followed by a description: the value stated before counts",
        TRACES,
    ),
    Case(
        "traces",
        "Okay, so I need the largest x with 2x + 1 <= 12. Hmm, I first wrote 2x <= 10, so "
        "5 is the answer.\n\n**Final Answer**\nThe largest possible value of \\( x \\)",
        "\\frac{11}{2}",
        False,
        "the value stated before the header is the answer, and it is wrong",
        TRACES,
    ),
    Case(
        "traces",
        "Let me add the minutes again: 180 for the walk and 24 in the shop, 180 + 24 = 204. "
        "Yes, 204 is the answer.\n\n**Final Answer**\nThe",
        "204",
        True,
        "a header cut after one word",
        TRACES,
    ),
    Case(
        "traces",
        "Wait, let me recount. The blue marbles are 7 and the red ones 5, so the answer "
        "should be 12. Let me just double-check that no marble was counted twice. Blue: 7",
        "12",
        True,
        "'the answer should be' is an answer phrase",
        TRACES,
    ),
    Case(
        "traces",
        "Wait, let me recount. The blue marbles are 7 and the red ones 5, so the answer "
        "should be 12. Let me just double-check that no marble was counted twice. Blue: 7",
        "13",
        False,
        "'the answer should be' is an answer phrase",
        TRACES,
    ),
    Case(
        "traces",
        "Hmm, so the angle at C comes out as 60 degrees, and the answer is 60. But if the "
        "answer is 90 degrees, that would be surprising, since nothing here is a right angle",
        "60",
        True,
        "a hypothetical is no final answer",
        TRACES,
    ),
    Case(
        "traces",
        "Hmm, so the angle at C comes out as 60 degrees, and the answer is 60. But if the "
        "answer is 90 degrees, that would be surprising, since nothing here is a right angle",
        "90",
        False,
        "a hypothetical is no final answer",
        TRACES,
    ),
    Case(
        "traces",
        "Both cases together give 15 + 27 = 42 arrangements, so the answer is 42.\n\n"
        "**Final Answer**\n\\[\n\\boxed{",
        "42",
        True,
        "a trace cut inside an unclosed box: the phrase before it counts",
        TRACES,
    ),
    Case(
        "traces",
        "Both cases together give 15 + 27 = 42 arrangements, so the answer is 42.\n\n"
        "**Final Answer**\nThe final answer is $\\boxed{",
        "42",
        True,
        "an unclosed box after a second answer phrase",
        TRACES,
    ),
    Case(
        "traces",
        "Both cases together give 15 + 27 = 42 arrangements, so the answer is 42.\n\n"
        "**Final Answer**\n\\[\n\\boxed{",
        "41",
        False,
        "a trace cut inside an unclosed box: the phrase before it counts",
        TRACES,
    ),
    Case(
        "traces",
        "Alright, the three ratios agree, so the probability is 3/4.\n\n**Final Answer**\n"
        "\\[\n\\boxed{\\dfrac{3}{4}}\n\\]",
        "0.75",
        True,
        "a closed box under the header",
        TRACES,
    ),
    Case(
        "traces",
        "So every odd number works and the answer is $2N+1$.",
        "7",
        False,
        "an expression in a free variable for a numeric gold (no value)",
        TRACES,
    ),
    Case(
        "gsm8k",
        "She ends with 26 pens. \\boxed{26}",
        "She buys 3 packs of 12 pens, so 3*12 = <<3*12=36>>36 pens.\n"
        "She gives 10 away, so 36-10 = <<36-10=26>>26 pens are left.\n#### 26",
        True,
        "a GSM8K gold is the number after ####",
        GSM8K,
    ),
    Case(
        "gsm8k",
        "She has 36 pens. \\boxed{36}",
        "She buys 3 packs of 12 pens, so 3*12 = <<3*12=36>>36 pens.\n"
        "She gives 10 away, so 36-10 = <<36-10=26>>26 pens are left.\n#### 26",
        False,
        "a GSM8K gold is the number after ####",
        GSM8K,
    ),
    Case(
        "gsm8k",
        "The total is 1,250 dollars.",
        "Each of the 5 months costs 250, so 5*250 = <<5*250=1250>>1250.\n#### 1,250",
        True,
        "a GSM8K gold with a thousands separator",
        GSM8K,
    ),
    # --- hostile --------------------------------------------------------------------------
    Case("hostile", _box("__import__('os').system('echo pwned')"), "0", False),
    Case("hostile", "__import__('os').system('echo pwned')", "0", False),
    Case("hostile", _box("9^{9^{9^9}}"), "5", False, "power tower"),
    Case("hostile", _box("10^{10^{10}}!"), "1", False),
    Case("hostile", _box("100000!"), "5", False),
    Case("hostile", _box("2^{2^{2^{2^{2^{2}}}}}"), "2", False),
    Case(
        "hostile", "\\boxed{" + "{" * 20_000 + "1" + "}" * 20_000 + "}", "1", False, "100 kB braces"
    ),
    Case("hostile", "{" * 50_000 + "\\boxed{7}", "7", True, "junk then answer"),
    Case("hostile", _box("\\frac{1}{" * 60 + "2" + "}" * 60), "1", False, "deep fractions"),
    Case("hostile", _box("x^{100000}"), "x", False),
    Case("hostile", _box("\\sin(10^{100})+\\cos(x)^{10^5}"), "0", False),
    Case("hostile", "." * 50_000 + " The answer is 3", "3", True),
]
