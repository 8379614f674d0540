"""Errors shown to users: each message names the problem and the fix."""

from __future__ import annotations

import sys
from types import TracebackType


class SparksError(Exception):
    """A user-facing error (bad input, missing data or model); printed without a traceback."""


def sparks_error_in(error: BaseException | None) -> SparksError | None:
    """The SparksError that is ``error`` or in its cause/context chain, if any."""
    seen = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, SparksError):
            return error
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return None


def install_excepthook() -> None:
    """Show an uncaught SparksError as one clear line, not a traceback through lm-eval.

    Installed by the ``sparks`` command line (:func:`harness_ext.cli.main`) and, when lm-eval's
    own command line runs (it imports ``lm_eval._cli``), by the lm-eval bridge; never by a
    plain import. ``lm_eval`` itself lets exceptions escape, and a traceback through lm-eval
    and torch hides the message that says what to fix.
    Ctrl-C (an uncaught ``KeyboardInterrupt``) is one line too; Python still exits as
    interrupted. Any other exception keeps the normal traceback.
    """
    previous = sys.excepthook
    if getattr(previous, "_sparks", False):
        return

    def hook(kind: type[BaseException], error: BaseException, trace: TracebackType | None) -> None:
        if issubclass(kind, KeyboardInterrupt):
            print("sparks: interrupted", file=sys.stderr)
            return
        ours = sparks_error_in(error)
        if ours is None:
            previous(kind, error, trace)
        else:
            print(f"sparks: error: {ours}", file=sys.stderr)

    hook._sparks = True  # type: ignore[attr-defined]
    sys.excepthook = hook
