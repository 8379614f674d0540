"""sparks: an lm-eval extension for studying the attention heads that make language models reason.

This package is imported at every Python start-up (through the lm-eval bridge's ``.pth`` file),
so importing it must stay cheap: nothing heavy is imported here, and ``__version__`` and
``hookimpl`` are resolved lazily on first access.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the real names for type checkers; at run time they load on first use
    from harness_ext.hookspecs import hookimpl

    __version__: str

__all__ = ["__version__", "hookimpl"]


def __getattr__(name: str) -> object:
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("sparks-harness")
        except PackageNotFoundError:  # a source tree that is not installed
            return "0.0.0+unknown"
    if name == "hookimpl":
        from harness_ext.hookspecs import hookimpl

        return hookimpl
    raise AttributeError(f"module 'harness_ext' has no attribute {name!r}")
