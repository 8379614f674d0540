"""Write one file atomically: readers see the old file or the new one, never half of one.

The bytes go to a temporary file beside the target (same folder, so same file system), are
flushed and fsynced, get the mode a plain ``open()`` would give (0o666 less the umask, not
``mkstemp``'s 0o600), and the temporary file then replaces the target with ``os.replace``. On any
error, Ctrl-C included, the temporary file is removed and the old target is left as it was.

Folders go the same way: :func:`staged_folder` gives a new folder beside the target to fill,
and :func:`replace_folder` puts it in place of the old one in one step (the report's file set,
the converted embedded model, a folded checkpoint).

A base module: it imports nothing from sparks' features.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterator

from harness_ext.errors import SparksError
from harness_ext.output_check import current_umask

__all__ = [
    "file_mode",
    "fsync_folder",
    "replace_folder",
    "staged_folder",
    "write_atomic",
    "write_atomic_with",
]

_OLD = "sparks-old"


def file_mode() -> int:
    """The mode a new file gets under the process's umask (what ``open()`` would give)."""
    return 0o666 & ~current_umask()


def write_atomic(
    path: Path, data: bytes | str, *, encoding: str = "utf-8", errors: str = "strict"
) -> Path:
    """Write ``data`` to ``path`` atomically; ``str`` is encoded with ``encoding`` and
    ``errors`` (written as given: no newline translation). Returns ``path``."""
    payload = data.encode(encoding, errors) if isinstance(data, str) else bytes(data)
    return write_atomic_with(path, lambda stream: stream.write(payload))


def write_atomic_with(
    path: Path, write: Callable[[BinaryIO], Any], *, suffix: str = ".tmp"
) -> Path:
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


@contextlib.contextmanager
def staged_folder(
    target: Path, *, owned: Callable[[Path], bool] = lambda path: True, prefix: str | None = None
) -> Iterator[Path]:
    """A new, empty folder beside ``target`` (``mkdir``'s mode) to fill inside the ``with``
    block; when the block ends without error the folder replaces ``target`` whole
    (:func:`replace_folder`, with ``owned``), else it is removed and ``target`` is untouched."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(
        tempfile.mkdtemp(prefix=prefix or f".{target.name}.sparks-new-", dir=target.parent)
    )
    try:
        os.chmod(staging, 0o777 & ~current_umask())  # mkdtemp makes it 0o700
        yield staging
        fsync_folder(staging)
        replace_folder(staging, target, owned=owned)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def replace_folder(new: Path, target: Path, *, owned: Callable[[Path], bool]) -> None:
    """Put the folder ``new`` at ``target``, replacing an owned or empty ``target`` in one step.

    Where the system has an atomic exchange of two paths (Linux ``renameat2``), the old folder
    and the new one trade places at once and the old one is then removed. Elsewhere the old one
    is first renamed aside (stamped, so the next run cleans it up), then the new one moved in.
    """
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        raise SparksError(
            f"{target} exists and is not a folder; sparks will not replace it. "
            f"Choose another output."
        )
    if not target.exists():
        os.rename(new, target)
        return
    if not owned(target) and any(target.iterdir()):
        raise SparksError(
            f"{target} holds files that sparks did not write; it is left "
            f"untouched. Choose another output."
        )
    if _exchange(new, target):
        shutil.rmtree(new, ignore_errors=True)  # `new` now holds the old content
        return
    aside = target.with_name(f".{target.name}.{_OLD}-{os.getpid()}")
    os.rename(target, aside)
    os.rename(new, target)
    shutil.rmtree(aside, ignore_errors=True)


def fsync_folder(folder: Path) -> None:
    """Flush a folder's entries to disk (where the system allows it)."""
    try:
        handle = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(first: Path, second: Path) -> bool:
    """Swap two paths atomically with Linux ``renameat2(RENAME_EXCHANGE)``; False if unsupported.

    Python has no binding for it (os.rename cannot swap), hence ctypes.
    """
    if not sys.platform.startswith("linux"):
        return False
    libc_name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(libc_name, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_uint,
    ]
    result = renameat2(
        _AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE
    )
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False  # the file system cannot exchange: use the rename-aside path
    raise OSError(code, os.strerror(code), str(second))
