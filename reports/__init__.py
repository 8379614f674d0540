"""sparks reports: failure labels with evidence, accuracy per difficulty tier, run comparisons.

``label(response, gold, truncated=False)`` names why a response failed (``correct``,
``truncated``, ``logical_loop``, ``no_answer``, ``calculation_error``, ``found_then_lost``,
``reasoning_error`` or a plugin's label); ``diagnose(...)`` also returns the evidence.
``make_report(["base=out/base", "ablated=out/ablated"])`` compares lm-eval runs and
``write_report(report, folder)`` writes report.md/.html/.json (docs/python.md). ``sparks report``
and ``sparks regress`` live in :mod:`harness_ext.reports.command` and
:mod:`harness_ext.reports.regress`. Importing this package is cheap: names load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the real names for type checkers; at run time they load on first use
    from harness_ext.reports.command import make_report, write_report
    from harness_ext.reports.labels import (
        BUILTIN_LABELS,
        Diagnosis,
        LabelSample,
        diagnose,
        label,
        ordered,
    )

__all__ = [
    "BUILTIN_LABELS",
    "Diagnosis",
    "LabelSample",
    "diagnose",
    "label",
    "make_report",
    "ordered",
    "write_report",
]

_LAZY = {name: "harness_ext.reports.labels" for name in __all__}
_LAZY.update(make_report="harness_ext.reports.command", write_report="harness_ext.reports.command")


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'harness_ext.reports' has no attribute {name!r}")
