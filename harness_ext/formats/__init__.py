"""File formats that sparks writes and reads, as typed models: a low layer that features
(discovery, reports, interventions) import; it imports none of them.

* :class:`HeadsFile`: ``heads.json`` of ``sparks discover`` (``sparks-heads/1``), and
  :func:`read_emergent_heads`, the lenient reader behind ``zero:@heads.json#N``.
* :class:`LoggedSample`: one line of lm-eval's ``samples_<task>_<date>.jsonl``, and
  :func:`read_samples` (:mod:`harness_ext.formats.samples`).

Importing this package is cheap: a name loads its module (pydantic, for the heads file) on
first use, so reading samples does not pay for pydantic.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the real names for type checkers; at run time they load on first use
    from harness_ext.formats.heads import FORMAT, HeadsFile, read_emergent_heads, read_heads_json
    from harness_ext.formats.samples import GenerationFact, LoggedSample, read_samples

__all__ = [
    "FORMAT",
    "GenerationFact",
    "HeadsFile",
    "LoggedSample",
    "read_emergent_heads",
    "read_heads_json",
    "read_samples",
]

_HOMES = {
    "FORMAT": "heads",
    "HeadsFile": "heads",
    "read_emergent_heads": "heads",
    "read_heads_json": "heads",
    "GenerationFact": "samples",
    "LoggedSample": "samples",
    "read_samples": "samples",
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
