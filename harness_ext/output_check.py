"""Check that an output path can be written before any work starts, so that a long run does not
end in a ``PermissionError``. Nothing is created: the check asks the operating system
(``os.access``) about the path, or its nearest existing parent when it does not exist yet.
"""

from __future__ import annotations

import os
from pathlib import Path

from harness_ext.errors import SparksError

__all__ = ["KINDS", "check_writable", "current_umask"]

KINDS = ("file", "folder")
_WRITE = os.W_OK | os.X_OK  # creating or replacing an entry needs both on its folder
_FIX = "pick another -o"


def check_writable(path: Path, what: str, kind: str = "file") -> None:
    """Raise :class:`SparksError` unless ``path`` can be written as a ``kind`` (``"file"`` or
    ``"folder"``), missing parent folders included. ``what`` names the output in the message,
    e.g. ``"the heads file (-o)"``.

    Refused: an existing path of the other kind, a file that is not writable, and a folder
    (``path`` itself for an existing folder, else its nearest existing parent) that is not
    writable or is a file.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    path = Path(path)
    # os.path's tests, not Path's: they answer False where a parent folder denies access
    exists, is_dir = os.path.lexists(path), os.path.isdir(path)
    if kind == "file" and is_dir:
        raise SparksError(
            f"{what} {path} is a folder, where a file is wanted; give a file name "
            f"inside it, or {_FIX}"
        )
    if kind == "folder" and exists and not is_dir:
        raise SparksError(f"{what} {path} is a file, where a folder is wanted; {_FIX}")
    if kind == "folder" and is_dir:
        _check_folder(path, path, what)
        return
    if os.path.isfile(path) and not _access(path, os.W_OK):
        raise SparksError(
            f"cannot write {what} {path}: the file exists and is not writable; "
            f"{_FIX}, or make it writable"
        )
    _check_folder(_nearest_existing(path.parent), path, what)


def _check_folder(folder: Path, path: Path, what: str) -> None:
    """``folder`` (``path`` itself or a parent of it) must be a writable folder."""
    if not os.path.isdir(folder):
        raise SparksError(
            f"cannot write {what} {path}: {folder} is a file, so no folder can be "
            f"made there; {_FIX}"
        )
    if not _access(folder, _WRITE):
        where = "it" if folder == path else f"its folder {folder}"
        raise SparksError(
            f"cannot write {what} {path}: {where} is not writable (permission denied); {_FIX}"
        )


def _nearest_existing(folder: Path) -> Path:
    """``folder`` or its closest ancestor that exists (the current folder for a relative path)."""
    folder = Path(os.path.abspath(folder))
    while not os.path.lexists(folder) and folder != folder.parent:
        folder = folder.parent
    return folder


def _access(path: Path, mode: int) -> bool:
    if os.access in os.supports_effective_ids:  # setuid programs: the rights that will be used
        return os.access(path, mode, effective_ids=True)
    return os.access(path, mode)


def current_umask() -> int:
    """The process's umask, for giving atomically written files (``mkstemp``: 0o600, ``mkdtemp``:
    0o700) the mode a plain ``open()`` or ``mkdir()`` would. Reading it means setting it; it is
    put back at once."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
