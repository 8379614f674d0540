"""The Math-Verify worker (harness_ext.answers.worker): no code from model text, bounded work,
our numeric conventions, and verdicts that do not depend on the load.

The hardening patches sympy and latex2sympy2 process-wide, so it is tested in subprocesses
(as the worker runs it), never in the pytest process.
"""

from __future__ import annotations

import concurrent.futures
import json
import logging
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from harness_ext import answers
from harness_ext.answers import Verdict, check, check_answer, pool, worker

ROOT = Path(__file__).resolve().parents[2]


def _in_worker_process(code: str, tmp_path: Path) -> dict:
    """Run ``code`` in a fresh process prepared like the worker (with an audit file); the code
    sets ``out`` (a JSON-able dict), which is returned with the audit records."""
    audit = tmp_path / "audit.jsonl"
    script = (
        "import json, sys\n"
        "from harness_ext.answers import latex_patches, sandbox, symbolic, worker\n"
        "worker.prepare_process()\n" + code + "\nprint(json.dumps(out))\n"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT), SPARKS_ANSWERS_AUDIT=str(audit))
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    out["audit"] = (
        [json.loads(line) for line in audit.read_text().splitlines()] if audit.exists() else []
    )
    return out


@pytest.mark.integration  # a fresh interpreter
def test_the_worker_cannot_evaluate_text(tmp_path: Path) -> None:
    """After hardening, every way from text to ``eval`` through sympy and Math-Verify refuses:
    sympify of a string, parse_expr, Math-Verify's expression extraction, number tokens."""
    out = _in_worker_process(
        r"""
import sympy
from math_verify import parse, ExprExtractionConfig, LatexExtractionConfig
out = {}
for name, call in [
        ("sympify", lambda: sympy.sympify("__import__('os').getcwd()")),
        ("parse_expr", lambda: sympy.parsing.sympy_parser.parse_expr("1+1")),
        ("number", lambda: latex_patches.safe_number("__import__('os')")),
]:
    try:
        call()
        out[name] = "evaluated"
    except sandbox.CodeRefused:
        out[name] = "refused"
out["expr_config"] = [str(x) for x in parse("the answer is 1/2", [ExprExtractionConfig()],
                                             parsing_timeout=None)]
out["latex_numbers"] = [float(x) for x in parse("$\\frac{3}{4} + 0.25 + 1000$",
                                                [LatexExtractionConfig()],
                                                parsing_timeout=None) if not isinstance(x, str)]
""",
        tmp_path,
    )
    assert out["sympify"] == out["parse_expr"] == out["number"] == "refused"
    assert out["expr_config"] in ([], ["1/2"])  # only the raw string fallback, never evaluated
    assert out["latex_numbers"] == [1001.0]  # numbers are read without sympify
    assert {r["call"] for r in out["audit"]} <= {"parse_expr", "exec", "eval", "compile"}


CORPUS = [  # ordinary and hostile answers: none may reach eval/exec/compile except sympy's own
    ("\\frac{1}{2}", "0.5"),
    ("\\sin(kx)^2+\\cos(kx)^2", "1"),
    ("(1,2)", "\\{1,2\\}"),
    ("x \\in [-2,7]", "-2 \\le x \\le 7"),
    ("\\begin{pmatrix}1\\\\2\\end{pmatrix}", "(1,2)"),
    ("2x+2y=2", "x+y=1"),
    ("\\text{Evelyn}", "\\text{Navin}"),
    ("e^{i\\pi}", "-1"),
    ("__import__('os').system('echo pwned')", "0"),
    ("\\operatorname{__import__}('os')", "x"),
    ("(lambda: 1)()", "1"),
    ("Symbol('x').__class__", "x"),
    ("1e5", "100000"),
    ("exec('import os')", "\\sin(x)"),
    ("\\mathrm{eval}(1)", "1"),
    ("x**2", "x^2"),
]


@pytest.mark.integration  # a fresh interpreter
def test_only_sympys_own_code_templates_are_executed(tmp_path: Path) -> None:
    out = _in_worker_process(
        f"""
out = {{"results": [symbolic.compare(p, g) for p, g in {CORPUS!r}]}}
""",
        tmp_path,
    )
    assert not [r for r in out["results"] if r.startswith("error")]
    assert [r for r in out["audit"] if r["call"] in ("parse_expr", "eval_expr")] == []
    assert {r["caller"] for r in out["audit"]} <= {"sympy.polys.monomials"}
    for record in out["audit"]:
        assert record["source"].startswith("'def monomial_"), record


@pytest.mark.integration  # a fresh interpreter
def test_a_latex2sympy_without_the_patched_parts_is_named() -> None:
    """A latex2sympy2 release without a part the worker patches is one clear error (naming
    the part and the pinned release), before anything is patched."""
    script = (
        "import latex2sympy2_extended.latex2sympy2 as l2s\n"
        "from harness_ext.answers import latex_patches\n"
        "from harness_ext.errors import SparksError\n"
        "del l2s._Latex2Sympy.parse_number\n"
        "try:\n"
        "    latex_patches.apply()\n"
        "except SparksError as error:\n"
        "    print(error)\n"
        "print(hasattr(l2s._Latex2Sympy, '_sparks_patched'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    assert done.returncode == 0, done.stderr[-2000:]
    message, patched = done.stdout.strip().splitlines()
    assert "latex2sympy2 has no _Latex2Sympy.parse_number" in message
    assert "latex2sympy2_extended>=1.11,<1.12" in message
    assert patched == "False"


SLL_SAMPLE = [
    "(3,4)",
    "x^2/16 + y^2/12 = 1/4",
    "[ \\frac{\\pi^2}{8}, \\frac{5 \\pi^2}{4} ]",
    "\\begin{pmatrix}0.33\\\\0.2 \\end{pmatrix}",
    "(1,-16,-4,43)",
    "\\{1,2\\}",
    "x \\in [1,2)",
    "\\sqrt[3]{16}",
    "f(x) = 2x+1",
    "-2 \\le x \\le 7",
    "7:32",
    "1 \\pm \\sqrt{19}",
    "\\frac{\\sqrt{\\sqrt{11}+\\sqrt{194}}}{15+2\\sqrt{33}}",
    "a_{37} = 19, a_3 = 2",
    "(-\\infty, 2) \\cup (3, \\infty)",
    "\\log_2 8 + \\ln e^2",
]


@pytest.mark.integration  # a fresh interpreter
def test_sll_and_ll_agree_on_a_sample() -> None:
    """Without the worker's patches: parsing with SLL first (when it succeeds) gives exactly
    the full-LL result."""
    script = f"""
import json
import latex2sympy2_extended.latex2sympy2 as l2s
from antlr4.atn.PredictionMode import PredictionMode
create = l2s._Latex2Sympy.create_parser
mode = {{"sll": False}}
def patched(self, text):
    parser = create(self, text)
    if mode["sll"]:
        parser._interp.predictionMode = PredictionMode.SLL
    return parser
l2s._Latex2Sympy.create_parser = patched
out = {{}}
for sll in (False, True):
    mode["sll"] = sll
    results = []
    for text in {SLL_SAMPLE!r}:
        try:
            results.append(str(l2s.latex2sympy(text, is_real=True, normalization_config=None)))
        except Exception:
            results.append(None)
    out[str(sll)] = results
print(json.dumps(out))
"""
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    pairs = list(zip(out["False"], out["True"]))
    assert all(ll == sll for ll, sll in pairs if sll is not None)
    assert sum(sll is not None for _, sll in pairs) >= len(pairs) // 2  # SLL does most of them


# ------------------------------------------------------------------- conventions


@pytest.mark.parametrize(
    "pred, gold, equal",
    [
        ("\\frac{1}{2004!}", "\\frac{1}{2006!}", False),  # Math-Verify: equal (chop at 15 digits)
        ("\\frac{1}{2004!} + 1", "\\frac{1}{2006!} + 1", False),  # differ in the 5700th digit
        ("\\frac{2006!}{2004!}", "4022030", True),
        ("e^{\\pi\\sqrt{163}}", "262537412640768744", False),  # a near-integer
        ("1.0000001", "1", False),
        ("1.41421", "\\sqrt2", False),
        ("3.14", "\\pi", False),
        ("3.14159265359", "\\pi", True),
        ("0.0833333333333333", "\\frac{1}{12}", True),
        ("\\sqrt[3]{-8}", "-2", True),
        ("3R^2", "3r^2", False),
        ("i^2", "-1", True),
        ("\\sqrt{-4}", "2i", True),
        ("2x \\le 4", "x \\le 2", True),
        ("x > 3", "(3, \\infty)", True),
        ("(-1/3, 2/3, 5/3)", "\\begin{pmatrix} -1/3 \\\\ 2/3 \\\\ 5/3 \\end{pmatrix}", True),
        ("30^\\circ", "\\frac{\\pi}{6}", True),
        ("\\frac{\\sin x}{\\cos x}", "\\tan x", True),
    ],
)
def test_numeric_and_structural_conventions(pred: str, gold: str, equal: bool) -> None:
    assert answers.answers_equal(pred, gold) == equal


@pytest.mark.parametrize(
    "answer",
    [
        "9^{9^{9^9}}",
        "10^{10^{10}}!",
        "2^{-2^{1000}}",
        "x^{100000}",
        "(10^{10^{10}})!",
    ],
)
def test_runaway_answers_are_refused_before_evaluation(answer: str) -> None:
    verdict = check(f"\\boxed{{{answer}}}", "5")
    assert (verdict.correct, verdict.reason) == (False, "refused")


def test_deep_nesting_is_refused() -> None:
    deep = "\\frac{1}{" * 40 + "2" + "}" * 40
    assert check_answer(deep, "1") == Verdict(deep, False, "refused")


# ------------------------------------------------------------------- pool and load


def test_the_pool_runs_one_child_per_usable_cpu() -> None:
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert 1 <= worker.MAX_CHILDREN <= max(1, min(8, cpus or 1))


def test_the_worker_reports_the_cpu_time_it_used() -> None:
    answers.warm_up()
    reply = pool.compare_texts("2\\sqrt{3}", "\\sqrt{12}", 1_000_000, 10.0)
    assert reply.result == "equal" and isinstance(reply.cpu, float) and 0 < reply.cpu < 10.0
    assert isinstance(reply.work, int) and 0 < reply.work < 1_000_000


SAME_VERDICT = [
    ("\\boxed{\\sin(kx)^2+\\cos(kx)^2}", "1"),
    ("\\boxed{2\\sqrt3}", "\\sqrt{12}"),
    ("\\boxed{x > 3}", "(3,\\infty)"),
    ("\\boxed{\\frac{1}{2004!}}", "\\frac{1}{2006!}"),
]


@pytest.mark.parametrize("response, gold", SAME_VERDICT)
def test_eight_threads_get_the_verdict_of_one(response: str, gold: str) -> None:
    """The same case from 8 threads at once costs one computation (they share it), so all 8
    get the verdict it gets alone, however loaded the machine is."""
    answers.warm_up()
    answers.clear_cache()
    alone = check(response, gold)
    assert alone.reason != "timeout"
    barrier = threading.Barrier(8)

    def run(_: int) -> Verdict:
        barrier.wait()
        return check(response, gold)

    for _ in range(2):
        answers.clear_cache()
        with concurrent.futures.ThreadPoolExecutor(8) as pool_:
            assert list(pool_.map(run, range(8))) == [alone] * 8


@pytest.mark.integration  # 5 s each
@pytest.mark.parametrize("failure", ["SIGSTOP", "SIGKILL"])
def test_a_stopped_or_killed_worker_is_replaced_and_the_check_rerun(failure, caplog) -> None:
    """The watchdog: a worker that is stopped (SIGSTOP) or dies while a check waits is killed,
    replaced, and the check runs again in the new worker: the verdict is the one of the work,
    never a timeout or a wrong grade."""
    answers.warm_up()
    assert answers.answers_equal("\\sin x", "\\sin(x) + 0")  # the worker is up
    answers.clear_cache()
    old = pool.worker_pid()
    assert old is not None
    os.kill(old, getattr(signal, failure))
    with caplog.at_level(logging.WARNING, logger="harness_ext.answers"):
        verdict = check("\\boxed{\\tan\\frac{\\pi}{3}}", "\\sqrt3")
    assert verdict == Verdict("\\tan\\frac{\\pi}{3}", True, "symbolic")
    assert pool.worker_pid() not in (None, old)
    word = "stopped" if failure == "SIGSTOP" else "exited"
    assert any(f"answer worker {word}" in r.getMessage() for r in caplog.records)


@pytest.mark.integration  # 5 s
def test_a_worker_that_keeps_failing_is_an_error_not_a_verdict(monkeypatch) -> None:
    """When no worker can answer (here: every worker is killed as it starts), the check raises
    GraderUnavailable, naming what to check; it never returns a verdict."""
    answers.clear_cache()
    pool.shutdown()
    real = pool._Worker.__init__

    def doomed(self) -> None:
        real(self)
        self.proc.kill()

    monkeypatch.setattr(pool._Worker, "__init__", doomed)
    with pytest.raises(answers.GraderUnavailable, match="failed 4 times in a row"):
        check("\\boxed{\\cos\\frac{\\pi}{3}}", "\\frac12")
    monkeypatch.undo()
    pool.shutdown()
    assert check("\\boxed{\\cos\\frac{\\pi}{3}}", "\\frac12").correct
