"""Every patch sparks makes to latex2sympy2 (``latex2sympy2_extended`` 1.11, the LaTeX parser
under Math-Verify 0.9), in one place, each with why. Runs only in the worker process
(:mod:`.worker`), once, before :func:`.sandbox.harden`.

All four replace private parts of ``latex2sympy2_extended.latex2sympy2`` (the class
``_Latex2Sympy`` and a module function), because Math-Verify calls latex2sympy2 for us
(``math_verify.parser.parse_latex_cached``) and passes no option that would do the same:

1. ``_Latex2Sympy.create_parser`` / ``parse``: **two-stage parsing** (:func:`two_stage_parsing`).
   Without it every parse uses ANTLR's full-LL prediction, which latex2sympy2's grammar makes
   slow (30 ms for ``(3,4)``); that time counts against each comparison's work limit, so more
   answers end "timeout" (ungraded). latex2sympy2 has no option for ANTLR's prediction mode and
   we found no upstream issue about it; SLL first, full LL on a syntax error, is ANTLR's own
   recommended strategy, and SLL gives the same tree whenever it succeeds
   (``tests/answers/test_answers_worker.py::test_sll_and_ll_agree_on_a_sample``).
2. ``_Latex2Sympy.__init__``: **case-sensitive symbols** (:func:`case_sensitive_symbols`).
   latex2sympy2 lowercases every symbol by default, so ``3R^2`` would equal ``3r^2``. Its
   public ``ConversionConfig(lowercase_symbols=False)`` is a parameter of ``latex2sympy()``,
   but Math-Verify calls ``latex2sympy()`` without it and has no setting that reaches it (no
   upstream issue; Math-Verify's maintainers treat different letters as different variables,
   huggingface/Math-Verify#75). Word answers are compared case-insensitively before
   Math-Verify (``normalize.text_value``), so this only affects symbols.
3. ``_Latex2Sympy.parse_number``: **numbers without eval** (:func:`exact_numbers`). Upstream
   returns ``sympy.Number(text)``, which for a string goes ``sympify`` -> ``parse_expr`` ->
   ``eval``. The grammar's NUMBER token is digits only today, but the worker's safety must not
   rest on a grammar; and once :func:`.sandbox.harden` refuses ``parse_expr``, every number
   would fail to parse (every answer a "parse_error"). :func:`safe_number` reads the digits
   exactly instead. sympy has no eval-free ``sympify`` (sympy/sympy#10805, open).
4. The module's ``convert_number`` (comma-grouped numbers such as ``333,333``, read in
   ``parse``) and its own reference to ``parse_expr`` (used for ``variable_values`` strings,
   which Math-Verify never passes): the same ``Number(text)`` as 3, replaced the same way, and
   ``parse_expr`` refused there too, since :func:`.sandbox.harden` cannot reach a name the
   module imported before it ran.

A new latex2sympy2 release can rename these; ``tests/answers/test_answers_worker.py`` fails then
(numbers, ``3R^2``, the audit of ``eval``), and :func:`apply` raises a SparksError naming the
missing part and the pinned release.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from harness_ext.errors import SparksError

from .sandbox import CodeRefused, refuse

_NUMBER_TOKEN = re.compile(r"\d+|\d*\.\d+|\d+\.|(?:\d+\.?\d*|\.\d+)[eE][+-]?\d+")
_PATCHED = "_sparks_patched"
_PINNED = "latex2sympy2_extended>=1.11,<1.12 (setup.cfg pins it)"


def safe_number(text: str) -> Any:
    """A number token of latex2sympy2 (digits, a decimal point, an exponent, commas) as a sympy
    number, read exactly without ``sympify``; anything else is refused."""
    import sympy

    text = text.replace(",", "")
    if not _NUMBER_TOKEN.fullmatch(text):
        raise CodeRefused(f"not a number token: {text[:40]!r}")
    if text.isdigit():
        return sympy.Integer(int(text))
    return sympy.Float(text)  # parsed by mpmath from the digits: no eval


def _changed(name: str) -> str:
    """The error for a latex2sympy2 without a part these patches replace."""
    return (
        f"latex2sympy2 has no {name}, which the answer worker patches ({__name__}): "
        f"install {_PINNED}, or update the patches for the new release"
    )


def _converter() -> Any:
    """latex2sympy2's private converter class, the module checked to have every part the
    patches replace (so that :func:`apply` patches all or nothing)."""
    import latex2sympy2_extended.latex2sympy2 as l2s

    converter = l2s._Latex2Sympy
    for name in ("create_parser", "parse", "parse_number"):
        if not hasattr(converter, name):
            raise SparksError(_changed(f"_Latex2Sympy.{name}"))
    if not hasattr(l2s, "convert_number"):
        raise SparksError(_changed("convert_number"))
    return converter


def two_stage_parsing() -> None:
    """Patch 1: parse with ANTLR's fast SLL prediction first, with full LL only when SLL
    reports a syntax error."""
    from antlr4.atn.PredictionMode import PredictionMode

    converter = _converter()
    create_parser, parse = converter.create_parser, converter.parse

    def create(self: Any, latex_str: str) -> Any:
        parser = create_parser(self, latex_str)
        if getattr(self, "_sparks_sll", False):
            parser._interp.predictionMode = PredictionMode.SLL
        return parser

    def two_stage(self: Any, latex_str: str) -> Any:
        self._sparks_sll = True
        try:
            return parse(self, latex_str)
        except Exception:  # noqa: BLE001 - SLL gave up (or the input is wrong): full LL decides
            self._sparks_sll = False
            return parse(self, latex_str)

    converter.create_parser, converter.parse = create, two_stage


def case_sensitive_symbols() -> None:
    """Patch 2: ``R`` and ``r`` are different variables (every converter gets
    ``lowercase_symbols=False``)."""
    converter = _converter()
    init = converter.__init__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        self.config = dataclasses.replace(self.config, lowercase_symbols=False)

    converter.__init__ = __init__


def exact_numbers() -> None:
    """Patches 3 and 4: number tokens become sympy numbers without ``sympify``, and the
    module's ``parse_expr`` refuses."""
    import latex2sympy2_extended.latex2sympy2 as l2s

    def convert_number(number: str) -> Any:  # upstream's rules for "0,5" and "333,333"
        if "," in number and number.startswith("0"):
            number = number.replace(",", ".")
        number = number.replace(" ", "").replace(",", "")
        return safe_number(number.lstrip("0") or "0" if number.isdigit() else number)

    _converter().parse_number = lambda self, text: safe_number(text)
    l2s.convert_number = convert_number
    l2s.parse_expr = refuse("parse_expr")


def apply() -> None:
    """Apply the four patches once in this process (the worker's)."""
    converter = _converter()
    if getattr(converter, _PATCHED, False):
        return
    two_stage_parsing()
    case_sensitive_symbols()
    exact_numbers()
    setattr(converter, _PATCHED, True)
