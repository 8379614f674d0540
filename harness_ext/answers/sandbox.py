"""No code from text in the answer worker: sympy's and Math-Verify's ways to ``eval`` refuse.

Runs only in the worker process (``python -m harness_ext.answers.worker``), after
:mod:`.latex_patches` has made latex2sympy2 read number tokens without ``sympify``.
:func:`harden` makes ``parse_expr`` and sympy's ``eval_expr`` refuse (every reference to them,
so also ``sympify`` of a string and Math-Verify's ``ExprExtractionConfig``, which sparks never
uses): text cannot reach ``eval`` through sympy. sympy has no safe mode for this: its ``safe``
flag for ``sympify`` (sympy/sympy#12524) was never merged, and its "Safety" issue
(sympy/sympy#10805) is open. Modules that ``sympify`` strings of their own when first imported
(``sympy.physics.units``) must be imported before :func:`harden`.

With ``SPARKS_ANSWERS_AUDIT=path`` every refused call, and every call of the builtins
``eval``/``exec``/``compile`` on source text with the module that made it, is appended to that
file: the tests show that none is refused and that only sympy's own code templates
(``sympy.polys.monomials``) are ever executed, for hostile and for ordinary answers.
"""

from __future__ import annotations

import builtins
import json
import os
import sys
from typing import Any, Callable

AUDIT_ENV = "SPARKS_ANSWERS_AUDIT"


class CodeRefused(Exception):
    """Something tried to evaluate source text in the worker (never expected)."""


def _audit(kind: str, source: Any, caller: str = "") -> None:
    path = os.environ.get(AUDIT_ENV)
    if path:
        record = {"pid": os.getpid(), "call": kind, "caller": caller, "source": repr(source)[:300]}
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")


def refuse(kind: str) -> Callable[..., Any]:
    """A stand-in for ``kind`` (a function that would evaluate text) that records the call and
    raises :class:`CodeRefused`."""

    def refused(*args: Any, **kwargs: Any) -> Any:
        _audit(kind, args[0] if args else None)
        raise CodeRefused(f"{kind} is disabled in the answer worker")

    return refused


def _audited(kind: str, real: Any) -> Callable[..., Any]:
    """``real`` (builtins eval/exec/compile), recording every call on source text and who made
    it (audit mode only: the tests show that only sympy's own code templates get there)."""

    def audited(source: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(source, (str, bytes, bytearray)) or type(source).__module__ == "ast":
            caller = sys._getframe(1).f_globals.get("__name__", "?")
            _audit(kind, source, caller)
        return real(source, *args, **kwargs)

    audited.__wrapped__ = real  # type: ignore[attr-defined]
    return audited


def harden() -> None:
    """Make this process unable to evaluate source text through sympy or Math-Verify."""
    import math_verify.parser as mvp
    import sympy.parsing
    import sympy.parsing.sympy_parser as sympy_parser

    parse_expr = refuse("parse_expr")
    sympy_parser.parse_expr = parse_expr
    sympy_parser.eval_expr = refuse("eval_expr")
    sympy.parsing.parse_expr = parse_expr
    mvp.parse_expr = parse_expr  # Math-Verify's own references (its ExprExtractionConfig path)
    mvp.parse_expr_cached = parse_expr
    if os.environ.get(AUDIT_ENV):
        for name in ("eval", "exec", "compile"):
            real = getattr(builtins, name)
            setattr(builtins, name, _audited(name, getattr(real, "__wrapped__", real)))
