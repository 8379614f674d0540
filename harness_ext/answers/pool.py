"""Client of the Math-Verify worker process (:mod:`.worker`), with hard deadlines.

Why a subprocess (and not threads, ``multiprocessing`` or SIGALRM): a Python thread cannot be
killed, SIGALRM only works in the main thread, and ``multiprocessing`` re-imports ``__main__``
(spawn) or cannot start children from daemonic pool workers. ``subprocess.Popen`` works from any
thread of any process. One worker per process is started lazily, reused, and replaced if it dies
or if this process was forked; the worker itself forks a child per request and kills it at the
deadline, so a runaway computation costs one request, not the worker.

Two limits per request: the child may use ``cpu`` seconds of CPU time (the verdict's bound: a
busy machine does not turn a quick check into a timeout), and the answer comes within ``wall``
seconds of wall-clock time, however long the request queued in the worker (at most
:data:`.worker.MAX_CHILDREN` run at once, one per usable CPU) or shared the CPU: the worker
answers "timeout" :data:`REPLY_MARGIN_S` before ``wall``, and the caller stops waiting at
``wall``. A "timeout" is reported as such (the sample is ungraded), never as a wrong answer.
"""

from __future__ import annotations

import atexit
import itertools
import json
import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

log = logging.getLogger("harness_ext.answers")

START_TIMEOUT_S = 60.0  # first use only: python start-up, imports and warm-up (about 2 s)
REPLY_MARGIN_S = 0.05  # the worker's wall deadline is this much before the caller's
WORKER_MODULE = f"{__package__}.worker"


class _Worker:
    """One ``python -m harness_ext.answers.worker`` process and a reader thread for its replies."""

    def __init__(self) -> None:
        root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([root, *[p for p in sys.path if p]])
        env.setdefault("OMP_NUM_THREADS", "1")
        self.pid = os.getpid()
        self.proc = subprocess.Popen(
            [sys.executable, "-S", "-m", WORKER_MODULE],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            close_fds=True,
            start_new_session=True,  # Ctrl-C in the caller's terminal is the caller's business
        )
        self.ready = threading.Event()
        self.dead = False
        self.lock = threading.Lock()
        self.pending: dict[int, list[Any]] = {}
        self.ids = itertools.count()
        threading.Thread(target=self._read, name="answers-worker-reader", daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.strip() == b"ready":
                self.ready.set()
                continue
            try:
                reply = json.loads(line)
            except ValueError:
                continue
            with self.lock:
                waiter = self.pending.pop(reply.get("id"), None)
            if waiter is not None:
                waiter[1] = str(reply.get("result"))
                waiter[2] = reply.get("cpu")
                waiter[0].set()
        self.dead = True
        self.ready.set()
        with self.lock:
            for waiter in self.pending.values():
                waiter[0].set()

    def request(self, pred: str, gold: str, cpu: float, wall: float) -> tuple[str, Any]:
        waiter: list[Any] = [threading.Event(), None, None]
        with self.lock:
            req_id = next(self.ids)
            self.pending[req_id] = waiter
            line = json.dumps(
                {
                    "id": req_id,
                    "pred": pred,
                    "gold": gold,
                    "cpu": cpu,
                    "wall": max(0.0, wall - REPLY_MARGIN_S),
                }
            )
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.write(line.encode() + b"\n")
                self.proc.stdin.flush()
            except (OSError, ValueError):
                self.dead = True
        waiter[0].wait(wall)
        with self.lock:
            self.pending.pop(req_id, None)
        return waiter[1] or ("error" if self.dead else "timeout"), waiter[2]

    def close(self) -> None:
        self.dead = True
        try:
            if self.proc.stdin is not None:
                self.proc.stdin.close()  # the worker exits on end of input
            self.proc.wait(timeout=2)
        except (OSError, subprocess.TimeoutExpired, ValueError):
            self.proc.kill()


_worker: _Worker | None = None
_worker_lock = threading.Lock()


def _get_worker() -> _Worker:
    global _worker
    with _worker_lock:
        if _worker is None or _worker.dead or _worker.pid != os.getpid():
            _worker = _Worker()
        return _worker


def warm_up() -> None:
    """Start the worker now (in the background) so the first symbolic check does not wait."""
    _get_worker()


def wait_until_ready() -> float | None:
    """Start the worker if needed and wait for it; the seconds waited, or None if it failed.

    Only the first use in a process (or after the worker died) waits, for up to START_TIMEOUT_S;
    callers exclude that wait from their time budget so that grades do not depend on it.
    """
    start = time.monotonic()
    try:
        worker = _get_worker()
    except OSError as exc:
        log.warning("cannot start the answer worker: %s", exc)
        return None
    if not worker.ready.wait(START_TIMEOUT_S) or worker.dead:
        log.warning("the answer worker did not start")
        return None
    return time.monotonic() - start


def compare_texts(
    pred: str, gold: str, cpu: float, wall: float | None = None
) -> tuple[str, float | None]:
    """Ask the worker whether two cleaned answers are equal: within ``cpu`` seconds of CPU time,
    answered within ``wall`` seconds (default ``cpu``) of wall-clock time.

    Returns one of the worker's results (:mod:`.worker`), "timeout" or "error" (never raises),
    and the CPU seconds the computation took (None when it did not finish).
    """
    if wait_until_ready() is None:
        return "error", None
    worker = _get_worker()
    return worker.request(pred, gold, cpu, cpu if wall is None else max(wall, 0.0))


def shutdown() -> None:
    """Stop the worker (it is restarted on the next check that needs it)."""
    global _worker
    with _worker_lock:
        if _worker is not None and _worker.pid == os.getpid():
            _worker.close()
        _worker = None


_stale: list[_Worker] = []


def _forget_after_fork() -> None:
    """In a forked child: drop the parent's worker (its pipes belong to the parent)."""
    global _worker, _worker_lock
    if _worker is not None:
        _stale.append(_worker)  # left alone: closing its files here could close reused fds
    _worker = None
    _worker_lock = threading.Lock()


atexit.register(shutdown)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)
