"""Write one file atomically: readers see the old file or the new one, never half of one.

The bytes go to a temporary file beside the target (same folder, so same file system), are
flushed and fsynced, get the mode a plain ``open()`` would give (0o666 less the umask, not
``mkstemp``'s 0o600), and the temporary file then replaces the target with ``os.replace``. On any
error, Ctrl-C included, the temporary file is removed and the old target is left as it was.

Folders go the same way: :func:`staged_folder` gives a new folder beside the target to fill,
and :func:`replace_folder` puts it in place of the old one in one step (the report's file set,
the converted embedded model, a folded checkpoint, a ``sparks regress`` run).

Nothing the user made is lost. Each folder sparks swaps in holds a manifest
(:data:`MANIFEST`) of the files sparks wrote there. When it is replaced, every other entry of
the old folder (a ``NOTES.md`` the user added) is hard-linked (copied where links are not
possible) into the new folder *before* the swap: the new set, the user's files included,
appears whole or not at all. A folder without a manifest (written by an older sparks, or
replaced with ``--force``) is taken as all sparks'.

A staging folder carries an owner record (:data:`STAGING_OWNER`: pid, host, start, command)
while it is filled; the next write beside the same target removes staging folders whose
owner process is gone (a killed ``sparks fold`` leaves a whole checkpoint there).

A base module: it imports nothing from sparks' features.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import json
import os
import shutil
import socket
import sys
import tempfile
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO, Callable, Iterator

from harness_ext.errors import SparksError
from harness_ext.locks import Owner
from harness_ext.output_check import current_umask

__all__ = [
    "MANIFEST",
    "STAGING_OWNER",
    "file_mode",
    "fsync_folder",
    "read_manifest",
    "remove_stale_staging",
    "replace_folder",
    "stale_staging",
    "staged_folder",
    "user_entries",
    "write_atomic",
    "write_atomic_with",
]

_NEW, _OLD = "sparks-new", "sparks-old"
MANIFEST = ".sparks-manifest.json"  # the files sparks wrote into a folder it swapped in
STAGING_OWNER = ".sparks-staging.json"  # who fills a staging folder (pid, host, start)


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
    (:func:`replace_folder`, with ``owned``: the user's files in ``target`` are kept), else it
    is removed and ``target`` is untouched. Staging folders of earlier writes whose process is
    gone (a killed run) are removed first."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_staging(target)
    staging = Path(tempfile.mkdtemp(prefix=prefix or f".{target.name}.{_NEW}-", dir=target.parent))
    try:
        os.chmod(staging, 0o777 & ~current_umask())  # mkdtemp makes it 0o700
        (staging / STAGING_OWNER).write_text(Owner.me().to_json(), encoding="utf-8")
        yield staging
        fsync_folder(staging)
        replace_folder(staging, target, owned=owned)
        # the owner record goes once the folder is in place (until then it marks it as busy)
        (target / STAGING_OWNER).unlink(missing_ok=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def stale_staging(target: Path) -> list[Path]:
    """sparks' staging folders beside ``target`` (``.NAME.sparks-new-*`` with an owner record,
    or ``.NAME.sparks-old-PID``) whose process is gone: what a killed write left behind."""
    target = Path(target)
    if not target.parent.is_dir():
        return []
    found = []
    for path in target.parent.glob(f".{target.name}.{_NEW}-*"):
        if path.is_dir() and not path.is_symlink():
            owner = Owner.read(path / STAGING_OWNER)
            if owner is not None and owner.gone():
                found.append(path)
    if target.is_dir():  # an aside folder is the only copy while ``target`` is missing
        for path in target.parent.glob(f".{target.name}.{_OLD}-*"):
            pid = path.name.rsplit("-", 1)[-1]
            if path.is_dir() and not path.is_symlink() and pid.isdigit():
                if Owner(int(pid), socket.gethostname(), "", "").gone():
                    found.append(path)
    return sorted(found)


def remove_stale_staging(target: Path) -> list[Path]:
    """Remove :func:`stale_staging` folders beside ``target``; returns them."""
    stale = stale_staging(target)
    for path in stale:
        shutil.rmtree(path, ignore_errors=True)
    return stale


def replace_folder(new: Path, target: Path, *, owned: Callable[[Path], bool]) -> None:
    """Put the folder ``new`` at ``target``, replacing an owned or empty ``target`` in one step.

    ``new`` gets a manifest (:data:`MANIFEST`) of its files. The entries of ``target`` that
    its manifest does not list (the user's) are linked into ``new`` first; one that ``new``
    also has is refused, naming it, and nothing is replaced.

    Where the system has an atomic exchange of two paths (Linux ``renameat2``), the old folder
    and the new one trade places at once and the old one is then removed. Elsewhere the old one
    is first renamed aside (stamped, so the next run cleans it up), then the new one moved in.
    """
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        raise SparksError(
            f"{target} exists and is not a folder; sparks will not replace it. "
            f"Choose another output."
        )
    written = _files(new)
    if not target.exists():
        _write_manifest(new, written)
        os.rename(new, target)
        return
    if not owned(target) and any(target.iterdir()):
        raise SparksError(
            f"{target} holds files that sparks did not write; it is left "
            f"untouched. Choose another output."
        )
    _keep_user_entries(target, new, written)
    _write_manifest(new, written)
    if _exchange(new, target):
        shutil.rmtree(new, ignore_errors=True)  # `new` now holds the old content
        return
    aside = target.with_name(f".{target.name}.{_OLD}-{os.getpid()}")
    os.rename(target, aside)
    os.rename(new, target)
    shutil.rmtree(aside, ignore_errors=True)


def user_entries(folder: Path) -> list[str]:
    """The entries of ``folder`` that sparks did not write (relative POSIX paths: files,
    links and empty folders its manifest does not list); none without a manifest."""
    listed = read_manifest(folder)
    if listed is None:
        return []
    listed = listed | {MANIFEST, STAGING_OWNER}
    parents = {str(PurePosixPath(name).parent) for name in listed}
    parents |= {str(parent) for name in parents for parent in PurePosixPath(name).parents}
    found = []
    for path in _walk(folder):
        name = path.relative_to(folder).as_posix()
        if path.is_dir() and not path.is_symlink():
            if name not in parents and not any(path.iterdir()):
                found.append(name)  # an empty folder the user made
        elif name not in listed:
            found.append(name)
    return sorted(found)


def read_manifest(folder: Path) -> set[str] | None:
    """The files sparks wrote into ``folder`` (its :data:`MANIFEST`), or None without one."""
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, list):
        return None
    return {str(name) for name in files}


def _walk(folder: Path) -> Iterator[Path]:
    """Every entry under ``folder``, folders before their content; links are not followed."""
    for root, dirs, files in os.walk(folder):
        base = Path(root)
        for name in sorted(dirs):
            yield base / name
        for name in sorted(files):
            yield base / name


def _files(folder: Path) -> list[str]:
    """The files and links under ``folder``, as relative POSIX paths (sparks' own records out)."""
    names = [
        path.relative_to(folder).as_posix()
        for path in _walk(folder)
        if path.is_symlink() or not path.is_dir()
    ]
    return sorted(name for name in names if name not in (MANIFEST, STAGING_OWNER))


def _write_manifest(folder: Path, files: list[str]) -> None:
    record = {"made_by": "sparks", "files": files}
    with open(folder / MANIFEST, "w", encoding="utf-8") as stream:
        stream.write(json.dumps(record, indent=1) + "\n")
        stream.flush()
        os.fsync(stream.fileno())
    os.chmod(folder / MANIFEST, file_mode())


def _keep_user_entries(old: Path, new: Path, written: list[str]) -> None:
    """Link the user's entries of ``old`` into ``new`` (same file system: hard links, which
    share the data and leave ``old`` whole until the swap; a copy where links fail)."""
    entries = user_entries(old)
    clashes = [name for name in entries if (new / name).exists() or (new / name).is_symlink()]
    if clashes:
        raise SparksError(
            f"{old} holds {', '.join(clashes)}, which sparks did not write but now would; "
            f"nothing was replaced. Move or rename {'them' if len(clashes) > 1 else 'it'} "
            f"and run again"
        )
    for name in entries:
        source, copy = old / name, new / name
        copy.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            os.symlink(os.readlink(source), copy)
        elif source.is_dir():
            copy.mkdir()
        else:
            try:
                os.link(source, copy)
            except OSError:
                shutil.copy2(source, copy)


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
