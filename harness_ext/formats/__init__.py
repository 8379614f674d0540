"""File formats that sparks writes and reads, as typed models: a low layer that features
(discovery, reports, interventions) import; it imports none of them.

* :class:`HeadsFile`: ``heads.json`` of ``sparks discover`` (``sparks-heads/1``), and
  :func:`read_emergent_heads`, the lenient reader behind ``zero:@heads.json#N``.
* :class:`LoggedSample`: one line of lm-eval's ``samples_<task>_<date>.jsonl``, and
  :func:`read_samples` (:mod:`harness_ext.formats.samples`).
"""

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
