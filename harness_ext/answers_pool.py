"""Client of the sympy worker process (:mod:`harness_ext.answers_sympy`), with hard deadlines.

Why a subprocess (and not threads, ``multiprocessing`` or SIGALRM): a Python thread cannot be
killed, SIGALRM only works in the main thread, and ``multiprocessing`` re-imports ``__main__``
(spawn) or cannot start children from daemonic pool workers. ``subprocess.Popen`` works from any
thread of any process. One worker per process is started lazily, reused, and replaced if it dies
or if this process was forked; the worker itself forks a child per request and kills it at the
deadline, so a runaway ``simplify`` costs one request, not the worker.

Two limits per request: the child may use ``timeout`` seconds of CPU time (so a busy machine
does not turn a quick check into a timeout), and the answer comes within ``wall`` seconds of
wall-clock time, however long the request queued in the worker (at most
:data:`harness_ext.answers_sympy.MAX_CHILDREN` run at once) or shared the CPU: the worker
answers "timeout" :data:`REPLY_MARGIN_S` before ``wall``, and the caller stops waiting at
``wall``. So many threads asking at once each still get their answer within their budget.
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

START_TIMEOUT_S = 30.0  # first use only: python start-up + ``import sympy`` (about 1 s)
REPLY_MARGIN_S = 0.05  # the worker's wall deadline is this much before the caller's


class _Worker:
    """One ``python -m harness_ext.answers_sympy`` process and a reader thread for its replies."""

    def __init__(self) -> None:
        root = str(Path(__file__).resolve().parents[1])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([root, *[p for p in sys.path if p]])
        self.pid = os.getpid()
        self.proc = subprocess.Popen(
            [sys.executable, "-S", "-m", "harness_ext.answers_sympy"],
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
        threading.Thread(target=self._read, name="answers-sympy-reader", daemon=True).start()

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
                waiter[0].set()
        self.dead = True
        self.ready.set()
        with self.lock:
            for waiter in self.pending.values():
                waiter[0].set()

    def request(self, a: Any, b: Any, tol: bool, timeout: float, wall: float) -> str:
        waiter: list[Any] = [threading.Event(), None]
        with self.lock:
            req_id = next(self.ids)
            self.pending[req_id] = waiter
            line = json.dumps({"id": req_id, "a": a, "b": b, "tol": tol, "timeout": timeout,
                               "wall": max(0.0, wall - REPLY_MARGIN_S)})
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.write(line.encode() + b"\n")
                self.proc.stdin.flush()
            except (OSError, ValueError):
                self.dead = True
        waiter[0].wait(wall)
        with self.lock:
            self.pending.pop(req_id, None)
        return waiter[1] or ("error" if self.dead else "timeout")

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
        log.warning("cannot start the sympy worker: %s", exc)
        return None
    if not worker.ready.wait(START_TIMEOUT_S) or worker.dead:
        log.warning("the sympy worker did not start")
        return None
    return time.monotonic() - start


def symbolic_compare(a: Any, b: Any, tol: bool, timeout: float,
                     wall: float | None = None) -> str:
    """Ask the worker whether trees ``a`` and ``b`` are equal: within ``timeout`` seconds of
    CPU time, answered within ``wall`` seconds (default ``timeout``) of wall-clock time.

    Returns "equal", "equal_numeric", "unequal", "timeout" or "error" (never raises).
    """
    if wait_until_ready() is None:
        return "error"
    worker = _get_worker()
    return worker.request(a, b, tol, timeout, timeout if wall is None else max(wall, 0.0))


def shutdown() -> None:
    """Stop the worker (it is restarted on the next symbolic check)."""
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
