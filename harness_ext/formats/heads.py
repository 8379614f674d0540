"""``heads.json`` (format ``sparks-heads/1``), the file of ``sparks discover``: one typed model.

:class:`HeadsFile` reads, checks and writes the whole file, as docs/discover.md describes it:
the emergent heads in rank order, one entry per head, both circuits and their statistics, the
settings, and what ``--edges``, ``--compare-thinking`` and ``--checkpoints`` add. Every
``sparks-heads/1`` file reads, the first release's too (no ``circuits``, no
``settings.circuit``: those keys are optional). :func:`read_emergent_heads` is the lenient
reader behind ``zero:@heads.json#N``: a hand-written file with only an ``emergent`` list, or
only ``heads`` flagged ``emergent``, is enough there.

pydantic, not hand-written checks: the schema is nested lists of typed entries, pydantic is a
dependency already (``sparks regress`` specs), and its errors carry the location of each bad
field, which :func:`~harness_ext.formats.problems.explain` turns into one line. A base module:
it imports nothing from sparks' features.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Literal, Mapping

from pydantic import TypeAdapter, ValidationError, model_validator

from harness_ext.atomic import write_atomic
from harness_ext.errors import SparksError
from harness_ext.formats.heads_parts import (
    Appearance,
    Change,
    Checkpoint,
    Circuits,
    CircuitStats,
    CompensatoryHead,
    Correlation,
    Dynamics,
    Edge,
    Edges,
    EmergentHead,
    Head,
    HeadEntry,
    Overlap,
    Part,
    Settings,
    Stability,
    Transition,
)
from harness_ext.formats.problems import describe, explain, parse_json, read_json

__all__ = [
    "FORMAT",
    "Appearance",
    "Change",
    "Checkpoint",
    "CircuitStats",
    "Circuits",
    "CompensatoryHead",
    "Correlation",
    "Dynamics",
    "Edge",
    "Edges",
    "EmergentHead",
    "Head",
    "HeadEntry",
    "HeadsFile",
    "Overlap",
    "Settings",
    "Transition",
    "read_emergent_heads",
    "read_heads_json",
]

FORMAT = "sparks-heads/1"
FIX = f"write it with `sparks discover` ({FORMAT}, described in docs/discover.md)"
_MISSING_FIX = "write one with `sparks discover`"
_ENTRIES = {
    "heads": "head entry",
    "emergent": "emergent head",
    "checkpoints": "checkpoint series entry",
    "transitions": "checkpoint series entry",
    "appearance": "checkpoint series entry",
}
LENIENT_FORM = (
    "a JSON object with 'emergent': [{'layer': L, 'head': H}, ...] or 'heads': "
    "[{'layer': L, 'head': H, 'emergent': true, 'effect': 0.4}, ...]"
)


class HeadsFile(Part):
    """A whole ``heads.json``. Build one with :meth:`read`, :meth:`from_json` or
    :meth:`from_data`; write it with :meth:`write` (atomically) or :meth:`to_json`."""

    format: Literal["sparks-heads/1"]
    emergent: tuple[EmergentHead, ...]
    emergent_rule: str
    circuit_post: tuple[Head, ...]
    circuit_base: tuple[Head, ...] | None  # null without a base
    circuits: Circuits | None = None  # absent from the first release's files
    heads: tuple[HeadEntry, ...]  # every layer and head; not empty
    settings: Settings
    edges: Edges | None = None  # --edges
    compensatory: tuple[CompensatoryHead, ...] | None = None  # --compare-thinking
    compensatory_rule: str | None = None
    checkpoints: tuple[Checkpoint, ...] | None = None  # --checkpoints: the series
    transitions: tuple[Transition, ...] | None = None
    appearance: tuple[Appearance, ...] | None = None
    dynamics: Dynamics | None = None
    stability: Stability | None = None  # --bootstrap

    @model_validator(mode="after")
    def _consistent(self) -> HeadsFile:
        if not self.heads:
            raise ValueError("'heads' is empty; it lists every head of the model")
        seen: set[tuple[int, int]] = set()
        for entry in self.heads:
            if entry.pair in seen:
                raise ValueError(f"head L{entry.layer}H{entry.head} is listed twice in 'heads'")
            seen.add(entry.pair)
        for head in self.emergent:
            if head.pair not in seen:
                raise ValueError(f"emergent head L{head.layer}H{head.head} is not in 'heads'")
        if self.checkpoints is None and (self.appearance or self.transitions):
            raise ValueError("'appearance' and 'transitions' need the 'checkpoints' they refer to")
        count = len(self.checkpoints or ())
        if any(
            len(a.emergent) != count or len(a.in_circuit_post) != count
            for a in self.appearance or ()
        ):
            raise ValueError(f"'appearance' flags do not match its {count} checkpoints")
        return self

    # ---------------------------------------------------------------- reading and writing

    @classmethod
    def from_data(cls, data: Any, *, source: str = "heads data") -> HeadsFile:
        """The file of a parsed JSON object (or a writer's dict); :class:`SparksError` naming
        ``source``, the problems and the fix when it is not a valid sparks-heads/1 file."""
        if isinstance(data, HeadsFile):
            return data
        if not isinstance(data, Mapping):
            raise SparksError(f"{source} holds {_kind(data)}, not a JSON object; {FIX}")
        check_format(data, source)
        try:
            return cls.model_validate(dict(data))
        except ValidationError as error:
            raise SparksError(
                explain(error, source, FIX, what=f"{FORMAT} file", entries=_ENTRIES)
            ) from None

    @classmethod
    def from_json(cls, source: str | os.PathLike[str]) -> HeadsFile:
        """From a path (``Path`` or other ``os.PathLike``: the file is read) or from JSON
        text (a ``str``)."""
        if isinstance(source, os.PathLike):
            return cls.read(Path(source))
        return cls.from_data(parse_json(source, "heads JSON text", FIX), source="heads JSON text")

    @classmethod
    def read(cls, path: Path) -> HeadsFile:
        """The heads file at ``path``; :class:`SparksError` when it is missing or not one."""
        path = Path(path)
        return cls.from_data(read_heads_json(path), source=f"heads file {path}")

    def to_data(self) -> dict[str, Any]:
        """The JSON object, keys in the writer's order; keys the file lacked stay absent."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)

    def to_json(self) -> str:
        """The file's text: indented JSON and a final newline (``json.dumps``, so NaN as
        Python writes it)."""
        return json.dumps(self.to_data(), indent=1) + "\n"

    def write(self, path: Path) -> Path:
        """Write the file at ``path`` atomically (:func:`harness_ext.atomic.write_atomic`)."""
        return write_atomic(Path(path), self.to_json())

    # ---------------------------------------------------------------- what readers ask

    @property
    def n_layers(self) -> int:
        return 1 + max(entry.layer for entry in self.heads)

    @property
    def n_heads(self) -> int:
        """Heads per layer."""
        return 1 + max(entry.head for entry in self.heads)

    @property
    def has_base(self) -> bool:
        """Whether a base model (or thinking off) was attributed: effects are known."""
        return self.circuit_base is not None

    def emergent_heads(self) -> list[tuple[int, int]]:
        """The emergent heads in rank order, as ``(layer, head)``."""
        return [head.pair for head in self.emergent]

    def grid(self, key: str) -> list[list[Any]]:
        """The ``heads`` entries' ``key`` (e.g. ``importance_post``, ``effect``) as a layer x
        head grid; None where the value is null or a head has no entry."""
        if key not in HeadEntry.model_fields:
            raise ValueError(f"{key!r} is not a field of a head entry")
        n_heads = self.n_heads  # computed once: each access scans the entries
        grid: list[list[Any]] = [[None] * n_heads for _ in range(self.n_layers)]
        for entry in self.heads:
            grid[entry.layer][entry.head] = getattr(entry, key)
        return grid


def check_format(data: Mapping[str, Any], source: str) -> None:
    """Refuse a ``format`` other than sparks-heads/1 (a file may leave it out only where the
    lenient reader takes it)."""
    if "format" in data and data["format"] != FORMAT:
        raise SparksError(
            f"{source} has format {data['format']!r}, not {FORMAT!r}, the one this "
            f"sparks reads; write it again with this sparks' `sparks discover`"
        )


def read_heads_json(path: Path) -> Any:
    """The parsed JSON of a heads file; :class:`SparksError` when it is missing or not JSON."""
    return read_json(
        Path(path),
        "heads file",
        _MISSING_FIX,
        "fix the JSON, or write the file again with `sparks discover`",
    )


class _Flagged(Head):
    """A ``heads`` entry as a hand-written file may give it: ``effect`` ranks (default 0)."""

    effect: float | None = 0.0


_PAIRS = TypeAdapter(tuple[Head, ...])


def read_emergent_heads(path: Path, stable: bool = False) -> list[tuple[int, int]]:
    """The emergent heads of a heads file, best first, read leniently (``zero:@heads.json#N``).

    The ``emergent`` list (objects with ``layer`` and ``head``, in rank order) or, without it,
    the ``heads`` entries flagged ``emergent``, by ``effect`` descending. Nothing else of the
    file is needed or checked, except a ``format`` other than sparks-heads/1. With ``stable``
    (``@heads.json#stable``): only the stable emergent heads, the ``stability.stable_emergent``
    list that ``sparks discover --bootstrap B`` writes; a file without it is refused.
    """
    path = Path(path)
    data = read_heads_json(path)
    source = f"heads file {path}"
    if isinstance(data, dict):
        check_format(data, source)
    if stable:
        kept = data.get("stability") if isinstance(data, dict) else None
        if not isinstance(kept, dict) or not isinstance(kept.get("stable_emergent"), list):
            raise SparksError(
                f"{source} has no stability entry, so no stable heads; write it with "
                "sparks discover --bootstrap 100, or take the top N with @heads.json#N"
            )
        try:
            return [head.pair for head in _PAIRS.validate_python(kept["stable_emergent"])]
        except ValidationError as error:
            raise _malformed(source, error, ["stability", "stable_emergent"]) from None
    if not isinstance(data, dict) or not isinstance(data.get("emergent", data.get("heads")), list):
        raise SparksError(f"{source} has no 'emergent' or 'heads' list; expected {LENIENT_FORM}")
    if isinstance(data.get("emergent"), list):
        try:
            return [head.pair for head in _PAIRS.validate_python(data["emergent"])]
        except ValidationError as error:
            raise _malformed(source, error, ["emergent"]) from None
    flagged = []
    for index, row in enumerate(data["heads"]):
        if not isinstance(row, dict):
            raise SparksError(
                f"{source} has a malformed entry (heads[{index}] is {_kind(row)}, "
                f"not an object); expected {LENIENT_FORM}"
            )
        if row.get("emergent"):  # only the flagged entries matter here
            try:
                flagged.append(_Flagged.model_validate(row))
            except ValidationError as error:
                raise _malformed(source, error, ["heads", index]) from None
    ranked = sorted(flagged, key=lambda head: -(head.effect or 0.0))  # stable: file order on ties
    return [head.pair for head in ranked]


def _malformed(source: str, error: ValidationError, where: list[Any]) -> SparksError:
    first = error.errors()[0]
    return SparksError(
        f"{source} has a malformed entry ({describe(first, [*where, *first['loc']])}); "
        f"expected {LENIENT_FORM}"
    )


def _kind(value: Any) -> str:
    names = {
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
        type(None): "null",
    }
    return names.get(type(value), f"a {type(value).__name__}")
