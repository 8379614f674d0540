"""Architecture mappings by Hugging Face ``config.model_type``.

To add an architecture: write ``<type>.py`` holding one :class:`ArchMapping` (copy llama.py and
change the module path template or the config attribute names), import it here, add it to
:data:`ARCHITECTURES`, and add a tiny-config case to tests/test_interventions_exact.py.
"""

from __future__ import annotations

from typing import Any

from harness_ext.errors import SparksError
from harness_ext.interventions.arch.llama import LLAMA
from harness_ext.interventions.arch.mapping import ArchMapping, ModelShape
from harness_ext.interventions.arch.mistral import MISTRAL
from harness_ext.interventions.arch.qwen2 import QWEN2
from harness_ext.interventions.arch.qwen3 import QWEN3

__all__ = ["ARCHITECTURES", "ArchMapping", "ModelShape", "UnsupportedArchitecture", "get_arch"]

ARCHITECTURES: dict[str, ArchMapping] = {
    "llama": LLAMA,
    "mistral": MISTRAL,
    "qwen2": QWEN2,
    "qwen3": QWEN3,
}


class UnsupportedArchitecture(SparksError):
    """The model's architecture has no mapping, so its heads cannot be located."""


def get_arch(config: Any) -> ArchMapping:
    """The mapping for a Hugging Face config, by its ``model_type``."""
    model_type = getattr(config, "model_type", None)
    try:
        return ARCHITECTURES[model_type]
    except KeyError:
        raise UnsupportedArchitecture(
            f"head interventions do not support model_type {model_type!r} yet; supported: "
            f"{', '.join(sorted(ARCHITECTURES))}. Add a mapping to harness_ext.interventions.arch "
            f"(interventions/arch/ in the source tree; its __init__.py gives the recipe)") from None
