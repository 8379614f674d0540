"""Finding an lm-eval run's files: its results file (``results_<date>.json``, also the newest
under a folder) and each task's samples file (``samples_<task>_<date>.jsonl``), and reading
the results file with a clear error for a damaged or foreign one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness_ext.errors import SparksError
from harness_ext.reports.run_types import Warn

__all__ = ["date_id", "find_results_file", "read_results_json", "samples_file"]


def find_results_file(path: Path, warn: Warn) -> Path:
    """The results file for ``path``: the file itself, or the newest one under a folder."""
    if not path.exists():
        raise SparksError(
            f"{path} does not exist; pass an lm-eval output folder (--output_path "
            f"of a run with --log_samples) or its results_*.json file"
        )
    if path.is_file():
        if path.suffix != ".json":
            raise SparksError(
                f"{path} is not a results file (results_<date>.json); pass the "
                f"run's output folder or its results_*.json"
            )
        return path
    found = sorted(path.rglob("results_*.json"))
    if not found:
        raise SparksError(
            f"no lm-eval results file (results_*.json) under {path}; run lm_eval "
            f"with --output_path {path} --log_samples first"
        )
    folders = sorted({file.parent for file in found})
    if len(folders) > 1:
        listing = ", ".join(str(folder) for folder in folders)
        raise SparksError(
            f"{path} holds results of several models ({listing}); pass one of these folders"
        )
    newest = max(found, key=lambda file: file.name)
    if len(found) > 1:
        warn(
            f"{path} holds {len(found)} results files; using the newest, {newest.name} (pass a "
            f"results file to choose another)"
        )
    return newest


def date_id(results_file: Path) -> str:
    stem = results_file.stem
    return stem[len("results_") :] if stem.startswith("results_") else stem.rsplit("_", 1)[-1]


def samples_file(results_file: Path, task: str) -> Path:
    exact = results_file.with_name(f"samples_{task}_{date_id(results_file)}.jsonl")
    if exact.is_file():
        return exact
    others = sorted(results_file.parent.glob(f"samples_{task}_*.jsonl"))
    hint = (
        f" (found {', '.join(o.name for o in others)}, which belong to other runs)"
        if others
        else ""
    )
    raise SparksError(
        f"no samples file {exact.name} for task {task} next to {results_file}"
        f"{hint}; rerun lm_eval with --log_samples"
    )


def read_results_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise SparksError(
            f"{path} is not valid JSON ({error.msg} at line {error.lineno}); the "
            f"file is damaged or truncated: rerun the evaluation"
        ) from None
    except OSError as error:
        raise SparksError(f"cannot read {path}: {error.strerror}") from None
    if not isinstance(data, dict) or "results" not in data or "configs" not in data:
        raise SparksError(
            f"{path} is not an lm-eval results file (it has no 'results' and "
            f"'configs'); pass the results_*.json that lm_eval wrote"
        )
    return data
