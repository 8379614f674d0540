"""Progress for long commands: one rich display on stderr, a bar per phase, with an ETA.

``sparks report`` (and the report of ``sparks regress``) shows reading and grading per run and
task, then writing; ``sparks regress``'s runs have their own view (reports.regress_view). On
a terminal the bars move; in a log (not a terminal) rich prints the finished bars once at the end.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any, Callable, Optional

__all__ = ["Phases", "TokenProgress"]

Advance = Callable[..., None]
LOG_WIDTH = 160  # in a log file rich would assume 80 columns and cut the bars' numbers


class Phases:
    """A context manager around ``rich.progress.Progress`` with one bar per phase."""

    def __init__(self, enabled: bool = True) -> None:
        self._enabled = enabled
        self._progress: Any = None

    def __enter__(self) -> "Phases":
        if self._enabled:
            import sys

            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("eta"),
                TimeRemainingColumn(),
                console=Console(stderr=True, width=None if sys.stderr.isatty() else LOG_WIDTH),
                transient=False,
            )
            self._progress.__enter__()
        return self

    def __exit__(
        self,
        kind: Optional[type[BaseException]],
        error: Optional[BaseException],
        trace: Optional[TracebackType],
    ) -> None:
        if self._progress is not None:
            self._progress.__exit__(kind, error, trace)
            self._progress = None

    def phase(self, description: str, total: Optional[float] = None) -> Advance:
        """Start a phase; returns ``advance(n=1, description=None)`` for it."""
        if self._progress is None:
            return _nothing
        task = self._progress.add_task(description, total=total)
        progress = self._progress

        def advance(
            n: float = 1,
            description: Optional[str] = None,
            completed: Optional[float] = None,
            total: Optional[float] = None,
        ) -> None:
            changes: dict[str, Any] = (
                {"advance": n} if completed is None else {"completed": completed}
            )
            if description is not None:
                changes["description"] = description
            if total is not None:
                changes["total"] = total
            progress.update(task, **changes)

        return advance


def _nothing(*args: Any, **kwargs: Any) -> None:
    """The advance of a disabled display."""


class TokenProgress:
    """A transformers streamer (``put``/``end``, passed to ``generate``) that shows one
    generation batch's tokens as they come, below lm-eval's own bar, which counts requests only
    when a whole batch is done (``0/4`` for minutes on a CPU). In a log it is a tqdm line like
    lm-eval's, so ``sparks regress`` shows it live too."""

    def __init__(self, responses: int, budget: int) -> None:
        self._responses = responses
        self._budget = max(budget, 0)
        self._bar: Any = None

    def put(self, value: Any) -> None:
        """Called by ``generate``: first with the prompts, then once per generated token."""
        if self._bar is None:
            import sys

            from tqdm import tqdm

            plural = "s" * (self._responses != 1)
            self._bar = tqdm(
                total=self._budget,
                desc=f"generating {self._responses} response{plural}",
                unit="tok",
                leave=False,
                mininterval=1.0,
                file=sys.stderr,
            )
            return
        self._bar.update(1)

    def end(self) -> None:
        """Called by ``generate`` when the batch is done."""
        if self._bar is not None:
            self._bar.close()
