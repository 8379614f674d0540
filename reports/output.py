"""Write output files so that a crash, a kill or a full disk never leaves a mixed or half set.

* :func:`write_text_atomic`: one file, through a temporary file in the same folder and
  ``os.replace``: readers see the old file or the new one, never half of one.
* :func:`write_folder_atomic`: a set of files (a report), written into a stamped temporary
  folder beside the target and swapped in whole: the old set or the new set, never a mix.
* :func:`replace_folder` (:mod:`harness_ext.atomic`): swap a finished folder in for an older
  one that sparks made.

Ownership: sparks only replaces folders that carry its stamp file (:data:`STAMP_KEY` in a JSON
file whose name the caller gives), or empty ones. Anything else is refused with the path named.

Files the user added to a folder sparks replaces are kept (:mod:`harness_ext.atomic` keeps a
manifest of what sparks wrote there).

What a crash can leave behind: a hidden ``.NAME.sparks-new-XXXX`` folder (the set being written)
or ``.NAME.sparks-old-XXXX`` (the previous set, on systems without an atomic folder exchange),
next to ``NAME``. Both carry the stamp; the next write into ``NAME`` removes them, unless the
process writing them is still running.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any, Callable, Mapping, Optional

from harness_ext.atomic import (
    STAGING_OWNER,
    file_mode,
    replace_folder,
    staged_folder,
    write_atomic,
)
from harness_ext.locks import Owner

__all__ = [
    "STAMP_KEY",
    "file_mode",
    "is_stamped",
    "leftovers",
    "replace_folder",
    "write_folder_atomic",
    "write_text_atomic",
]

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
    return (
        isinstance(data, dict) and STAMP_KEY in data and (maker is None or data[STAMP_KEY] == maker)
    )


def leftovers(target: Path, stamp_name: str) -> list[Path]:
    """Stamped temporary folders that an interrupted write into ``target`` left beside it
    (not those of a write still running: their owner process is alive)."""
    if not target.parent.is_dir():
        return []
    found = []
    for kind in (_NEW, _OLD):
        for path in target.parent.glob(f".{target.name}.{kind}-*"):
            if path.is_dir() and not path.is_symlink() and is_stamped(path, stamp_name):
                owner = Owner.read(path / STAGING_OWNER)
                if owner is None or owner.gone():
                    found.append(path)
    return sorted(found)


def write_folder_atomic(
    target: Path,
    files: Mapping[str, str],
    *,
    stamp_name: str,
    stamp: Mapping[str, Any],
    owned: Callable[[Path], bool],
) -> list[Path]:
    """Write ``files`` (name -> text) as the whole content of ``target``, all or nothing.

    ``target`` must be absent, empty, or ``owned`` (a sparks folder); otherwise nothing is
    written. The set goes into a stamped temporary folder beside ``target`` first and is then
    swapped in whole, so a failure at any point leaves the earlier set intact. Leftovers of an
    earlier interrupted write are removed first.
    """
    for path in leftovers(target, stamp_name):
        shutil.rmtree(path, ignore_errors=True)
    with staged_folder(target, owned=owned, prefix=f".{target.name}.{_NEW}-") as scratch:
        _write_file(scratch / stamp_name, json.dumps({STAMP_KEY: "sparks", **stamp}, indent=1))
        for name, text in files.items():
            _write_file(scratch / name, text)
    return [target / name for name in files]


def _write_file(path: Path, text: str) -> None:
    # model text may hold lone surrogates, which UTF-8 cannot encode: written as U+FFFD
    with open(path, "w", encoding="utf-8", errors="replace", newline="\n") as stream:
        stream.write(text)
        stream.flush()
        os.fsync(stream.fileno())
    os.chmod(path, file_mode())
