"""Where the sparks tasks read their problems: a local data folder, or None for the Hub.

One rule for every entry point (``lm_eval``, ``sparks``, Python): ``--metadata '{"data_dir":
"..."}'``, else ``$SPARKS_DATA_DIR`` (set empty: the Hub), else the data folder that set-up
recorded (``scripts/ensure-venv.sh`` writes the file :data:`DATA_RECORD` in the environment,
``sys.prefix``, when ``../shared/data`` lies beside the clone), else the Hugging Face Hub. An
error about the folder names where it came from (``--metadata data_dir``, ``$SPARKS_DATA_DIR``
or the record) and how to stop using it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Mapping, NamedTuple

from harness_ext.errors import SparksError

DATA_DIR_ENV = "SPARKS_DATA_DIR"
METADATA_ORIGIN = "--metadata data_dir"  # where a folder came from, as error messages say it
ENV_ORIGIN = f"${DATA_DIR_ENV}"
DATA_RECORD = "sparks-data-dir"  # in sys.prefix: the folder set-up recorded (one line)

MATH_FILES = "amc.jsonl, aime.jsonl and math500.jsonl"
# the control tasks' local files and their line format, for messages
CONTROL_FORMATS = {
    "gpqa_diamond.jsonl": '{"id", "question", "correct_answer", "incorrect_answers": '
    '[3 strings], "domain" (optional)}',
    "triviaqa.jsonl": '{"id", "question", "answer", "aliases" (optional list of strings)}',
}


class DataFolder(NamedTuple):
    """A local data folder and where it was named (``--metadata data_dir`` or the variable)."""

    path: Path
    origin: str


def data_folder(options: Mapping[str, Any]) -> DataFolder | None:
    """The local data folder: ``--metadata data_dir``, else ``$SPARKS_DATA_DIR``, else the
    folder set-up recorded (:func:`recorded_data_dir`), else None (the Hub).

    An empty ``$SPARKS_DATA_DIR`` means the Hub; a ``data_dir`` that is not a non-empty path
    is an error (naming ``--metadata data_dir``), never a silent fall-back.
    """
    if "data_dir" in options:
        return DataFolder(_metadata_data_dir(options["data_dir"]), METADATA_ORIGIN)
    if DATA_DIR_ENV in os.environ:
        folder = os.environ[DATA_DIR_ENV].strip()
        return DataFolder(Path(folder).expanduser(), ENV_ORIGIN) if folder else None
    return recorded_data_dir()


def recorded_data_dir() -> DataFolder | None:
    """The data folder recorded at set-up in ``sys.prefix/sparks-data-dir``, if any."""
    record = Path(sys.prefix) / DATA_RECORD
    try:
        folder = record.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return DataFolder(Path(folder), f"the folder recorded at set-up ({record})") if folder else None


def data_dir(options: Mapping[str, Any]) -> Path | None:
    """The local data folder (see :func:`data_folder`), or None for the Hub."""
    folder = data_folder(options)
    return folder.path if folder is not None else None


def _metadata_data_dir(value: Any) -> Path:
    example = '--metadata \'{"data_dir": "/path/to/data"}\''
    if not isinstance(value, (str, os.PathLike)):
        raise SparksError(
            f"{METADATA_ORIGIN}={value!r} ({type(value).__name__}) is not a folder "
            f"path. Give the folder as a string, e.g. {example}."
        )
    if not str(value).strip():
        raise SparksError(
            f"{METADATA_ORIGIN} is empty. Give a folder, e.g. {example}, or leave "
            f"data_dir out to use ${DATA_DIR_ENV} or the Hugging Face Hub."
        )
    return Path(value).expanduser()


def _instead(origin: str, hub_name: str) -> str:
    """How to stop using a local folder named by ``origin``."""
    hub = f"{hub_name} from the Hugging Face Hub"
    if origin == METADATA_ORIGIN:
        return f"or leave data_dir out of --metadata to use ${DATA_DIR_ENV} or {hub}"
    if origin == ENV_ORIGIN:
        return f"or set {DATA_DIR_ENV} empty to load {hub}"
    return f"or set {DATA_DIR_ENV} empty to load {hub}, or delete that record"


def holding(file_name: str) -> str:
    """The files a data folder should hold, as messages about ``file_name`` name them."""
    return file_name if file_name in CONTROL_FORMATS else MATH_FILES


def shape(file_name: str) -> str:
    """How the lines of ``file_name`` are shaped, for messages."""
    if file_name in CONTROL_FORMATS:
        return f"one JSON object per line, {CONTROL_FORMATS[file_name]}"
    return "shaped like the project's shared/data"


def local_file(folder: DataFolder, file_name: str, hub_name: str) -> Path:
    """``folder/file_name``, checked: the error names where the folder came from."""
    where, instead = f"{folder.origin} is {folder.path}", _instead(folder.origin, hub_name)
    if not folder.path.is_dir():
        state = "a file" if folder.path.exists() else "does not exist"
        raise SparksError(
            f"{where}, which is not a folder ({state}). Point it at the folder "
            f"holding {holding(file_name)}, {instead}."
        )
    path = folder.path / file_name
    if not path.is_file():
        raise SparksError(
            f"{where}, but {path} does not exist. Put {holding(file_name)} "
            f"there ({shape(file_name)}), {instead}."
        )
    return path
