"""``sparks_interventions.json``: the note ``sparks fold`` leaves in a folded checkpoint.

Written by :func:`harness_ext.interventions.fold_checkpoint`, read back by the reports (a run
of a folded checkpoint shows the interventions folded into it) and by ``sparks fold`` itself
(a folder that holds the note is a folded checkpoint that sparks may replace). The keys:
``interventions`` (the normalized spec), ``source_model``, ``versions`` (torch and
transformers), and ``random_control`` for a drawn control.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

__all__ = ["FOLD_NOTE", "fold_note_text", "read_fold_note"]

FOLD_NOTE = "sparks_interventions.json"


def fold_note_text(
    interventions: str,
    source_model: str,
    versions: dict[str, str],
    random_control: Optional[dict[str, Any]] = None,
) -> str:
    """The note's text (JSON), as ``sparks fold`` writes it into the checkpoint folder."""
    note: dict[str, Any] = {
        "interventions": interventions,
        "source_model": source_model,
        "versions": versions,
    }
    if random_control is not None:
        note["random_control"] = random_control
    return json.dumps(note, indent=2) + "\n"


def read_fold_note(folder: str | Path) -> Optional[dict[str, Any]]:
    """The note in ``folder`` (a checkpoint), or None when there is none or it is unreadable:
    a folder that is not a folded checkpoint is an ordinary model."""
    if not str(folder):
        return None
    try:
        note = json.loads((Path(folder).expanduser() / FOLD_NOTE).read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return note if isinstance(note, dict) else None
