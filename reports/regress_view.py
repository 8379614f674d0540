"""The live view of ``sparks regress``: every run of the spec, its state, how far it is, its log.

Each run is ``pending`` until its turn, then ``running`` (with lm-eval's request bar and the
token bar of :class:`harness_ext.progress.TokenProgress`, both read from the run's log as it is
written), and ends ``done``, ``reused`` or ``failed``; a run left ``pending`` after a failure was
never started. On a terminal the view is a rich ``Live`` table redrawn twice a second; anywhere
else (CI, a pipe) it prints plain lines: every run at the start, a progress line per run at
most every ``interval`` seconds, a line when a run is done or failed, and every run's final
state at the end, each with the log's path. (Why a run runs or is reused, and where its log
is, is the caller's log line.)
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Optional

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

__all__ = ["Bar", "RunsView", "read_progress"]

# tqdm's line, as lm-eval writes it: "Running generate_until requests:  45%|####  | 9/20 [...]"
TQDM_LINE = re.compile(r"([A-Za-z][^:\r\n|]{2,80}):\s*\d+%\|[^|\r\n]*\|\s*(\d+)/(\d+)")
TOKENS = "generating "  # TokenProgress's bar: "generating 4 responses: 47%|...| 120/256"
TAIL_BYTES = 8192
STATES = {"pending": "dim", "running": "cyan", "done": "green", "reused": "green", "failed": "red"}


@dataclass(frozen=True)
class Bar:
    """One tqdm bar as last written to a log."""

    what: str
    done: int
    total: int

    def __str__(self) -> str:
        return f"{self.what} {self.done}/{self.total}"


def read_progress(log_path: Path) -> tuple[Optional[Bar], Optional[Bar]]:
    """lm-eval's last request bar and the current batch's token bar in the log's tail.

    The token bar counts only while its batch runs: once lm-eval's bar has moved past it (the
    batch is done), it is not shown.
    """
    try:
        with open(log_path, "rb") as stream:
            stream.seek(max(0, log_path.stat().st_size - TAIL_BYTES))
            tail = stream.read().decode("utf-8", errors="replace")
    except OSError:
        return None, None
    requests: Optional[tuple[int, Bar]] = None
    tokens: Optional[tuple[int, Bar]] = None
    for match in TQDM_LINE.finditer(tail):
        bar = Bar(match.group(1).strip(), int(match.group(2)), int(match.group(3)))
        if bar.what.startswith(TOKENS):
            tokens = (match.start(), bar)
        else:
            requests = (match.start(), bar)
    if tokens is not None and requests is not None and requests[0] > tokens[0]:
        tokens = None
    return (requests[1] if requests else None), (tokens[1] if tokens else None)


@dataclass
class _Run:
    name: str
    state: str = "pending"
    log: Optional[Path] = None
    requests: Optional[Bar] = None
    tokens: Optional[Bar] = None
    started: Optional[float] = None
    ended: Optional[float] = None
    printed: float = float("-inf")  # when its last progress line was printed (plain mode)

    def progress(self) -> str:
        """``generate_until requests 9/20, tokens 120/256 (4 responses)``."""
        parts = []
        if self.requests is not None:
            parts.append(str(self.requests).removeprefix("Running "))
        if self.tokens is not None:
            batch = self.tokens.what.removeprefix(TOKENS)
            parts.append(f"tokens {self.tokens.done}/{self.tokens.total} ({batch})")
        return ", ".join(parts)

    def elapsed(self) -> str:
        if self.started is None:
            return ""
        seconds = int((self.ended or time.monotonic()) - self.started)
        return f"{seconds // 60}m{seconds % 60:02d}s"


class RunsView:
    """A context manager showing the runs of one ``sparks regress``; see the module doc.

    ``live=None`` picks a rich ``Live`` table when ``console`` is a terminal, plain lines
    otherwise.
    """

    def __init__(
        self,
        names: list[str],
        console: "Console",
        *,
        live: Optional[bool] = None,
        interval: float = 30.0,
    ) -> None:
        self._runs = {name: _Run(name) for name in names}
        self._console = console
        self._live_wanted = console.is_terminal if live is None else live
        self._interval = interval
        self._live: Any = None

    def __enter__(self) -> "RunsView":
        if self._live_wanted:
            from rich.live import Live

            self._live = Live(self, console=self._console, refresh_per_second=2)
            self._live.__enter__()
        else:
            self._say(f"{len(self._runs)} run(s): " + ", ".join(self._runs))
        return self

    def __exit__(
        self,
        kind: Optional[type[BaseException]],
        error: Optional[BaseException],
        trace: Optional[TracebackType],
    ) -> None:
        if self._live is not None:
            self._live.__exit__(kind, error, trace)
            self._live = None
            return
        for line in self.lines():
            self._say(line)

    # ------------------------------------------------------------ what execute_run reports

    def start(self, name: str, log: Path) -> None:
        """``name`` is running, writing ``log``."""
        run = self._runs[name]
        run.state, run.log, run.started = "running", log, time.monotonic()
        run.requests = run.tokens = None  # (the caller's log already says that it runs, and why)

    def poll(self, name: str) -> None:
        """Read ``name``'s log again (plain mode: a progress line every ``interval`` s)."""
        run = self._runs[name]
        if run.log is None:
            return
        run.requests, run.tokens = read_progress(run.log)
        now = time.monotonic()
        if self._live is None and run.progress() and now - run.printed >= self._interval:
            run.printed = now
            self._say(f"{self._position(name)} {name}: {run.progress()} ({run.elapsed()})")

    def finish(self, name: str, state: str, log: Optional[Path] = None) -> None:
        """``name`` ended: ``done``, ``reused`` or ``failed``; ``log`` where its log now is."""
        run = self._runs[name]
        run.state, run.ended, run.log = state, time.monotonic(), log or run.log
        found = read_progress(run.log) if run.log is not None else (None, None)
        if found != (None, None):  # else what was last read stays
            run.requests, run.tokens = found
        if self._live is None and state != "reused":  # (the caller's log says it reuses)
            self._say(f"{self._position(name)} {self._line(run)}")

    # ------------------------------------------------------------ what is shown

    def lines(self) -> list[str]:
        """One plain line per run: name, state, progress, time and log."""
        return [self._line(run) for run in self._runs.values()]

    def __rich__(self) -> "Table":
        from rich.table import Table

        table = Table(box=None, pad_edge=False, show_edge=False)
        for column in ("run", "state", "progress", "time", "log"):
            table.add_column(column, overflow="fold" if column == "log" else "ellipsis")
        for run in self._runs.values():
            table.add_row(
                run.name,
                f"[{STATES.get(run.state, '')}]{run.state}[/]",
                run.progress(),
                run.elapsed(),
                str(run.log or ""),
            )
        return table

    def _line(self, run: _Run) -> str:
        parts = [f"{run.name}: {run.state}"]
        if run.progress():
            parts.append(run.progress())
        if run.started is not None:
            parts.append(run.elapsed())
        if run.log is not None:
            parts.append(f"log: {run.log}")
        return "; ".join(parts)

    def _position(self, name: str) -> str:
        return f"[{list(self._runs).index(name) + 1}/{len(self._runs)}]"

    def _say(self, line: str) -> None:
        from rich.markup import escape

        self._console.print(f"[bold]regress[/] {escape(line)}", highlight=False, soft_wrap=True)
