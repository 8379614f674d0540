"""Whether a ``pretrained`` value names a local folder, checked before anything loads (light:
the CLI's early checks use it before lm-eval or torch is imported)."""

from __future__ import annotations

import re
from pathlib import Path

from harness_ext.errors import SparksError

__all__ = ["checked_local_path", "looks_local"]


def looks_local(pretrained: str) -> bool:
    """True when ``pretrained`` is meant as a folder, not a Hub id (``org/name`` or ``name``)."""
    return (
        pretrained.startswith(("/", "./", "../", "~", ".\\", "..\\"))
        or pretrained in (".", "..")
        or pretrained.count("/") > 1
        or re.match(r"^[A-Za-z]:[\\/]", pretrained) is not None
    )


def checked_local_path(pretrained: str) -> str:
    """``pretrained`` (``~`` expanded); a path that is no folder fails before any loading."""
    if not looks_local(pretrained):
        return pretrained
    folder = Path(pretrained).expanduser()
    if folder.is_dir():
        return str(folder)
    problem = "is a file, not a model folder" if folder.exists() else "does not exist"
    raise SparksError(
        f"pretrained={pretrained}: the folder {folder} {problem}. Pass a local "
        f"model folder (with config.json) or a Hub id such as "
        f"HuggingFaceTB/SmolLM2-135M-Instruct, or leave pretrained out for the "
        f"embedded model."
    )
