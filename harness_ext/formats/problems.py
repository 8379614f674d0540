"""Reading a JSON file format and saying, in one line, what is wrong with it.

pydantic's ``ValidationError`` lists every failed field over many lines; users get one line
instead: the file, its first problems, and the fix (:func:`explain`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping, Sequence

from pydantic import ValidationError

from harness_ext.errors import SparksError

__all__ = ["describe", "explain", "parse_json", "read_json"]

SHOWN = 3  # problems named in one message (the rest are counted)


def read_json(path: Path, what: str, missing_fix: str, fix: str) -> Any:
    """The parsed JSON of ``path``; :class:`SparksError` naming ``what`` (e.g. "heads file")
    when the file is missing (``missing_fix``), unreadable or not JSON (``fix``)."""
    if not path.is_file():
        raise SparksError(f"{what} not found: {path} ({missing_fix})")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise SparksError(f"{what} {path} cannot be read ({error}); {fix}") from None
    return parse_json(text, f"{what} {path}", fix)


def parse_json(text: str, source: str, fix: str) -> Any:
    """``text`` parsed as JSON (NaN and Infinity accepted, as Python writes them)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise SparksError(f"{source} is not valid JSON: {error}; {fix}") from None


def explain(
    error: ValidationError,
    source: str,
    fix: str,
    *,
    what: str = "file",
    entries: Mapping[str, str] | None = None,
) -> str:
    """One line for ``error``: ``source`` is not a valid ``what``, its first problems grouped
    by list entry, and ``fix``.

    Top-level keys that are missing come first (``missing 'a', 'b'``); a problem inside a list
    entry is told as ``malformed LABEL KEY[i]: ...`` with ``entries[KEY]`` as the label
    (default ``entry``), e.g. ``malformed head entry heads[3]: 'effect' is missing``.
    """
    missing: list[str] = []
    groups: dict[str, list[str]] = {}
    for item in error.errors():
        loc = tuple(item["loc"])
        if item["type"] == "missing" and len(loc) == 1:
            missing.append(f"'{loc[0]}'")
            continue
        label, rest = "", loc
        if len(loc) >= 2 and isinstance(loc[1], int):
            label = f"malformed {(entries or {}).get(str(loc[0]), 'entry')} {loc[0]}[{loc[1]}]"
            rest = loc[2:]
        groups.setdefault(label, []).append(describe(item, rest))
    problems = [f"missing {', '.join(missing)}"] if missing else []
    for label, texts in groups.items():
        shown = ", ".join(texts[:SHOWN]) + (
            f" and {len(texts) - SHOWN} more" if len(texts) > SHOWN else ""
        )
        problems.append(f"{label}: {shown}" if label else shown)
    more = f" (and {len(problems) - SHOWN} more)" if len(problems) > SHOWN else ""
    return f"{source} is not a valid {what}: {'; '.join(problems[:SHOWN])}{more}; {fix}"


def describe(item: Mapping[str, Any], loc: Sequence[Any]) -> str:
    """One pydantic error ``item`` at ``loc`` in words: ``'head' is missing``,
    ``layer: input should be greater than or equal to 0 (got -1)``."""
    where = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc).lstrip(
        "."
    )
    if item["type"] == "missing" and loc:
        parent = where.rpartition(".")[0] if isinstance(loc[-1], str) else where
        return f"{parent + ': ' if parent else ''}'{loc[-1]}' is missing"
    message = str(item["msg"]).removeprefix("Value error, ")
    message = message[:1].lower() + message[1:]
    value = item.get("input")
    got = (
        f" (got {_short(value)})"
        if isinstance(value, (str, int, float, bool, type(None))) and item["type"] != "value_error"
        else ""
    )
    return f"{where}: {message}{got}" if where else f"{message}{got}"


def _short(value: Any, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
