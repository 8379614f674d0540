"""The intervention spec parser, at its old import path.

It lives in :mod:`harness_ext.interventions.spec` (``interventions/spec.py``); plugin authors
and the docs import ``harness_ext.spec``, which keeps working.
"""

from __future__ import annotations

from harness_ext.interventions.spec import (
    RANDOM,
    HeadRef,
    InterventionItem,
    InterventionSpec,
    SpecError,
    caret_message,
    parse_spec,
    read_heads_file,
    read_heads_json,
)

__all__ = [
    "RANDOM",
    "HeadRef",
    "InterventionItem",
    "InterventionSpec",
    "SpecError",
    "caret_message",
    "parse_spec",
    "read_heads_file",
    "read_heads_json",
]
