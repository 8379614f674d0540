"""Client of the Math-Verify worker process (:mod:`.worker`): a verdict is decided by work,
never by waiting.

Why a subprocess (and not threads, ``multiprocessing`` or SIGALRM): a Python thread cannot be
killed, SIGALRM only works in the main thread, and ``multiprocessing`` re-imports ``__main__``
(spawn) or cannot start children from daemonic pool workers. ``subprocess.Popen`` works from any
thread of any process. One worker per process is started by :func:`warm_up` (a math task or
``sparks report`` calls it when it starts) or by the first check that needs it, reused, and
replaced if it dies or if this process was forked; the worker forks a child per request.

The one limit on a comparison is CPU time: the child may use ``cpu`` seconds of its own CPU
time, and the kernel ends it when it has (the result is "timeout": the answer is *ungraded*).
Time spent queueing in the worker (at most :data:`.worker.MAX_CHILDREN` children run at once,
one per usable CPU) or waiting for a busy machine's CPU counts against nothing, so the same
request gets the same result under any load.

Waiting is guarded by a watchdog on the worker, not by a deadline on the verdict: while a
caller waits, it checks every :data:`POLL_S` that the worker is alive (it exited or was
killed), not stopped (``SIGSTOP``: state ``T`` in ``/proc``) and not silent (the worker writes
a heartbeat every :data:`.worker.HEARTBEAT_S`; none for :data:`SILENT_S`, or
:data:`START_SILENT_S` while it starts). A worker that fails a check is killed and replaced and
the request is sent again, up to :data:`MAX_RESTARTS` times; after that
:class:`GraderUnavailable` is raised (the grader cannot work on this machine), never a verdict.
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
from typing import Any, NamedTuple, Optional

from harness_ext.errors import SparksError

log = logging.getLogger("harness_ext.answers")

POLL_S = 0.25  # how often a waiting caller looks at the worker's health
SILENT_S = 30.0  # no heartbeat for this long (the worker beats every 0.5 s): hung
START_SILENT_S = 180.0  # the same while it starts (imports and warm-up: about 2 s when idle)
MAX_RESTARTS = 3  # replacements of a failed worker for one request before giving up
WORKER_MODULE = f"{__package__}.worker"


class Reply(NamedTuple):
    """The worker's answer to one comparison."""

    result: str  # see :mod:`.worker`; "timeout" when the work limit (or CPU backstop) was hit
    cpu: Optional[float]  # CPU seconds the child used (None when it did not finish)
    work: Optional[int]  # Python calls the comparison made (None when it did not finish)


class GraderUnavailable(SparksError):
    """The worker failed again and again: no verdict can be given on this machine."""


class _Worker:
    """One ``python -m harness_ext.answers.worker`` process and a reader thread for its output."""

    def __init__(self) -> None:
        root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([root, *[p for p in sys.path if p]])
        env.setdefault("OMP_NUM_THREADS", "1")
        env["PYTHONHASHSEED"] = "0"  # the same work for the same comparison in every worker
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
        self.last_seen = time.monotonic()
        self.lock = threading.Lock()
        self.pending: dict[int, list[Any]] = {}
        self.ids = itertools.count()
        threading.Thread(target=self._read, name="answers-worker-reader", daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.last_seen = time.monotonic()
            if line.strip() in (b"ready", b"alive"):
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
                waiter[1] = Reply(str(reply.get("result")), reply.get("cpu"), reply.get("work"))
                waiter[0].set()
        self.dead = True
        with self.lock:
            for waiter in self.pending.values():
                waiter[0].set()

    def failure(self) -> Optional[str]:
        """Why this worker cannot answer ("exited", "stopped", "silent"), or None if healthy."""
        if self.dead or self.proc.poll() is not None:
            return "exited"
        if _stopped(self.proc.pid):
            return "stopped"
        limit = SILENT_S if self.ready.is_set() else START_SILENT_S
        if time.monotonic() - self.last_seen > limit:
            return "silent"
        return None

    def request(self, pred: str, gold: str, work: int, cpu: float) -> Reply | str:
        """The worker's reply, or the reason it failed while we waited."""
        waiter: list[Any] = [threading.Event(), None]
        with self.lock:
            req_id = next(self.ids)
            self.pending[req_id] = waiter
            request = {"id": req_id, "pred": pred, "gold": gold, "work": work, "cpu": cpu}
            line = json.dumps(request)
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.write(line.encode() + b"\n")
                self.proc.stdin.flush()
            except (OSError, ValueError):
                self.dead = True
        try:
            while not waiter[0].wait(POLL_S):
                reason = self.failure()
                if reason is not None:
                    return reason
        finally:
            with self.lock:
                self.pending.pop(req_id, None)
        return waiter[1] if waiter[1] is not None else "exited"

    def close(self) -> None:
        self.dead = True
        try:
            if self.proc.stdin is not None:
                self.proc.stdin.close()  # the worker exits on end of input
            self.proc.wait(timeout=2)
        except (OSError, subprocess.TimeoutExpired, ValueError):
            self.kill()

    def kill(self) -> None:
        self.dead = True
        try:
            self.proc.kill()
            self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            pass


def _stopped(pid: int) -> bool:
    """Whether the process is stopped (SIGSTOP, or traced): state T or t in /proc (Linux)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rfind(b")") + 2 : stat.rfind(b")") + 3] in (b"T", b"t")


_worker: _Worker | None = None
_worker_lock = threading.Lock()


def _get_worker() -> _Worker:
    global _worker
    with _worker_lock:
        if _worker is None or _worker.dead or _worker.pid != os.getpid():
            _worker = _Worker()
        return _worker


def _replace(failed: _Worker, reason: str) -> None:
    """Kill a failed worker; the next request starts a new one (once, whoever notices first)."""
    global _worker
    with _worker_lock:
        if _worker is failed:
            _worker = None
    failed.kill()
    log.warning(
        "the answer worker %s (pid %d): replaced, its checks run again", reason, failed.proc.pid
    )


def warm_up() -> None:
    """Start the worker now, in the background, so that the first symbolic check does not wait
    for its start-up (about 2 s on an idle machine). Never fails: a worker that cannot start
    is reported by the check that needs it."""
    try:
        _get_worker()
    except OSError as exc:
        log.warning("cannot start the answer worker: %s", exc)


def compare_texts(pred: str, gold: str, work: int, cpu: float) -> Reply:
    """Ask the worker whether two cleaned answers are equal, the comparison limited to ``work``
    Python calls (and, as a backstop for work in C code, ``cpu`` seconds of CPU time). However
    long the worker's queue or the machine's load, the reply is the result of the work
    (:mod:`.worker`; "timeout" only when a limit was reached).

    Raises :class:`GraderUnavailable` when the worker failed :data:`MAX_RESTARTS` times in a
    row for this request.
    """
    reasons = []
    for _ in range(MAX_RESTARTS + 1):
        try:
            worker = _get_worker()
        except OSError as exc:
            raise GraderUnavailable(f"cannot start the answer worker: {exc}") from exc
        reply = worker.request(pred, gold, work, cpu)
        if isinstance(reply, Reply) and reply.result != "error:stalled":
            return reply
        reason = reply if isinstance(reply, str) else "had stuck children"
        reasons.append(reason)
        _replace(worker, reason)
    raise GraderUnavailable(
        f"the answer worker failed {len(reasons)} times in a row ({', '.join(reasons)}); "
        f"check that `{sys.executable} -m {WORKER_MODULE}` can start here (memory, process "
        f"limits) and run again"
    )


def worker_pid() -> int | None:
    """The process id of this process's worker, if one runs (tests; diagnostics)."""
    worker = _worker
    return worker.proc.pid if worker is not None and worker.pid == os.getpid() else None


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
