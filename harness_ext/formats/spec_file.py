"""``@spec.yaml`` / ``@spec.json``: a spec written as a list of items, checked by pydantic like
the other formats (heads.json, regress specs).

Each item is ``{name: zero, heads: [L12H3, L14H7] or 'L12H3+L14H7', args: [1.3]}`` (``args``
optional; a head may also be ``{layer: 2, head: 0}``); a random control is ``{name: random,
heads: 5 or '@heads.json#5', args: [SEED, KIND, ARG...]}``. The heads strings go through the
same scanner as a spec string (:class:`harness_ext.formats.spec_text.SpecParser`), so a file
accepts exactly the heads a string does. Items carry no positions (they would refer to the heads
strings), so :func:`harness_ext.formats.spec.finish` puts no caret under a file's overlaps.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional, Union

from pydantic import BaseModel, ConfigDict, StrictInt, TypeAdapter, ValidationError, field_validator

from harness_ext.formats.spec_items import (
    CONTROL_FORM,
    NAME_PATTERN,
    RANDOM,
    BadControlArg,
    HeadRef,
    InterventionItem,
    SpecError,
    caret_message,
    normal_control_args,
)
from harness_ext.formats.spec_text import SpecParser

__all__ = ["FILE_FORM", "HEADS_FORM", "ITEM_FORM", "HeadEntry", "SpecFileItem", "read_spec_file"]

ITEM_FORM = "{name: zero, heads: [L12H3, L14H7] or 'L12H3+L14H7', args: [1.3]} (args optional)"
FILE_FORM = (
    f"a list of {ITEM_FORM}; to use a heads file from `sparks discover` write zero:@heads.json#10"
)
HEADS_FORM = (
    "heads must be a string such as 'L12H3+L14H7' or '@heads.json#5', a list of heads "
    "(L12H3 or {layer: 12, head: 3}), or for random a number of heads K"
)
SUFFIXES = (".yaml", ".yml", ".json")


class HeadEntry(BaseModel):
    """One head written as a mapping: ``{layer: 2, head: 0}``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    layer: StrictInt
    head: StrictInt

    def __str__(self) -> str:
        return f"L{self.layer}H{self.head}"


class SpecFileItem(BaseModel):
    """One item of a spec file (unknown keys are refused, so a typo is never ignored)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    heads: Union[StrictInt, str, list[Union[HeadEntry, StrictInt, str]]]
    args: Any = None  # a plain value or a list of them; each ARG is its str(), as in a string

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not NAME_PATTERN.fullmatch(value):
            raise ValueError(f"{value!r} is not a valid intervention name")
        return value

    @field_validator("args")
    @classmethod
    def _args(cls, value: Any) -> list[str]:
        values = [] if value is None else value if isinstance(value, list) else [value]
        for arg in values:
            if isinstance(arg, (dict, list)) or any(c in str(arg) for c in ";:"):
                raise ValueError(f"argument {arg!r} must be a plain value")
        return [str(arg) for arg in values]

    def heads_text(self) -> str:
        """The heads as a spec string's HEADS part (``L12H3+L14H7``)."""
        if isinstance(self.heads, list):
            return "+".join(str(head) for head in self.heads)
        return str(self.heads)


_ITEMS = TypeAdapter(list[SpecFileItem])


def read_spec_file(text: str, base: Path) -> list[InterventionItem]:
    """The items of the spec file that ``text`` (``@FILE``) names, relative to ``base``; not yet
    de-duplicated or checked for overlaps (:func:`harness_ext.formats.spec.finish` does that)."""
    path = base / text[1:].strip()
    if path.suffix.lower() not in SUFFIXES:
        raise SpecError(
            caret_message(
                "a spec that starts with '@' names a spec file ending in .yaml, .yml or .json",
                text,
                0,
                hint="for a heads file, name the intervention first: zero:@heads.json#10",
            )
        )
    data = _load(path)
    if not isinstance(data, list) or not data:
        raise SpecError(f"bad intervention spec: {path} must hold {FILE_FORM}")
    try:
        entries = _ITEMS.validate_python(data)
    except ValidationError as error:
        raise SpecError(_describe(error, path)) from None
    return [_item(entry, f"{path}, item {n}", path.parent) for n, entry in enumerate(entries, 1)]


def _load(path: Path) -> Any:
    if not path.is_file():
        raise SpecError(f"bad intervention spec: file not found: {path}")
    try:
        raw = path.read_text(encoding="utf-8")
        if path.suffix.lower() == ".json":
            return json.loads(raw)
        import yaml

        return yaml.safe_load(raw)
    except Exception as error:  # yaml raises many kinds; all mean "unreadable file"
        raise SpecError(f"bad intervention spec: {path} could not be read: {error}") from None


def _describe(error: ValidationError, path: Path) -> str:
    """pydantic's first error, as ``FILE, item N: FIELD: problem; each item must be ...``."""
    first = error.errors()[0]
    loc = first["loc"]
    where = f"{path}, item {int(loc[0]) + 1}" if loc and isinstance(loc[0], int) else str(path)
    field = next((str(part) for part in loc[1:2]), "")
    message = str(first["msg"]).removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        message = f"unknown key {field!r}"
    elif first["type"] == "missing":
        message = f"{field!r} is missing"
    elif field == "heads":  # a failed union: pydantic's first alternative would mislead
        message = HEADS_FORM
    elif field:
        message = f"{field}: {message}"
    return f"bad intervention spec: {where}: {message}; each item must be {ITEM_FORM}"


def _item(entry: SpecFileItem, where: str, base: Path) -> InterventionItem:
    args = tuple(entry.args or ())
    if entry.name == RANDOM:
        return _control(entry, args, where, base)
    return InterventionItem(entry.name, tuple(_heads(entry.heads_text(), where, base)), args)


def _heads(text: str, where: str, base: Path) -> list[HeadRef]:
    """The heads of an item, read by the spec string's scanner, without positions."""
    parser = SpecParser(text, base)
    try:
        refs = parser.heads()
        parser.skip_spaces()
        if parser.i < len(text):
            raise parser.fail("unexpected text after the heads")
    except SpecError as error:
        raise SpecError(f"{where}, heads: {error}") from None
    return [HeadRef(ref.layer, ref.head) for ref in refs]


def _control(
    entry: SpecFileItem, args: tuple[str, ...], where: str, base: Path
) -> InterventionItem:
    """``{name: random, heads: 5 or '@heads.json#5', args: [SEED, KIND, ARG...]}``."""
    heads = entry.heads
    count: Optional[int] = None
    refs: list[HeadRef] = []
    if isinstance(heads, int):
        count = heads
    elif isinstance(heads, str) and heads.strip().isdigit():
        if not heads.strip().isascii():
            raise SpecError(
                f"bad intervention spec: {where}: K {heads!r} must be written with ASCII digits 0-9"
            )
        count = int(heads)
    else:
        refs = _heads(entry.heads_text(), where, base)
    if count is not None and count <= 0:
        raise SpecError(
            f"bad intervention spec: {where}: random needs a positive number of heads "
            f"K, got {heads!r}; {CONTROL_FORM}"
        )
    try:
        control_args = normal_control_args(args)
    except BadControlArg as error:
        raise SpecError(
            f"bad intervention spec: {where}: {error.problem}; {CONTROL_FORM}"
        ) from None
    return InterventionItem(RANDOM, tuple(refs), control_args, count=count)
