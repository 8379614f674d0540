"""Write one file atomically: readers see the old file or the new one, never half of one.

The bytes go to a temporary file beside the target (same folder, so same file system), are
flushed and fsynced, get the mode a plain ``open()`` would give (0o666 less the umask, not
``mkstemp``'s 0o600), and the temporary file then replaces the target with ``os.replace``. On any
error, Ctrl-C included, the temporary file is removed and the old target is left as it was.

A base module: it imports nothing from sparks' features. Swapping whole folders
(``reports.output.write_folder_atomic``, the folded checkpoint) is not done here.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Any, BinaryIO, Callable

from harness_ext.output_check import current_umask

__all__ = ["file_mode", "write_atomic", "write_atomic_with"]


def file_mode() -> int:
    """The mode a new file gets under the process's umask (what ``open()`` would give)."""
    return 0o666 & ~current_umask()


def write_atomic(path: Path, data: bytes | str, *, encoding: str = "utf-8",
                 errors: str = "strict") -> Path:
    """Write ``data`` to ``path`` atomically; ``str`` is encoded with ``encoding`` and
    ``errors`` (written as given: no newline translation). Returns ``path``."""
    payload = data.encode(encoding, errors) if isinstance(data, str) else bytes(data)
    return write_atomic_with(path, lambda stream: stream.write(payload))


def write_atomic_with(path: Path, write: Callable[[BinaryIO], Any], *,
                      suffix: str = ".tmp") -> Path:
    """Write ``path`` atomically through ``write(stream)``, which writes into a binary stream
    (e.g. ``lambda out: fig.savefig(out, format="png")`` or ``torch.save(tensor, out)``).
    ``suffix`` ends the temporary file's name. Returns ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    try:
        with os.fdopen(handle, "wb") as stream:
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, file_mode())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return path
