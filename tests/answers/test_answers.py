"""Tests of the answer grader (harness_ext.answers): extraction, equality rules, safety, limits.

The rules are in docs/answers.md; the worker's own safety and determinism are in
tests/answers/test_answers_worker.py, the extraction of real answer styles in
tests/answers/test_answers_extract.py.
"""

from __future__ import annotations

import builtins
import concurrent.futures
import json
import logging
import multiprocessing
import subprocess
import sys
from pathlib import Path

import pytest

from harness_ext import answers
from harness_ext.answers import (
    Verdict,
    answers_equal,
    check,
    check_answer,
    extract_answer,
    grade,
    is_correct,
)

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).parents[2].parent / "shared" / "data"
sys.path.insert(0, str(ROOT / "benchmarks"))
from answer_cases import CASES  # noqa: E402


def boxed(answer: str) -> str:
    return f"Some reasoning.\n\nThe final answer is $\\boxed{{{answer}}}$."


# ----------------------------------------------------------------------------------------------
# Extraction
# ----------------------------------------------------------------------------------------------

EXTRACTION = [
    ("so $\\boxed{33}$", "33"),
    ("\\boxed{\\frac{1}{2}}", "\\frac{1}{2}"),
    ("\\boxed{\\left( 3, \\frac{\\pi}{2} \\right)}", "\\left( 3, \\frac{\\pi}{2} \\right)"),
    ("first \\boxed{1} then \\boxed{2}", "2"),
    ("\\fbox{7}", "7"),
    ("\\boxed 5.", "5"),
    ("\\boxed{\\boxed{9}}", "9"),
    ("\\boxed{1} and finally \\boxed{2", "1"),
    ("\\boxed{\\text{(C)}}", "\\text{(C)}"),
    ("\\boxed{a^{b^{c}}}", "a^{b^{c}}"),
    ("\\boxed{\\{1,2\\}}", "\\{1,2\\}"),
    ("The final answer is $\\frac{14}{3}$. I hope it is correct.", "\\frac{14}{3}"),
    ("The answer is 42.", "42"),
    ("The answer is 3 because 1+2=3.", "3"),
    ("**Final Answer:** 17", "17"),
    ("Answer: (C)", "(C)"),
    ("so 8 times 9 is\n#### 72", "72"),
    ("Final answer\n\n$x = 5$", "x = 5"),
    ("So $x = 5$.", "x = 5"),
    ("Hence \\(\\sqrt{2}\\).", "\\sqrt{2}"),
    ("Thus\n\\[ 12\\pi \\]", "12\\pi"),
    ("It costs $\\$18.90$", "\\$18.90"),
    ("033", "033"),
    ("x = 5.", "x = 5"),
    ("", None),
    ("   \n ", None),
    ("I could not solve this problem, and I tried many different approaches.", None),
    ("\\boxed{}", None),
    ("\\boxed{" * 1000, None),
    # several boxes that together are the answer; a later final answer beats an earlier box
    ("so \\boxed{2}, \\boxed{3}.", "2, 3"),
    ("$\\boxed{2}$ \\quad \\text{and} \\quad $\\boxed{-2}$", "2, -2"),
    ("\\boxed{2}. Later we see \\boxed{3}", "3"),
    ("the interest is \\boxed{255}. Final Answer: The final answer is $10,455$.", "10,455"),
    # raw generations: chat tokens, "I hope it is correct", prose endings
    ("The final answer is $5$. I hope it is correct. <|im_start|>user", "5"),
    ("Answer: The largest $n$ is 34.", "34"),
    ("Hence, there are 12 ways to do it.", "12"),
    ("So the probability is 2/3.", "2/3"),
    ("Therefore $x \\geq 5$ is the solution.", "x \\geq 5"),
    ("The value is $7$. I hope it is correct.", "7"),
    # a truncated generation states no answer, even if it contains numbers or math
    ("Let me compute $17 \\times 3 = 51$. Now we still need to subtract the", None),
    ("There are 5 apples and 3 oranges.", None),
    # a digit glued to a word or in a path is no answer; a plain zero still is
    ("The answer is x0", None),
    ("the final answer is test0.", None),
    ("The final answer is in /home/u0", None),
    ("The answer is in /tmp/pytest-0/test_x0/pwned", None),
    ("The answer is (0).", "(0)"),
    ("The answer is -0", "-0"),
]


@pytest.mark.parametrize("response, expected", EXTRACTION)
def test_extract_answer(response: str, expected: str | None) -> None:
    assert extract_answer(response) == expected


def test_extract_answer_rejects_non_strings() -> None:
    assert extract_answer(None) is None  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="response must be a str, got NoneType"):
        check(None, "1")  # type: ignore[arg-type]


# ----------------------------------------------------------------------------------------------
# Equality of extracted answers
# ----------------------------------------------------------------------------------------------

EQUAL = [
    # integers, leading zeros, separators
    ("033", "33"),
    ("0", "000"),
    ("1,000", "1000"),
    ("10,\\!080", "10080"),
    ("1{,}000", "1000"),
    ("11,\\! 111,\\! 111,\\! 100", "11111111100"),
    ("1\\,000", "1000"),
    ("42.0", "42"),
    ("+7", "7"),
    ("x = 5", "5"),
    ("5", "x=5"),
    ("n = 12", "12"),
    ("10^3", "1000"),
    # fractions, decimals, mixed numbers
    ("\\frac{1}{2}", "0.5"),
    ("0.5", "\\frac12"),
    ("1/2", "\\frac{1}{2}"),
    ("\\dfrac{3}{4}", "0.75"),
    ("\\tfrac34", "\\frac{3}{4}"),
    ("\\frac 34", "\\frac{3}{4}"),
    ("\\frac9{19}", "\\frac{9}{19}"),
    ("3\\frac{1}{2}", "\\frac{7}{2}"),
    ("137 \\frac{1}{2}", "137.5"),
    ("1\\frac{4}{5}", "1.8"),
    ("-3\\frac{1}{2}", "-3.5"),
    (".35625", "\\frac{57}{160}"),
    ("0.0000672", ".0000672"),
    ("6.72 \\times 10^{-5}", ".0000672"),
    ("\\frac{-3}{8}", "-\\frac{3}{8}"),
    ("\\frac{0.5}{2}", "\\frac14"),
    ("0.3333333333", "\\frac{1}{3}"),
    # radicals, pi, complex
    ("2\\sqrt3", "\\sqrt{12}"),
    ("\\sqrt{2}/2", "\\frac{\\sqrt2}{2}"),
    ("\\frac{1}{\\sqrt2}", "\\frac{\\sqrt{2}}{2}"),
    ("\\frac{1}{1+\\sqrt2}", "\\sqrt2-1"),
    ("\\sqrt{117}", "3\\sqrt{13}"),
    ("\\sqrt{\\frac{1}{2}}", "\\frac{\\sqrt2}{2}"),
    ("\\sqrt{8}\\sqrt{2}", "4"),
    ("(1+\\sqrt2)^2", "3+2\\sqrt2"),
    ("12\\pi", "12 \\pi"),
    ("\\pi 12", "12\\pi"),
    ("\\frac{20000}{\\pi}", "20000\\pi^{-1}"),
    ("\\frac{\\pi}{2}", "0.5\\pi"),
    ("2\\pi", "6.283185307179586"),
    ("-2+7i", "7i - 2"),
    ("\\frac{1}{i}", "-i"),
    ("\\sqrt{-4}", "2i"),
    ("i^2", "-1"),
    ("(1+i)^2", "2i"),
    ("8^{1/3}", "2"),
    ("4^{3/2}", "8"),
    ("27^{-2/3}", "\\frac19"),
    ("\\sqrt[3]{27}", "3"),
    ("\\sqrt[3]{-8}", "-2"),
    ("|-3|", "3"),
    ("\\left| -3 \\right|", "3"),
    ("\\lfloor 3.7 \\rfloor", "3"),
    ("5!", "120"),
    ("\\binom{5}{2}", "10"),
    ("\\dbinom{6}{3}", "20"),
    ("\\frac{2006!}{2004!}", "4022030"),
    # needs sympy (worker process)
    ("\\sin\\frac{\\pi}{6}", "\\frac12"),
    ("\\cos^2 x + \\sin^2 x", "1"),
    ("\\log_2 8", "3"),
    ("\\sqrt[3]{16}", "2\\sqrt[3]{2}"),
    ("e^{i\\pi}", "-1"),
    ("\\ln e^2", "2"),
    ("\\arctan 1", "\\frac{\\pi}{4}"),
    ("\\sqrt{2+\\sqrt3}", "\\frac{\\sqrt6+\\sqrt2}{2}"),
    ("\\frac{\\cos x}{\\sin x}", "\\cot x"),
    ("x^{1/2}", "\\sqrt{x}"),
    ("\\tan(\\pi/4)", "1"),
    # structures
    ("\\left( 3, \\frac{\\pi}{2} \\right)", "(3, \\pi/2)"),
    ("(1,2)", "\\left(1, 2\\right)"),
    ("\\{2,1\\}", "\\{1,2\\}"),
    ("1, 2", "\\{1,2\\}"),
    ("7, 5, 3", "3, 5, 7"),
    ("(-2, 1)", "-2,1"),
    ("[1,2)", "[1,2)"),
    ("(-\\infty, 3]", "(-\\infty,3]"),
    ("(1,2)", "(1,2)"),
    ("(3,\\infty)\\cup(-\\infty,2)", "(-\\infty, 2) \\cup (3, \\infty)"),
    ("[-2,7]", "x \\in [-2,7]"),
    ("x > 3", "(3,\\infty)"),
    ("x \\ge 3", "[3,\\infty)"),
    ("1 < x \\le 2", "(1,2]"),
    ("1+\\sqrt{19}, 1-\\sqrt{19}", "1 \\pm \\sqrt{19}"),
    ("\\{-2, 1+\\sqrt5, 1-\\sqrt5\\}", "\\{1\\pm\\sqrt{5},-2\\}"),
    (
        "\\begin{bmatrix} -1 & 0 \\\\ 0 & -1 \\end{bmatrix}",
        "\\begin{pmatrix} -1 & 0 \\\\ 0 & -1 \\end{pmatrix}",
    ),
    (
        "\\begin{pmatrix} -\\frac13 \\\\ \\frac23 \\\\ \\frac53 \\end{pmatrix}",
        "\\begin{pmatrix} -1/3 \\\\ 2/3 \\\\ 5/3 \\end{pmatrix}",
    ),
    ("(-1/3, 2/3, 5/3)", "\\begin{pmatrix} -1/3 \\\\ 2/3 \\\\ 5/3 \\end{pmatrix}"),
    ("\\emptyset", "\\{\\}"),
    # equations and expressions
    ("y = 2x + 3", "y=3+2x"),
    ("2x+3", "y = 2x + 3"),
    ("-5x + 7y - 11z - 4 = 0", "5x - 7y + 11z + 4 = 0"),
    ("2x+2y=2", "x+y=1"),
    ("2x+3 = y", "y = 2x+3"),
    ("(x+1)^2", "x^2+2x+1"),
    ("-q + p", "p - q"),
    ("ab+2a+5b+10", "(a+5)(b+2)"),
    ("\\frac{9a+11}{20}", "\\frac{11+9a}{20}"),
    ("a_1 + a_2", "a_2 + a_1"),
    ("\\frac{x^2-1}{x-1}", "x+1"),
    ("f(x) = 2x+1", "2x+1"),
    ("(p,q) = (3,2)", "(3,2)"),
    ("\\frac{NO}{BO} = \\frac{1}{\\sqrt6}", "\\frac{1}{\\sqrt{6}}"),
    ("|AB| = 1", "1"),
    ("7:32", "14:64"),
    ("x = 5+5+1 = 11", "x = 11"),
    ("x = \\frac13 \\approx 0.33", "x = 1/3"),
    ("5+5+1 = 11", "11"),
    ("-x > -1", "x < 1"),
    ("2x \\le 4", "x <= 2"),
    ("x != 3", "x \\neq 3"),
    ("0 < f(x) < 1", "(0,1)"),
    ("(3, 37), (3, 17), (3, 17)", "(3,17),(3,37)"),
    ("\\\\frac{1}{2}", "0.5"),
    ("\\theta + \\theta", "2\\theta"),
    # an equation's value against a value (Math-Verify's rule): "a+b = 7" states that a+b is 7
    ("2x+3 = 7", "7"),
    ("x + y = 5", "5"),
    # several solutions as groups of assignments; decimal commas; 0.1 + 0.2 as written
    ("p=5,q=2;p=7,q=2", "p = 5, q = 2 \\text{ and } p = 7, q = 2"),
    ("(5,2),(7,2)", "p=5,q=2;p=7,q=2"),
    ("2,74", "2.74"),
    ("0,111", "0.111"),
    ("1000,99", "1000.99"),
    ("0.1 + 0.2", "0.3"),
    (
        "\\begin{pmatrix}1 & 2 \\\\ 3 & 4\\end{pmatrix} + \\begin{pmatrix}5 & 6 \\\\ 7 & 8\\end{pmatrix}",
        "\\begin{pmatrix}6 & 8 \\\\ 10 & 12\\end{pmatrix}",
    ),
    # text, choices, units, percent, degrees, money, bases
    ("\\text{Evelyn}", "Evelyn"),
    ("\\text{East}", "\\text{east}"),
    ("\\text{(C)}", "(C)"),
    ("C", "\\text{(C)}"),
    ("\\textbf{(C)}", "\\text{(C)}"),
    ("\\textbf{(C)}\\ 42", "\\text{(C)}"),
    ("\\textbf{(C)}\\ 42", "42"),
    ("\\textbf{5}", "5"),
    ("50\\%", "50"),
    ("50\\%", "0.5"),
    ("0.5", "50\\%"),
    ("50%", "50\\%"),
    ("12.5 percent", "\\frac{1}{8}"),
    ("30^\\circ", "30"),
    ("30", "30^\\circ"),
    ("30^{\\circ}", "30°"),
    ("30^\\circ", "\\frac{\\pi}{6}"),
    ("-\\frac{\\pi}{6}", "-30^\\circ"),
    ("\\frac{270}{7}", "\\frac{270}7\\text{ degrees}"),
    ("15 \\text{ cm}^2", "15\\mbox{ cm}^2"),
    ("864", "864 \\mbox{ inches}^2"),
    ("5.4", "5.4 \\text{ cents}"),
    ("10 dollars", "10"),
    ("\\$18.90", "18.9"),
    ("32,348", "\\$32,\\!348"),
    ("2516_8", "2516_{8}"),
    ("2516", "2516_8"),
    ("1010_2", "12_8"),
    # unicode
    ("\u22125", "-5"),
    ("\u00bd", "0.5"),
    ("\u221a2", "\\sqrt{2}"),
    ("2\u03c0", "2\\pi"),
    ("30\u00b0", "30"),
    ("x\u00b2+1", "x^2+1"),
    ("\uff13\uff13", "33"),
    ("3\u00bd", "3.5"),
    ("\u221e", "\\infty"),
]

NOT_EQUAL = [
    ("34", "33"),
    ("-5", "5"),
    ("12", "1,2"),
    ("\\frac{1}{3}", "\\frac{1}{2}"),
    ("0.333", "\\frac{1}{3}"),
    ("4.67", "\\frac{14}{3}"),
    ("3.14", "\\pi"),
    ("\\frac{355}{113}", "\\pi"),
    ("1.41421", "\\sqrt2"),
    ("\\frac{1}{2004!}", "\\frac{1}{2006!}"),
    ("1/2004!", "1/2006!"),
    ("2004!", "2006!"),
    ("10^{-7}", "0"),
    ("\\frac{1}{10^{10}}", "0"),
    ("0", "10^{-100}"),
    ("2^{100}", "2^{100}+1"),
    ("1.0000001", "1"),
    ("100000000000000000001", "100000000000000000000"),
    ("0.1 + 0.2", "0.3000000001"),
    ("e^{\\pi\\sqrt{163}}", "262537412640768744"),
    ("\\sqrt{5}", "\\sqrt{6}"),
    ("\\sqrt{2}+\\sqrt{3}", "\\sqrt{5}"),
    ("2-7i", "-2+7i"),
    ("i", "-i"),
    ("(2,1)", "(1,2)"),
    ("[1,2]", "[1,2)"),
    ("(1,2)", "[1,2)"),
    ("3, 5", "3, 5, 7"),
    ("1+\\sqrt{19}", "1 \\pm \\sqrt{19}"),
    ("y = 3x + 2", "y = 2x + 3"),
    ("x = 5", "y = 5"),
    ("q - p", "p - q"),
    ("3r^2", "3R^2"),
    ("x^2+2x-1", "(x+1)^2"),
    ("\\sqrt{x^2}", "x"),
    ("\\text{Navin}", "\\text{Evelyn}"),
    ("\\text{(D)}", "\\text{(C)}"),
    ("A", "\\text{(B)}"),
    ("25\\%", "30"),
    ("60^\\circ", "\\frac{\\pi}{6}"),
    ("1358", "2516_8"),
    ("4211_5", "4210_5"),
    (
        "\\begin{pmatrix} 1 & 0 \\\\ 0 & -1 \\end{pmatrix}",
        "\\begin{pmatrix} -1 & 0 \\\\ 0 & -1 \\end{pmatrix}",
    ),
    (
        "\\begin{pmatrix} 1 & 2 & 3 & 4 \\end{pmatrix}",
        "\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}",
    ),
    ("\\frac{1}{0}", "1"),
    ("0^{-1}", "1"),
    ("", "0"),
    ("x", "\\text{x-axis}"),
    ("\\infty", "-\\infty"),
    ("\\sin x", "\\cos x"),
    ("\\log_2 8", "4"),
    ("-x > -1", "x > 1"),
    ("x < 1", "x \\le 1"),
    ("a_{(x)}", "a"),
    ("\\theta", "\\phi"),
    ("1,5", "1.5"),
    ("1,234", "1.234"),
    ("32, 349", "32349"),
    ("0.1 + 0.2", "0.3000000001"),
    ("x \\approx 11", "12"),
    ("\\frac{1}{2004!} + 1", "\\frac{1}{2006!} + 1"),
]


@pytest.mark.parametrize("pred, gold", EQUAL)
def test_equal(pred: str, gold: str) -> None:
    assert answers_equal(pred, gold)


@pytest.mark.parametrize("pred, gold", NOT_EQUAL)
def test_not_equal(pred: str, gold: str) -> None:
    assert not answers_equal(pred, gold)


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.category}:{c.response[-40:]!r}"[:90])
def test_shared_benchmark_cases(case) -> None:
    assert is_correct(case.response, case.gold) == case.expected


def test_gold_with_a_box_is_extracted_too() -> None:
    assert is_correct("\\boxed{4}", "so the answer is $\\boxed{4}$")


# ----------------------------------------------------------------------------------------------
# Verdicts, reasons and the AIME rule
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "response, gold, extracted, correct, reason",
    [
        (boxed("033"), "33", "033", True, "exact"),
        (boxed("0.3333333333"), "\\frac13", "0.3333333333", True, "numeric"),
        (boxed("2\\sqrt3"), "\\sqrt{12}", "2\\sqrt3", True, "symbolic"),
        (boxed("\\sin\\frac{\\pi}{6}"), "\\frac{1}{2}", "\\sin\\frac{\\pi}{6}", True, "symbolic"),
        (boxed("3.14159265359"), "\\pi", "3.14159265359", True, "numeric"),
        (
            boxed("\\sqrt{2+\\sqrt3}"),
            "\\frac{\\sqrt6+\\sqrt2}{2}",
            "\\sqrt{2+\\sqrt3}",
            True,
            "numeric",
        ),
        (boxed("34"), "33", "34", False, "mismatch"),
        (
            "No idea, sorry, I tried many approaches and none of them worked out.",
            "33",
            None,
            False,
            "no_answer",
        ),
        (boxed("9^{9^{9^9}}"), "5", "9^{9^{9^9}}", False, "refused"),
        (boxed("__import__('os')"), "0", "__import__('os')", False, "parse_error"),
    ],
)
def test_check_reasons(
    response: str, gold: str, extracted: str | None, correct: bool, reason: str
) -> None:
    assert check(response, gold) == Verdict(extracted, correct, reason)


def test_verdict_is_frozen() -> None:
    verdict = check(boxed("1"), "1")
    with pytest.raises(AttributeError):
        verdict.correct = False  # type: ignore[misc]


@pytest.mark.parametrize(
    "answer, correct, reason",
    [
        ("033", True, "exact"),
        ("33", True, "exact"),
        ("x = 33", True, "exact"),
        ("33.0", True, "exact"),
        ("\\frac{66}{2}", True, "exact"),
        ("34", False, "mismatch"),
        ("1033", False, "out_of_range"),
        ("-33", False, "out_of_range"),
        ("33.5", False, "out_of_range"),
        ("\\sqrt{2}", False, "out_of_range"),
        ("\\text{thirty-three}", False, "out_of_range"),
    ],
)
def test_aime_integer_range(answer: str, correct: bool, reason: str) -> None:
    verdict = check(boxed(answer), "33", integer_range=(0, 999))
    assert (verdict.correct, verdict.reason) == (correct, reason)
    assert is_correct(boxed(answer), "33", integer_range=(0, 999)) == correct


def test_aime_string_compare_pitfall_is_fixed() -> None:
    assert is_correct("\\boxed{033}", "33", integer_range=(0, 999))
    assert is_correct("\\boxed{0}", "0", integer_range=(0, 999))
    assert not is_correct("\\boxed{999}", "99", integer_range=(0, 999))


def test_timeouts_are_logged_ungraded_and_count_as_wrong(monkeypatch, caplog) -> None:
    answers.warm_up()
    answers.clear_cache()
    monkeypatch.setattr(grade, "WORK_LIMIT", 10)  # the worker's child is ended at once
    with caplog.at_level(logging.WARNING, logger="harness_ext.answers"):
        verdict = check(boxed("\\cos(x)^2 + \\sin(x)^2 + 0"), "1")
    assert verdict == Verdict("\\cos(x)^2 + \\sin(x)^2 + 0", False, "timeout")
    assert verdict.ungraded and not verdict.correct
    assert not check(boxed("5"), "4").ungraded
    assert any("used up its" in r.getMessage() for r in caplog.records)
    monkeypatch.undo()
    assert check(boxed("\\cos(x)^2 + \\sin(x)^2 + 0"), "1").correct  # timeouts are not cached


def test_check_answer_grades_an_extracted_answer() -> None:
    assert check_answer("033", "33") == Verdict("033", True, "exact")
    assert check_answer("34", "33").reason == "mismatch"
    assert check_answer("", "33") == Verdict("", False, "no_answer")
    assert check_answer("1033", "33", integer_range=(0, 999)).reason == "out_of_range"
    assert check_answer("\\textbf{(033)}", "33", integer_range=(0, 999)).correct


# ----------------------------------------------------------------------------------------------
# Safety: hostile text, bounded time, no code execution
# ----------------------------------------------------------------------------------------------


def _payloads(marker: Path) -> list[str]:
    cmd = f"touch {marker}"
    return [
        f"__import__('os').system('{cmd}')",
        f'\\boxed{{__import__("os").system("{cmd}")}}',
        f"The answer is __import__('os').system('{cmd}')",
        f"\\boxed{{\\text{{__import__('os').system('{cmd}')}}}}",
        f"\\boxed{{eval(\"__import__('os').system('{cmd}')\")}}",
        f"\\boxed{{exec('import os; os.system(\"{cmd}\")')}}",
        f"\\boxed{{\\operatorname{{__import__}}('os').system('{cmd}')}}",
        f"$\\sin(__import__('os').system('{cmd}'))$",
        f"\\boxed{{(lambda: __import__('os').system('{cmd}'))()}}",
        f"\\boxed{{Symbol('x').__class__.__init__.__globals__['os'].system('{cmd}')}}",
    ]


@pytest.mark.integration  # 9 s under load
def test_model_text_is_never_executed(tmp_path: Path, monkeypatch) -> None:
    """In this process (the spy below) and in the worker process, where Math-Verify runs
    (its audit file: no refused call, and only sympy's own code templates are executed)."""
    marker = tmp_path / "pwned"
    audit = tmp_path / "audit.jsonl"
    answers.shutdown()
    monkeypatch.setenv("SPARKS_ANSWERS_AUDIT", str(audit))
    answers.warm_up()
    answers.clear_cache()
    calls: list[str] = []
    real_eval, real_exec = builtins.eval, builtins.exec

    def spy(name, real):
        def wrapped(*args, **kwargs):
            calls.append(name)
            return real(*args, **kwargs)

        return wrapped

    monkeypatch.setattr(builtins, "eval", spy("eval", real_eval))
    monkeypatch.setattr(builtins, "exec", spy("exec", real_exec))
    for payload in _payloads(marker):
        for gold in ("0", "x", "\\sin(x)", "\\frac{1}{2}"):
            assert not is_correct(payload, gold)
            assert not answers_equal(payload, gold)
    monkeypatch.undo()
    answers.shutdown()  # the next check starts a worker without the audit
    assert not marker.exists()
    assert calls == []
    records = (
        [json.loads(line) for line in audit.read_text().splitlines()] if audit.exists() else []
    )
    assert [r for r in records if r["call"] in ("parse_expr", "eval_expr")] == []
    assert {r["caller"] for r in records} <= {"sympy.polys.monomials"}
    assert not any("import" in r["source"] or "system" in r["source"] for r in records)


HOSTILE = [
    "\\boxed{" + "{" * 50_000 + "1" + "}" * 50_000 + "}",
    "{" * 100_000,
    "\\boxed{" * 20_000,
    "." * 100_000 + "x",
    "The answer is " + "$" * 50_000,
    "\\boxed{10^{10^{10}}!}",
    "\\boxed{(10^{10^{10}})!}",
    "\\boxed{9^{9^{9^9}}}",
    "\\boxed{2^{2^{2^{2^{2^{2}}}}}}",
    "\\boxed{2^{-2^{1000}}}",
    "\\boxed{100000!}",
    "\\boxed{\\binom{10^{9}}{5}}",
    "\\boxed{1" + "0" * 5_000 + "}",
    "\\boxed{" + "\\frac{1}{" * 300 + "2" + "}" * 300 + "}",
    "\\boxed{" + "\\frac{1}{1+" * 30 + "1" + "}" * 30 + "}",
    "\\boxed{" + "\\sqrt{" * 40 + "2" + "}" * 40 + "}",
    "\\boxed{" + "(" * 500 + "1" + ")" * 500 + "}",
    "\\boxed{x^{100000}}",
    "\\boxed{(x+1)^{1000}}",
    "\\boxed{(x+y+z+1)^{60}}",
    "\\boxed{e^{e^{e^{e^{10}}}}}",
    "\\boxed{\\sin(10^{100}) + \\cos(x)^{10^{5}}}",
    "\\boxed{" + "+".join(f"\\sin({i}x)" for i in range(60)) + "}",
    "\\boxed{\\sin(\\sin(\\sin(\\sin(\\sin(\\sin(\\sin(\\sin(x))))))))}",
    "\\boxed{\\text{" + "a" * 5_000 + "}}",
    "\\boxed{" + "1," * 2_000 + "1}",
    "\\boxed{" + "\\pm 1" * 200 + "}",
    "\\boxed{\\tan(\\pi/2)}",
    "\\boxed{\\log_0 0}",
]


@pytest.fixture
def small_work_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """A tenth of the work limit and of the CPU backstop: the hostile answers below reach them
    either way (the mechanism is the same), and the suite does not spend minutes of CPU."""
    monkeypatch.setattr(grade, "WORK_LIMIT", grade.WORK_LIMIT // 10)
    monkeypatch.setattr(grade, "CPU_LIMIT_S", grade.CPU_LIMIT_S / 10)


@pytest.mark.integration  # 19 s under load
def test_hostile_inputs_are_bounded(small_work_limit) -> None:
    answers.warm_up()
    answers_equal("\\sin x", "\\sin(x) + 0")  # wait for the sympy worker once
    for response in HOSTILE:
        for gold in ("5", "\\frac{\\pi}{4}", "x", "1"):
            verdict = check(response, gold)
            assert isinstance(verdict, Verdict) and not verdict.correct, (response[:60], gold)


SLOW_FOR_SYMPY = [  # equal, but simplify() is slow: these run into the worker's CPU limit
    (boxed("\\sin(x)^{50}\\cos(x)^{50}"), "\\frac{\\sin(2x)^{50}}{2^{50}}"),
    (boxed("(\\sin x + \\cos x)^{30}"), "(1+\\sin 2x)^{15}"),
    (boxed("\\tan(x/2)^{8}"), "\\left(\\frac{1-\\cos x}{\\sin x}\\right)^8"),
]


def test_slow_symbolic_checks_are_cut_off_and_the_worker_recovers(small_work_limit) -> None:
    answers.warm_up()
    answers_equal("\\sin x", "\\sin(x) + 0")
    for response, gold in SLOW_FOR_SYMPY:
        verdict = check(response, gold)
        # a fast machine may finish: then the work decides (sympy may fail to prove equality)
        assert verdict.reason in ("timeout", "symbolic", "numeric", "mismatch")
        assert verdict.ungraded == (verdict.reason == "timeout")
    assert check(
        boxed("\\sin\\frac{\\pi}{6}"), "\\frac{1}{2}"
    ).correct  # killed children are replaced


def test_hostile_and_normal_calls_from_threads_at_once(small_work_limit) -> None:
    answers.warm_up()
    answers_equal("\\sin x", "\\sin(x) + 0")
    answers.clear_cache()
    fast = [
        (boxed("033"), "33", True),
        (boxed("\\frac{1}{2}"), "0.5", True),
        (boxed("1/2004!"), "1/2006!", False),
    ]
    jobs = (
        [(r, g, None) for r, g in SLOW_FOR_SYMPY]
        + [(r, g, None) for r in HOSTILE[:8] for g in ("5",)]
        + fast * 4
    )

    with concurrent.futures.ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda job: is_correct(job[0], job[1]), jobs))
    for (_, _, expected), ok in zip(jobs, results):
        if expected is not None:
            assert ok == expected


def test_junk_before_the_answer_is_fine() -> None:
    assert is_correct("{" * 50_000 + "\\boxed{7}", "7")
    assert is_correct("." * 50_000 + " The answer is 3", "3")


# ----------------------------------------------------------------------------------------------
# Threads, processes, import cost
# ----------------------------------------------------------------------------------------------

MIXED = [
    (boxed("033"), "33", True),
    (boxed("\\frac{1}{2}"), "0.5", True),
    (boxed("2\\sqrt3"), "\\sqrt{12}", True),
    (boxed("\\sin\\frac{\\pi}{6}"), "\\frac12", True),
    (boxed("\\tan\\frac{\\pi}{3}"), "\\sqrt3", True),
    (boxed("\\cos\\frac{\\pi}{3}"), "\\frac{\\sqrt3}{2}", False),
    (boxed("1/2004!"), "1/2006!", False),
    (boxed("9^{9^{9^9}}"), "5", False),
]


def test_calls_from_threads() -> None:
    answers.clear_cache()
    jobs = MIXED * 4
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda job: is_correct(job[0], job[1]), jobs))
    assert results == [job[2] for job in jobs]


@pytest.mark.integration  # spawns and forks processes
@pytest.mark.parametrize("method", ["spawn", "fork"])
def test_calls_from_worker_processes(method: str) -> None:
    if method not in multiprocessing.get_all_start_methods():
        pytest.skip(f"no {method} start method here")
    answers.warm_up()  # with fork, children inherit a running worker they must not use
    answers.clear_cache()  # ... and the caches: make them compute
    ctx = multiprocessing.get_context(method)
    responses, golds, expected = zip(*MIXED)
    if method == "fork":  # multiprocessing.Pool workers are daemonic: no multiprocessing children
        with ctx.Pool(2) as pool:
            results = pool.starmap(is_correct, zip(responses, golds))
    else:
        with concurrent.futures.ProcessPoolExecutor(2, mp_context=ctx) as pool:
            results = list(pool.map(is_correct, responses, golds))
    assert results == list(expected)


@pytest.mark.integration  # a fresh interpreter
def test_import_is_cheap_and_fast_paths_never_load_sympy() -> None:
    """The caller never imports sympy or Math-Verify: the fast paths need neither, and the rest
    runs in the worker process."""
    code = (
        "import sys; import harness_ext.answers as a; "
        "assert a.is_correct('\\\\boxed{033}', '33') and a.is_correct('\\\\boxed{2\\\\sqrt3}', '\\\\sqrt{12}'); "
        "print('sympy' in sys.modules or 'math_verify' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
        env={"PYTHONPATH": str(ROOT), "PATH": ""},
    ).stdout.split()
    assert out == ["False"]


# ----------------------------------------------------------------------------------------------
# Real gold answers
# ----------------------------------------------------------------------------------------------


def _golds(name: str) -> list[str]:
    path = DATA / f"{name}.jsonl"
    if not path.is_file():
        pytest.skip(f"{path} is missing (the shared data folder is not checked out here)")
    return [json.loads(line)["answer"] for line in path.read_text().splitlines() if line.strip()]


def test_math500_golds_match_themselves_quickly() -> None:
    golds = _golds("math500")
    answers.clear_cache()
    failures = [g for g in golds if not is_correct(f"\\boxed{{{g}}}", g)]
    failures += [g for g in golds if not is_correct(f"The final answer is ${g}$.", g)]
    assert failures == []


def test_math500_golds_parse_in_math_verify() -> None:
    """Every MATH-500 gold that is not a fast-path answer is read by Math-Verify (a gold and the
    same gold respaced are equal, so neither failed to parse)."""
    golds = _golds("math500")[::3]
    spaced = [(g, g.replace("{", "{ ")) for g in golds]
    failures = [
        (g, check_answer(s, g).reason)
        for g, s in spaced
        if s != g and not check_answer(s, g).correct
    ]
    assert failures == []


@pytest.mark.integration  # every MATH-500 gold: 10 s
def test_math500_distinct_golds_do_not_match() -> None:
    golds = _golds("math500")
    pairs = [(golds[i], golds[(7 * i + 3) % len(golds)]) for i in range(0, len(golds), 2)]
    wrong = [(a, b) for a, b in pairs if a != b and answers_equal(a, b)]
    assert wrong == []


@pytest.mark.parametrize("name", ["aime", "amc"])
def test_competition_golds_with_leading_zeros(name: str) -> None:
    for gold in _golds(name)[:400]:
        value = int(gold)
        assert is_correct(f"\\boxed{{{value:03d}}}" if value >= 0 else f"\\boxed{{{value}}}", gold)
        assert not is_correct(f"\\boxed{{{value + 1}}}", gold)
        if name == "aime":
            assert is_correct(f"\\boxed{{{value:03d}}}", gold, integer_range=(0, 999))
