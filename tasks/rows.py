"""The row every sparks loader returns, and the checks that make it trustworthy.

Rows share one schema (``problem_id``, ``problem``, ``answer``, ``number``, ``tier``,
``source``; see :mod:`.data`). Each line of a local file is checked, and an error names the
file, the line, the field and its value: no ``null`` becomes the answer ``"None"``, no ``1.7``
is truncated to 1, no problem id appears twice, no file is empty. A Hub row of another shape
names the data set and the row.
"""

from __future__ import annotations

import json
import math
import re
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from harness_ext.errors import SparksError

from .folder import DATA_DIR_ENV, shape

INTEGER = re.compile(r"[+-]?[0-9]+")

Row = dict[str, Any]


def read_jsonl(path: Path, required: tuple[str, ...]) -> Iterator[tuple[int, Row]]:
    """Yield ``(line number, object)`` for each line; malformed lines name file and line."""
    with path.open("rb") as lines:
        for number, raw in enumerate(lines, start=1):
            line = _decoded(path, number, raw)
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                raise SparksError(
                    f"{path}:{number}: not valid JSON ({error.msg}). Fix or remove that line."
                ) from None
            if not isinstance(row, dict):
                raise SparksError(f"{path}:{number}: expected a JSON object per line.")
            missing = [key for key in required if key not in row]
            if missing:
                raise SparksError(
                    f"{path}:{number}: missing field(s) {', '.join(missing)} "
                    f"(each line needs {', '.join(required)})."
                )
            yield number, row


def _decoded(path: Path, number: int, raw: bytes) -> str:
    try:  # utf-8-sig: a byte-order mark (some editors write one) is no part of the JSON
        return raw.decode("utf-8-sig" if number == 1 else "utf-8")
    except UnicodeDecodeError as error:
        raise SparksError(
            f"{path}:{number}: not UTF-8 text (byte {raw[error.start]:#04x} at "
            f"offset {error.start} of the line); is it a binary file? The data "
            f"files are JSON Lines in UTF-8, one problem per line."
        ) from None


def read_problems(path: Path, required: tuple[str, ...]) -> list[tuple[int, Row]]:
    """Every ``(line number, object)`` of a data file, refusing an empty file and repeated ids."""
    lines = list(read_jsonl(path, required))
    if not lines:
        lines_shape = shape(path.name).removeprefix("one JSON object per line, ")
        raise SparksError(
            f"{path} holds no problems (it is empty or only blank lines). Fill it "
            f"with one JSON object per line, {lines_shape}."
        )
    first_line: dict[str, int] = {}
    for number, row in lines:
        with line_checked(path, number):
            problem_id = checked_id(row["id"])
        if problem_id in first_line:
            raise SparksError(
                f"{path}:{number}: problem id {problem_id!r} already appears on line "
                f"{first_line[problem_id]}. Each problem needs its own id (runs are compared "
                f"problem by problem, by id): remove the repeated line or give it its own id."
            )
        first_line[problem_id] = number
    return lines


def make_row(
    problem_id: Any, problem: Any, answer: Any, number: Any, tier: str, source: str
) -> Row:
    """A row of the shared schema, each field checked (a ValueError names the bad one)."""
    return {
        "problem_id": checked_id(problem_id),
        "problem": checked_text(problem, "problem"),
        "answer": checked_answer(answer),
        "number": checked_integer(number, "number"),
        "tier": tier,
        "source": source,
    }


def checked_id(value: Any) -> str:
    """A problem id: a non-empty string, or an integer (as text)."""
    if isinstance(value, bool) or not isinstance(value, (str, int)) or not str(value).strip():
        raise ValueError(
            f'"id" {json_text(value)} is not a problem id (a non-empty string such as "2024-I-5")'
        )
    return str(value).strip()


def checked_text(value: Any, field: str) -> str:
    """A non-empty string, as written."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f'"{field}" {json_text(value)} is not a non-empty string')
    return value


def checked_integer(value: Any, field: str) -> int:
    """A whole number from JSON: ints, integral floats (2.0) and digit strings; nothing rounded."""
    if isinstance(value, str) and INTEGER.fullmatch(value.strip()):
        return int(value)
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise ValueError(f'"{field}" {json_text(value)} is not a whole number')


def checked_answer(value: Any) -> str:
    """Gold answers as strings; integral floats (the AMC hub set's 142.0) lose their ``.0``."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f'"answer" {json_text(value)} is not a finite number')
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    raise ValueError(
        f'"answer" {json_text(value)} is not a gold answer (a non-empty string such as '
        f'"142" or "\\\\frac{{14}}{{3}}", or a number)'
    )


def json_text(value: Any) -> str:
    """``value`` as it reads in the data file (null, true, "text"), for messages."""
    if isinstance(value, float) and not math.isfinite(value):
        return f"{value} (too large for a number)" if math.isinf(value) else "NaN"
    text = json.dumps(value, ensure_ascii=False, default=repr)
    return text if len(text) <= 60 else text[:57] + "..."


@contextmanager
def line_checked(path: Path, number: int) -> Iterator[None]:
    """A bad value read on line ``number`` of ``path`` is a SparksError naming the line."""
    try:
        yield
    except (TypeError, ValueError) as error:
        raise SparksError(f"{path}:{number}: {error}. Fix that line.") from None


@contextmanager
def hub_checked(name: str, index: int) -> Iterator[None]:
    """A Hub row of another shape is a SparksError naming the data set and the row."""
    try:
        yield
    except (TypeError, ValueError, KeyError) as error:
        problem = f"no field {error}" if isinstance(error, KeyError) else str(error)
        raise SparksError(
            f"{name}, row {index}: {problem}. The Hub data set changed shape; set "
            f"{DATA_DIR_ENV} to a folder of local files instead."
        ) from None


def unique_ids(name: str, rows: list[Row]) -> list[Row]:
    """``rows`` of a Hub data set, refused if a problem id repeats (runs pair problems by id)."""
    first: dict[str, int] = {}
    for index, row in enumerate(rows, start=1):
        if row["problem_id"] in first:
            raise SparksError(
                f"{name}: problem id {row['problem_id']!r} appears in rows "
                f"{first[row['problem_id']]} and {index}; runs are compared by id. "
                f"Set {DATA_DIR_ENV} to a folder of local files instead."
            )
        first[row["problem_id"]] = index
    return rows
