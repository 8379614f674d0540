"""Write output files so that a crash, a kill or a full disk never leaves a mixed or half set.

* :func:`write_text_atomic`: one file, through a temporary file in the same folder and
  ``os.replace``: readers see the old file or the new one, never half of one.
* :func:`write_folder_atomic`: a set of files (a report), written into a stamped temporary
  folder beside the target and swapped in whole: the old set or the new set, never a mix.
* :func:`replace_folder`: swap a finished folder in for an older one that sparks made.

Ownership: sparks only replaces folders that carry its stamp file (:data:`STAMP_KEY` in a JSON
file whose name the caller gives), or empty ones. Anything else is refused with the path named.

What a crash can leave behind: a hidden ``.NAME.sparks-new-XXXX`` folder (the set being written)
or ``.NAME.sparks-old-XXXX`` (the previous set, on systems without an atomic folder exchange),
next to ``NAME``. Both carry the stamp; the next write into ``NAME`` removes them.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable, Mapping, Optional

from harness_ext.atomic import file_mode, write_atomic
from harness_ext.errors import SparksError
from harness_ext.output_check import current_umask

__all__ = ["STAMP_KEY", "file_mode", "is_stamped", "leftovers", "replace_folder",
           "write_folder_atomic", "write_text_atomic"]

STAMP_KEY = "made_by"
_NEW, _OLD = "sparks-new", "sparks-old"


def write_text_atomic(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` so that readers see the old file or the new one, never half
    (:func:`harness_ext.atomic.write_atomic`). Lone surrogates, which model text may hold and
    UTF-8 cannot encode, are replaced (``errors="replace"``: written as ``?``)."""
    return write_atomic(path, text, errors="replace")


def is_stamped(folder: Path, stamp_name: str, maker: Optional[str] = None) -> bool:
    """True when ``folder`` holds sparks' stamp file ``stamp_name`` (made by ``maker``, if given)."""
    try:
        data = json.loads((folder / stamp_name).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    return isinstance(data, dict) and STAMP_KEY in data and (
        maker is None or data[STAMP_KEY] == maker)


def leftovers(target: Path, stamp_name: str) -> list[Path]:
    """Stamped temporary folders that an interrupted write into ``target`` left beside it."""
    if not target.parent.is_dir():
        return []
    found = []
    for kind in (_NEW, _OLD):
        for path in target.parent.glob(f".{target.name}.{kind}-*"):
            if path.is_dir() and not path.is_symlink() and is_stamped(path, stamp_name):
                found.append(path)
    return sorted(found)


def write_folder_atomic(target: Path, files: Mapping[str, str], *, stamp_name: str,
                        stamp: Mapping[str, Any], owned: Callable[[Path], bool]) -> list[Path]:
    """Write ``files`` (name -> text) as the whole content of ``target``, all or nothing.

    ``target`` must be absent, empty, or ``owned`` (a sparks folder); otherwise nothing is
    written. The set goes into a stamped temporary folder beside ``target`` first and is then
    swapped in whole, so a failure at any point leaves the earlier set intact. Leftovers of an
    earlier interrupted write are removed first.
    """
    for path in leftovers(target, stamp_name):
        shutil.rmtree(path, ignore_errors=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{target.name}.{_NEW}-", dir=target.parent))
    try:
        os.chmod(scratch, 0o777 & ~current_umask())
        _write_file(scratch / stamp_name, json.dumps({STAMP_KEY: "sparks", **stamp}, indent=1))
        for name, text in files.items():
            _write_file(scratch / name, text)
        _fsync_folder(scratch)
        replace_folder(scratch, target, owned=owned)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    return [target / name for name in files]


def replace_folder(new: Path, target: Path, *, owned: Callable[[Path], bool]) -> None:
    """Put the folder ``new`` at ``target``, replacing an owned or empty ``target`` in one step.

    Where the system has an atomic exchange of two paths (Linux ``renameat2``), the old folder
    and the new one trade places at once and the old one is then removed. Elsewhere the old one
    is first renamed aside (stamped, so the next run cleans it up), then the new one moved in.
    """
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        raise SparksError(f"{target} exists and is not a folder; sparks will not replace it. "
                          f"Choose another output.")
    if not target.exists():
        os.rename(new, target)
        return
    if not owned(target) and any(target.iterdir()):
        raise SparksError(f"{target} holds files that sparks did not write; it is left "
                          f"untouched. Choose another output.")
    if _exchange(new, target):
        shutil.rmtree(new, ignore_errors=True)  # `new` now holds the old content
        return
    aside = target.with_name(f".{target.name}.{_OLD}-{os.getpid()}")
    os.rename(target, aside)
    os.rename(new, target)
    shutil.rmtree(aside, ignore_errors=True)


def _write_file(path: Path, text: str) -> None:
    # model text may hold lone surrogates, which UTF-8 cannot encode: written as U+FFFD
    with open(path, "w", encoding="utf-8", errors="replace", newline="\n") as stream:
        stream.write(text)
        stream.flush()
        os.fsync(stream.fileno())
    os.chmod(path, file_mode())


def _fsync_folder(folder: Path) -> None:
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
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                          ctypes.c_uint]
    result = renameat2(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second),
                       _RENAME_EXCHANGE)
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False  # the file system cannot exchange: use the rename-aside path
    raise OSError(code, os.strerror(code), str(second))
