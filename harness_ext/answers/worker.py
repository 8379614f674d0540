"""The Math-Verify side of the grader: a process that serves comparisons
(``python -m harness_ext.answers.worker``). The parent never imports this module.

The worker imports Math-Verify (with sympy and latex2sympy2_extended) once, patches
latex2sympy2 (:mod:`.latex_patches`), makes text unable to reach ``eval``
(:mod:`.sandbox`), puts our numeric equality in Math-Verify's place (:mod:`.numeric`), warms
its caches, prints ``ready`` and serves JSON-line requests on stdin; the comparison itself is
:func:`.symbolic.compare`. Each request is computed in a child forked from the warm worker
(copy-on-write, a few ms; every child starts from the same state, so the same request costs the
same work) with a memory limit, a work limit (``work``: Python calls, counted) and a CPU-time
backstop (``cpu``: the kernel ends the child with SIGPROF once it has used that much CPU,
however busy the machine): those limits, and nothing that depends on the clock, decide a
"timeout". At most :data:`MAX_CHILDREN` children (one per usable CPU) run at once; the rest wait
in order, and waiting counts against nothing. The worker writes ``alive`` at least every
:data:`HEARTBEAT_S` so that the caller's watchdog can tell a busy worker from a hung one. A
child still alive after :data:`STALL_S` of wall-clock time is stuck (the comparison is pure
computation, which its limits end far sooner even on a machine hundreds of times
oversubscribed): it is killed and the request runs again in a fresh child; after
:data:`MAX_STALLS` stuck children the answer is "error:stalled", never a verdict.
Math-Verify's own signal timeouts are off (``parsing_timeout=None``, ``timeout_seconds=None``):
signals are only ever *sent* to our own children (and SIGPROF by the kernel to a child).

Requests: ``{"id": n, "pred": text, "gold": text, "cpu": seconds, "work": calls}``: the two
answers as extracted and cleaned by the parent. Answers: ``{"id": n, "result": r, "cpu": s,
"work": w}`` with ``r`` one of "equal", "equal_numeric", "unequal", "parse_error",
"gold_parse_error", "refused", "timeout" or "error:<exception>", ``s`` the CPU seconds the child
used and ``w`` the Python calls it made (null when it did not finish).
"""

from __future__ import annotations

import json
import os
import select
import signal
import sys
import time
from collections import deque
from typing import Any

from .sandbox import CodeRefused
from .symbolic import compare, parse_answer

MAX_CHILDREN = max(
    1,
    min(
        8,
        len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1),
    ),
)
MEMORY_LIMIT = 2 << 30
WORK_EXHAUSTED = 86  # a child's exit status when it used up its work limit (Python calls)
HEARTBEAT_S = 0.5  # the worker writes "alive" at least this often (the caller's watchdog)
STALL_S = 300.0  # a child alive this long without finishing is stuck, not computing (see below)
MAX_STALLS = 2  # stuck children of one request before it is answered "error:stalled"

WARM_UP = [  # run once in the worker before it serves: lazy imports and caches are filled
    ("\\frac{1}{2}", "0.5"),
    ("\\sin(kx)^2+\\cos(kx)^2", "1"),
    ("2\\sqrt{3}", "\\sqrt{12}"),
    ("(1, 2)", "\\{1, 2\\}"),
    ("[1, 2)", "x \\in [1, 2)"),
    ("x > 3", "(3, \\infty)"),
    ("y = 2x + 3", "2x + 3 = y"),
    (
        "\\begin{pmatrix}1 & 2\\\\3 & 4\\end{pmatrix}",
        "\\begin{pmatrix}1 & 2\\\\3 & 4\\end{pmatrix}",
    ),
    ("\\log_2 8", "3"),
    ("e^{i\\pi}", "-1"),
    ("\\text{Evelyn}", "Evelyn"),
    ("50\\%", "0.5"),
    ("1 \\pm \\sqrt{19}", "1+\\sqrt{19}, 1-\\sqrt{19}"),
    ("\\frac{1}{2004!}", "\\frac{1}{2006!}"),
    ("\\tan(\\pi/4)", "1"),
    ("(x+1)^2", "x^2+2x+1"),
    ("\\arctan 1", "\\frac{\\pi}{4}"),
    ("-2 \\le x \\le 7", "[-2, 7]"),
    ("3.14159265359", "\\pi"),
    ("2^{10}", "1024"),
    ("\\{1\\} \\cup [0,7)", "[0, 7) \\cup \\{1\\}"),
    ("f(x)=2x+1", "2x+1"),
]
PARSE_WARM_UP = [  # parsed once more in the worker: fills the SLL prediction cache (the DFA)
    "F_n = \\sum_{k=0}^{n-1} F_k F_{n-k-1}",
    "\\prod_{i=1}^{n} (1 + x_i)",
    "\\int_0^1 x^2 \\, dx",
    "\\lim_{x \\to 0} \\frac{\\sin x}{x}",
    "a_{n+1} = 2a_n + 1",
    "\\binom{n}{k} p^k (1-p)^{n-k}",
    "\\left\\lfloor \\frac{n}{2} \\right\\rfloor",
    "|z - 1| \\le 2",
    "x^2/16 + y^2/12 = 1/4",
    "(x, y) = (3, -1)",
    "\\{(1, 2), (3, 4)\\}",
    "(-\\infty, 2) \\cup (3, \\infty)",
    "\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}^{-1}",
    "\\vec{v} = \\langle 1, 2, 3 \\rangle",
    "\\log_{3}(x+1) + \\ln 2",
    "e^{-x^2/2}",
    "\\sqrt[3]{2} + \\sqrt{5}",
    "\\cos^2 \\theta",
    "f(x) = \\frac{x^2 - 1}{x + 1}",
    "y = -\\frac{1}{2}x + \\frac{3}{4}",
    "12:00",
    "2516_8",
    "\\text{Evelyn}, \\text{Navin}",
    "x \\equiv 3 \\pmod{7}",
    "n! + (n+1)!",
    "0.\\overline{3}",
]


# ----------------------------------------------------------------------------------------------
# Worker loop
# ----------------------------------------------------------------------------------------------


def _child(request: dict, write_fd: int) -> None:
    """Runs in the forked child: compute, write one JSON object, exit without cleanup."""
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    except (ImportError, ValueError, OSError):
        pass
    calls = [0]
    try:
        _limit_cpu(float(request.get("cpu", 10.0)))
        _limit_work(int(request.get("work", 1_000_000)), calls)
        result = compare(str(request["pred"]), str(request["gold"]))
    except CodeRefused:
        result = "refused"
    except BaseException as exc:  # noqa: BLE001 - report every failure as "error"
        result = "error:" + type(exc).__name__
    sys.settrace(None)
    _limit_cpu(0.0)  # the answer is known: let it be written
    try:
        import resource

        usage = resource.getrusage(resource.RUSAGE_SELF)
        cpu = round(usage.ru_utime + usage.ru_stime, 4)
    except (ImportError, OSError):
        cpu = None
    payload = json.dumps({"result": result, "cpu": cpu, "work": calls[0]}).encode()
    try:
        while payload:
            payload = payload[os.write(write_fd, payload) :]
    finally:
        os._exit(0)


def _limit_work(limit: int, calls: list[int]) -> None:
    """End this (child) process with exit status :data:`WORK_EXHAUSTED` once it has made
    ``limit`` Python function calls; ``calls[0]`` counts them.

    Why count calls, not seconds: the same comparison makes the same calls whatever the load
    (every child forks from the same warm state), while its CPU time moves by tens of percent
    on a busy machine, so a comparison near a CPU-time limit could land on either side. The
    trace function sees only "call" events (it returns None: no line events), which costs
    about 2x the comparison's CPU time. Python has no cheaper deterministic counter before 3.12
    (``sys.monitoring``).
    """

    def count(frame: Any, event: str, arg: Any) -> None:
        calls[0] += 1
        if calls[0] > limit:
            os._exit(WORK_EXHAUSTED)

    sys.settrace(count)


def _limit_cpu(seconds: float) -> None:
    """End this (child) process with SIGPROF once it has used ``seconds`` of CPU time."""
    if hasattr(signal, "setitimer"):  # 0 cancels the limit
        signal.signal(signal.SIGPROF, signal.SIG_DFL)  # default action: terminate, even in C code
        signal.setitimer(signal.ITIMER_PROF, max(seconds, 0.0))


def _out_of_work(status: int) -> bool:
    """Whether a child was ended by its work limit or its CPU-time backstop."""
    if os.WIFEXITED(status):
        return os.WEXITSTATUS(status) == WORK_EXHAUSTED
    return (
        hasattr(signal, "SIGPROF")
        and os.WIFSIGNALED(status)
        and os.WTERMSIG(status) == signal.SIGPROF
    )


class _Server:
    """Reads requests from stdin, runs each in a child (at most MAX_CHILDREN at once, the rest
    queued in order) and writes the replies and a heartbeat to stdout."""

    def __init__(self) -> None:
        self.stdin = sys.stdin.fileno()
        self.stdout = sys.stdout.buffer
        self.queue: deque[dict] = deque()
        self.children: dict[int, list[Any]] = {}  # read fd -> [pid, request, started, buffer]
        self.stalls: dict[Any, int] = {}  # request id -> children of it that stalled
        self.inbuf = b""
        self.beat = time.monotonic()

    def write(self, line: bytes) -> None:
        self.stdout.write(line + b"\n")
        self.stdout.flush()
        self.beat = time.monotonic()

    def reply(
        self, req_id: Any, result: str, cpu: float | None = None, work: int | None = None
    ) -> None:
        self.stalls.pop(req_id, None)
        line = {"id": req_id, "result": result, "cpu": cpu, "work": work}
        self.write(json.dumps(line).encode())

    def start(self, request: dict) -> None:
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_fd)
            _child(request, write_fd)
        os.close(write_fd)
        self.children[read_fd] = [pid, request, time.monotonic(), b""]

    def finish(self, fd: int, stalled: bool = False) -> None:
        pid, request, _, data = self.children.pop(fd)
        if stalled:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        os.close(fd)
        _, status = os.waitpid(pid, 0)
        req_id = request.get("id")
        if stalled:
            self.stalls[req_id] = self.stalls.get(req_id, 0) + 1
            if self.stalls[req_id] < MAX_STALLS:
                self.queue.appendleft(request)  # run again in a fresh child: not a verdict
            else:
                self.reply(req_id, "error:stalled")
            return
        try:
            reply = json.loads(data.decode())
            result, cpu, work = reply["result"], reply.get("cpu"), reply.get("work")
        except (ValueError, KeyError):
            result, cpu, work = ("timeout" if _out_of_work(status) else "error"), None, None
        self.reply(req_id, result, cpu, work)

    def read_requests(self) -> bool:
        data = os.read(self.stdin, 1 << 16)
        if not data:
            return False
        self.inbuf += data
        *lines, self.inbuf = self.inbuf.split(b"\n")
        for line in lines:
            try:
                request = json.loads(line)
            except ValueError:
                continue
            if isinstance(request, dict):
                self.queue.append(request)
        return True

    def step(self) -> bool:
        while self.queue and len(self.children) < MAX_CHILDREN:
            self.start(self.queue.popleft())
        ready, _, _ = select.select([self.stdin, *self.children], [], [], HEARTBEAT_S)
        for fd in ready:
            if fd == self.stdin:
                if not self.read_requests():
                    return False
                continue
            chunk = os.read(fd, 1 << 16)
            if chunk:
                self.children[fd][3] += chunk
            else:
                self.finish(fd)
        now = time.monotonic()
        for fd in [fd for fd, c in self.children.items() if now - c[2] > STALL_S]:
            self.finish(fd, stalled=True)
        if now - self.beat >= HEARTBEAT_S:
            self.write(b"alive")
        return True

    def serve(self) -> None:
        self.write(b"ready")
        try:
            while self.step():
                pass
        finally:
            for fd in list(self.children):
                pid = self.children.pop(fd)[0]
                try:
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
                except (ProcessLookupError, ChildProcessError):
                    pass


def prepare_process() -> None:
    """Import, patch, harden and warm Math-Verify in this process (the worker, before it
    serves)."""
    import logging

    from . import latex_patches, numeric, sandbox

    logging.getLogger("math_verify").setLevel(logging.CRITICAL)  # "timeout is disabled" notes
    numeric.install()
    latex_patches.apply()
    import sympy.physics.units  # noqa: F401 - it sympifies its own strings on first import

    sandbox.harden()
    for gold, pred in WARM_UP:
        compare(pred, gold)
    for text in PARSE_WARM_UP:
        parse_answer(text)


def main() -> None:
    """Serve requests until stdin closes (the parent exited or called shutdown)."""
    prepare_process()
    _Server().serve()


if __name__ == "__main__":
    main()
