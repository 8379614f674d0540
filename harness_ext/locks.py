"""Who is writing an output folder: an owner record, and an exclusive lock on the folder.

* :class:`Owner`: the process (pid, host, start time, command) that made a staging folder or
  holds a lock, as JSON; :meth:`Owner.gone` tells whether that process has ended (on this host:
  a process on another host is never taken for gone).
* :func:`folder_lock`: an exclusive ``flock`` on a lock file inside a folder, for a command
  (``sparks regress``) that writes many files there over a long time. A second command is
  refused with the holder named. The kernel drops the lock when its process dies, so a lock
  left by a killed run is simply taken, and the record it left names the killed run.

``flock`` (not a lock file created with ``O_EXCL``, not the ``filelock`` package, whose
``FileLock`` truncates the lock file on every attempt and so loses the holder's record) is the
standard Unix advisory lock and is released by the kernel however the process ends. It works
on local file systems; on NFS it depends on the server.

A base module: it imports nothing from sparks' features.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterator, Optional

from harness_ext.errors import SparksError

__all__ = ["Owner", "folder_lock"]


@dataclass(frozen=True)
class Owner:
    """A process that owns an output: its id, host, start time (UTC) and command line."""

    pid: int
    host: str
    started: str
    command: str

    @classmethod
    def me(cls) -> "Owner":
        """This process."""
        return cls(
            pid=os.getpid(),
            host=socket.gethostname(),
            started=time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
            command=" ".join(sys.argv) or sys.executable,
        )

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Optional["Owner"]:
        """The record in ``text``, or None when it is not one (empty, damaged, foreign)."""
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, TypeError):
            return None
        if not isinstance(data, dict) or not isinstance(data.get("pid"), int):
            return None
        return cls(
            pid=data["pid"],
            host=str(data.get("host", "")),
            started=str(data.get("started", "?")),
            command=str(data.get("command", "?")),
        )

    @classmethod
    def read(cls, path: Path) -> Optional["Owner"]:
        """The record in the file ``path``, or None."""
        try:
            return cls.from_json(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError):
            return None

    def gone(self) -> bool:
        """True when this process has ended: it ran on this host and its pid is not running.

        A pid reused by another process reads as running (the safe side: nothing is removed).
        """
        if self.host != socket.gethostname():
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False  # it exists, owned by another user
        return False

    def describe(self) -> str:
        """``pid 123 on host, since 2026-01-01 10:00:00 UTC: sparks regress spec.yaml``."""
        return f"pid {self.pid} on {self.host}, since {self.started}: {self.command}"


@contextlib.contextmanager
def folder_lock(
    folder: Path, *, name: str, what: str, log: Callable[[str], None]
) -> Iterator[Owner]:
    """Hold an exclusive lock on ``folder`` (the file ``folder/name``) for the ``with`` block.

    Another holder is refused with a :class:`SparksError` that names it (``what`` says what the
    folder is, for the message). A record left by a killed holder (its process is gone) is taken
    over, and ``log`` says so. The lock file stays, empty, when the block ends.
    """
    import fcntl  # Unix only; imported here so that importing this module works everywhere

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = Owner.read(path)
            who = holder.describe() if holder else "another process (no record yet)"
            raise SparksError(
                f"{what} {folder} is in use by {who}. Two runs into one folder would "
                f"overwrite each other's files: wait for it to finish, or set another output "
                f"(the lock is {path})"
            ) from None
        left = Owner.read(path)
        if left is not None:  # a holder that ended normally leaves the file empty
            state = "no longer running" if left.gone() else "its lock was released"
            log(f"taking over the lock of {left.describe()} ({state}; it was interrupted)")
        me = Owner.me()
        os.ftruncate(handle, 0)
        os.pwrite(handle, me.to_json().encode("utf-8"), 0)
        os.fsync(handle)
        try:
            yield me
        finally:
            os.ftruncate(handle, 0)
    finally:
        os.close(handle)  # closing drops the flock
