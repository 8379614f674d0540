"""The sympy side of the grader: runs only in the worker process (``python -m harness_ext.answers_sympy``).

The parent never imports this module. The worker imports sympy once, prints ``ready`` and then
serves JSON-line requests on stdin. Each request is computed in a child forked from the warm
worker (copy-on-write, a few ms) with a memory limit and a CPU-time limit (``timeout``: the
kernel ends the child with SIGPROF once it has used that much CPU, however busy the machine);
a request not answered by its wall-clock deadline (``wall``, counted from its arrival, queueing
included) is answered ``timeout`` and its child killed with SIGKILL by the worker, which goes on.
Signals are only ever *sent* to our own children (and SIGPROF by the kernel to a child); nothing
relies on SIGALRM, so callers may be in any thread or process.

Requests: ``{"id": n, "a": tree, "b": tree, "tol": bool, "timeout": cpu_seconds,
"wall": seconds}`` (``wall`` defaults to ``timeout``); trees come from
:mod:`harness_ext.answers_latex` (already vetted by the parent) and are turned into sympy objects
by :func:`build` - no string is ever parsed, sympified or evaluated here.
Answers: ``{"id": n, "result": "equal" | "equal_numeric" | "unequal" | "timeout" | "error"}``.
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

import sympy
from sympy import Abs, E, I, Rational, Symbol, factorial, binomial, oo, pi

MAX_CHILDREN = 4
MEMORY_LIMIT = 2 << 30
_FUNCS = {
    "sin": sympy.sin, "cos": sympy.cos, "tan": sympy.tan, "cot": sympy.cot, "sec": sympy.sec,
    "csc": sympy.csc, "arcsin": sympy.asin, "arccos": sympy.acos, "arctan": sympy.atan,
    "arccot": sympy.acot, "sinh": sympy.sinh, "cosh": sympy.cosh, "tanh": sympy.tanh,
    "ln": sympy.log, "log": sympy.log, "log10": lambda x: sympy.log(x, 10), "exp": sympy.exp,
    "abs": Abs, "floor": sympy.floor, "ceil": sympy.ceiling,
}


def build(node: list) -> Any:
    """A sympy expression from a (JSON) answer tree; raises ValueError on anything unknown."""
    kind = node[0]
    if kind == "num":
        return Rational(node[1], node[2])
    if kind == "var":
        return Symbol(str(node[1]))
    if kind in ("pi", "e", "i", "inf"):
        return {"pi": pi, "e": E, "i": I, "inf": oo}[kind]
    if kind == "add":
        return sympy.Add(*[build(x) for x in node[1]])
    if kind == "mul":
        return sympy.Mul(*[build(x) for x in node[1]])
    if kind == "neg":
        return -build(node[1])
    if kind == "div":
        den = build(node[2])
        if den == 0:
            raise ValueError("division by zero")
        return build(node[1]) / den
    if kind == "pow":
        return sympy.Pow(build(node[1]), build(node[2]))
    if kind == "sqrt":
        return sympy.sqrt(build(node[1]))
    if kind == "root":
        n, x = build(node[1]), build(node[2])
        if x.is_negative and n.is_integer and n.is_odd:
            return -sympy.root(-x, n)
        return sympy.root(x, n)
    if kind == "fn" and node[1] in _FUNCS:
        return _FUNCS[node[1]](build(node[2]))
    if kind == "log":
        return sympy.log(build(node[2]), build(node[1]))
    if kind == "fact":
        return factorial(build(node[1]))
    if kind == "binom":
        return binomial(build(node[1]), build(node[2]))
    if kind == "deg":
        return build(node[1])
    if kind == "pct":
        return build(node[1]) / 100
    if kind == "matrix":
        return sympy.Matrix([[build(cell) for cell in row] for row in node[1]])
    raise ValueError(f"unsupported node {kind}")


def _close(a: Any, b: Any, rel: float) -> bool:
    diff = abs(a - b)
    scale = max(abs(a), abs(b))
    return bool(diff <= rel * scale) if scale != 0 else bool(diff == 0)


def _numbers(a: Any, b: Any, digits: int) -> tuple[Any, Any] | None:
    """Both sides evaluated to ``digits`` significant digits, or None if either is not a number."""
    try:
        va, vb = a.evalf(digits, strict=True), b.evalf(digits, strict=True)
    except Exception:  # PrecisionExhausted and friends: no trustworthy value
        return None
    if not (va.is_number and vb.is_number) or va.has(sympy.zoo, sympy.nan, oo, -oo):
        return None
    return va, vb


def compare(a_tree: list, b_tree: list, tol: bool) -> str:
    """Decide whether two answer trees are equal; see the module docstring for the results."""
    a, b = build(a_tree), build(b_tree)
    if isinstance(a, sympy.MatrixBase) or isinstance(b, sympy.MatrixBase):
        return _compare_matrices(a, b)
    if tol:
        nums = _numbers(a, b, 30)
        if nums is not None:
            return "equal_numeric" if _close(*nums, 1e-9) else "unequal"
    diff = a - b
    if diff == 0:
        return "equal"
    if not diff.free_symbols:
        nums = _numbers(a, b, 60)
        if nums is not None and not _close(*nums, 1e-45):
            return "unequal"
    elif _differs_somewhere(diff):
        return "unequal"
    for simp in (sympy.simplify, sympy.radsimp, sympy.sqrtdenest, sympy.expand_log):
        try:
            if sympy.simplify(simp(diff)) == 0:
                return "equal"
        except Exception:
            continue
    if not diff.free_symbols and _numbers(a, b, 60) is not None:
        return "equal_numeric"  # agree to 45+ significant digits and sympy cannot tell them apart
    return "unequal"


def _compare_matrices(a: Any, b: Any) -> str:
    """Matrix arithmetic (``A + B``, ``A B``) against a matrix: entry by entry."""
    if not (isinstance(a, sympy.MatrixBase) and isinstance(b, sympy.MatrixBase)) or a.shape != b.shape:
        return "unequal"
    for x, y in zip(a, b):
        if sympy.simplify(x - y) != 0:
            return "unequal"
    return "equal"


def _differs_somewhere(diff: Any) -> bool:
    """Cheap rejection: ``diff`` is clearly nonzero at two rational points."""
    syms = sorted(diff.free_symbols, key=str)
    hits = 0
    for k, point in enumerate((Rational(7, 11), Rational(13, 17))):
        subs = {s: point + Rational(j, 3) for j, s in enumerate(syms)}
        try:
            v = diff.subs(subs).evalf(30)
        except Exception:
            return False
        if not v.is_number or v.has(sympy.zoo, sympy.nan) or abs(v) < 1e-20:
            return False
        hits += 1
    return hits == 2


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
    try:
        _limit_cpu(float(request.get("timeout", 1.0)))
        result = compare(request["a"], request["b"], bool(request.get("tol")))
    except BaseException as exc:  # noqa: BLE001 - report every failure as "error"
        result = "error:" + type(exc).__name__
    _limit_cpu(0.0)  # the answer is known: let it be written
    payload = json.dumps({"result": result}).encode()
    try:
        while payload:
            payload = payload[os.write(write_fd, payload) :]
    finally:
        os._exit(0)


def _limit_cpu(seconds: float) -> None:
    """End this (child) process with SIGPROF once it has used ``seconds`` of CPU time."""
    if hasattr(signal, "setitimer"):  # 0 cancels the limit
        signal.signal(signal.SIGPROF, signal.SIG_DFL)  # default action: terminate, even in C code
        signal.setitimer(signal.ITIMER_PROF, max(seconds, 0.0))


def _cpu_exhausted(status: int) -> bool:
    return hasattr(signal, "SIGPROF") and os.WIFSIGNALED(status) and \
        os.WTERMSIG(status) == signal.SIGPROF


class _Server:
    def __init__(self) -> None:
        self.stdin = sys.stdin.fileno()
        self.stdout = sys.stdout.buffer
        self.queue: deque[tuple[dict, float]] = deque()
        self.children: dict[int, list[Any]] = {}  # read fd -> [pid, id, deadline, buffer]
        self.inbuf = b""

    def reply(self, req_id: Any, result: str) -> None:
        self.stdout.write(json.dumps({"id": req_id, "result": result}).encode() + b"\n")
        self.stdout.flush()

    def start(self, request: dict, deadline: float) -> None:
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_fd)
            _child(request, write_fd)
        os.close(write_fd)
        self.children[read_fd] = [pid, request.get("id"), deadline, b""]

    def finish(self, fd: int, result: str | None) -> None:
        pid, req_id, _, data = self.children.pop(fd)
        if result is not None:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        os.close(fd)
        _, status = os.waitpid(pid, 0)
        if result is None:
            try:
                result = json.loads(data.decode())["result"]
            except (ValueError, KeyError):
                result = "timeout" if _cpu_exhausted(status) else "error"
        self.reply(req_id, result)

    def read_requests(self) -> bool:
        data = os.read(self.stdin, 1 << 16)
        if not data:
            return False
        self.inbuf += data
        *lines, self.inbuf = self.inbuf.split(b"\n")
        now = time.monotonic()
        for line in lines:
            try:
                request = json.loads(line)
                wall = min(float(request.get("wall", request.get("timeout", 1.0))), 10.0)
            except (ValueError, TypeError, AttributeError):
                continue
            self.queue.append((request, now + wall))
        return True

    def step(self) -> bool:
        now = time.monotonic()
        while self.queue and len(self.children) < MAX_CHILDREN:
            request, deadline = self.queue.popleft()
            if deadline <= now:
                self.reply(request.get("id"), "timeout")
            else:
                self.start(request, deadline)
        deadlines = [c[2] for c in self.children.values()] + [d for _, d in self.queue]
        wait = max(0.0, min(deadlines) - now) if deadlines else None
        ready, _, _ = select.select([self.stdin, *self.children], [], [], wait)
        for fd in ready:
            if fd == self.stdin:
                if not self.read_requests():
                    return False
                continue
            chunk = os.read(fd, 1 << 16)
            if chunk:
                self.children[fd][3] += chunk
            else:
                self.finish(fd, None)
        now = time.monotonic()
        for fd in [fd for fd, c in self.children.items() if c[2] <= now]:
            self.finish(fd, "timeout")
        return True

    def serve(self) -> None:
        self.stdout.write(b"ready\n")
        self.stdout.flush()
        try:
            while self.step():
                pass
        finally:
            for fd in list(self.children):
                self.finish(fd, "timeout")


def main() -> None:
    """Serve requests until stdin closes (the parent exited or called shutdown)."""
    compare(["num", 1, 2, False], ["sqrt", ["num", 2, 1, False]], False)  # warm sympy's caches
    _Server().serve()


if __name__ == "__main__":
    main()
