"""The architecture table, at its old import path: it lives in :mod:`harness_ext.formats.arch`
(shared by the interventions and discovery); this package re-exports it."""

from __future__ import annotations

from harness_ext.formats.arch import (
    ARCHITECTURES,
    LLAMA_LAYOUT,
    ArchMapping,
    ModelShape,
    UnsupportedArchitecture,
    get_arch,
)

__all__ = [
    "ARCHITECTURES",
    "LLAMA_LAYOUT",
    "ArchMapping",
    "ModelShape",
    "UnsupportedArchitecture",
    "get_arch",
]
