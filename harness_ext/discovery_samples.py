"""Clean openings for ``sparks discover --samples``: the post model's responses as lm-eval logged
them (``--log_samples``), instead of generating them again.

Each line of a ``samples_<task>_<date>.jsonl`` holds the doc (with the problem) and the
responses (``resps``); the first response of each problem is its opening (cut to
``--opening-tokens`` tokens by the caller).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness_ext.errors import SparksError

__all__ = ["LoggedResponse", "read_logged_responses"]


@dataclass(frozen=True)
class LoggedResponse:
    """One problem of a samples file: its task, doc and first logged response."""

    task: str
    doc: dict[str, Any]
    response: str


def read_logged_responses(path: Path, limit: int | None = None) -> list[LoggedResponse]:
    """The first response of each problem in ``path``: a ``samples_*.jsonl`` file or an lm-eval
    output folder (every samples file under it, sorted by name); ``limit`` problems per file."""
    if not path.exists():
        raise SparksError(f"--samples {path} does not exist; pass a samples_<task>_<date>.jsonl "
                          "or the --output_path of an lm-eval run made with --log_samples")
    files = [path] if path.is_file() else sorted(path.rglob("samples_*.jsonl"))
    if not files:
        raise SparksError(f"--samples {path}: no samples_*.jsonl under it; run lm_eval with "
                          "--log_samples --output_path {path}")
    found: list[LoggedResponse] = []
    for file in files:
        task = file.name.removeprefix("samples_").rsplit("_", 1)[0]
        rows = []
        with open(file, encoding="utf-8") as stream:
            for number, line in enumerate(stream, 1):
                if not line.strip():
                    continue
                rows.append(_parse(line, file, number, task))
                if limit is not None and len(rows) == limit:
                    break
        found += rows
    return found


def _parse(line: str, file: Path, number: int, task: str) -> LoggedResponse:
    where = f"{file}:{number}"
    try:
        sample = json.loads(line)
    except json.JSONDecodeError as error:
        raise SparksError(f"{where} is not JSON ({error.msg}); is the file cut short?") from None
    doc = sample.get("doc") if isinstance(sample, dict) else None
    resps = sample.get("resps") if isinstance(sample, dict) else None
    if not isinstance(doc, dict) or "problem" not in doc:
        raise SparksError(f"{where} has no doc.problem; pass samples of a sparks task "
                          "(amc_sparks, aime24_sparks, math500_sparks, ...)")
    try:
        response = resps[0][0]
    except (TypeError, IndexError, KeyError):
        response = None
    if not isinstance(response, str):
        raise SparksError(f"{where} has no logged response (resps[0][0])")
    doc = {**doc, "problem_id": str(doc.get("problem_id") or f"{task}/{sample.get('doc_id', number - 1)}")}
    return LoggedResponse(task, doc, response)
