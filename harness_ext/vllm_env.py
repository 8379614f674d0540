"""Where ``sparks-vllm`` runs: vLLM pins its own torch and transformers, so it lives in its own
environment, ``.venv-vllm`` beside ``.venv`` (``bash scripts/setup-vllm.sh``). ``sparks eval
--backend vllm`` and ``model: sparks-vllm`` in a regress spec run its ``lm_eval`` when this
interpreter has no vLLM (light: nothing heavy is imported here)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Optional

from harness_ext.errors import SparksError

__all__ = ["has_vllm", "vllm_lm_eval"]

ROOT = Path(__file__).resolve().parents[1]  # the checkout: .venv-vllm lies here


def has_vllm() -> bool:
    """Whether this interpreter can import vLLM."""
    return importlib.util.find_spec("vllm") is not None


def vllm_lm_eval(what: str = "sparks-vllm") -> Optional[Path]:
    """The ``lm_eval`` program of ``.venv-vllm``, or None when this interpreter has vLLM itself.
    Raises :class:`SparksError` naming the set-up command when neither has it."""
    if has_vllm():
        return None
    root = ROOT
    program = root / ".venv-vllm" / "bin" / "lm_eval"
    if not program.is_file():
        raise SparksError(
            f"{what} needs vLLM, which is not installed here and {program} does not exist: "
            f"make it with `bash {root / 'scripts' / 'setup-vllm.sh'}`"
        )
    return program
