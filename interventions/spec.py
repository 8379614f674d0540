"""The intervention spec, at the import path the interventions and plugin authors use.

The grammar and parser live in :mod:`harness_ext.formats.spec` (the formats layer), because the
reports and regress specs read specs too; this module re-exports them.
"""

from __future__ import annotations

from harness_ext.formats.spec import (
    CONTROL_FORM,
    EMPTY_SPEC,
    EXPECTED_FORM,
    RANDOM,
    HeadRef,
    InterventionItem,
    InterventionSpec,
    SpecError,
    caret_message,
    normal_control_args,
    parse_spec,
    read_heads_file,
    read_heads_json,
)

__all__ = [
    "CONTROL_FORM",
    "EMPTY_SPEC",
    "EXPECTED_FORM",
    "RANDOM",
    "HeadRef",
    "InterventionItem",
    "InterventionSpec",
    "SpecError",
    "caret_message",
    "normal_control_args",
    "parse_spec",
    "read_heads_file",
    "read_heads_json",
]
