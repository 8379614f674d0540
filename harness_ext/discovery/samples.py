"""Clean openings for ``sparks discover --samples``: the post model's responses as lm-eval logged
them (``--log_samples``), instead of generating them again.

Each line of a ``samples_<task>_<date>.jsonl`` holds the doc (with the problem) and the
responses (``resps``); the first response of each problem is its opening (cut to
``--opening-tokens`` tokens by the caller).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness_ext.errors import SparksError
from harness_ext.formats.samples import read_samples

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
        raise SparksError(
            f"--samples {path} does not exist; pass a samples_<task>_<date>.jsonl "
            "or the --output_path of an lm-eval run made with --log_samples"
        )
    files = [path] if path.is_file() else sorted(path.rglob("samples_*.jsonl"))
    if not files:
        raise SparksError(
            f"--samples {path}: no samples_*.jsonl under it; run lm_eval with "
            f"--log_samples --output_path {path}"
        )
    found: list[LoggedResponse] = []
    for file in files:
        task = file.name.removeprefix("samples_").rsplit("_", 1)[0]
        samples = list(read_samples(file))
        for index, sample in enumerate(samples[:limit]):
            doc = sample.doc
            if not sample.has_doc or "problem" not in doc:
                raise SparksError(
                    f"{file}, sample {index + 1} has no doc.problem; pass samples of "
                    "a sparks task (amc_sparks, aime24_sparks, math500_sparks, ...)"
                )
            if not sample.responses:
                raise SparksError(f"{file}, sample {index + 1} has no logged response")
            doc_id = sample.doc_id if sample.doc_id is not None else index
            problem_id = str(doc.get("problem_id") or f"{task}/{doc_id}")
            found.append(
                LoggedResponse(task, {**doc, "problem_id": problem_id}, sample.responses[0])
            )
    return found
