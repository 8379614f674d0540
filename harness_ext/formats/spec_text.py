"""The scanner of spec strings (``zero:L12H3+L14H7;scale:L20H1:1.3``), and the heads files that
``@heads.json#N`` names. It keeps positions for error carets; the grammar is in
:mod:`harness_ext.formats.spec_items`."""

from __future__ import annotations

import unicodedata
from pathlib import Path
from typing import Any

from harness_ext.errors import SparksError
from harness_ext.formats.spec_items import (
    CONTROL_FORM,
    HEAD_PATTERN,
    INT_PATTERN,
    NAME_PATTERN,
    RANDOM,
    STOP_CHARS,
    WORD_PATTERN,
    BadControlArg,
    HeadRef,
    InterventionItem,
    SpecError,
    caret_message,
    normal_control_args,
)

__all__ = ["SpecParser", "read_heads_file", "read_heads_json"]


class SpecParser:
    """A hand-written scanner over one spec string that keeps positions for error carets."""

    def __init__(self, text: str, base: Path, offset: int = 0) -> None:
        self.text = text
        self.base = base
        self.i = offset

    def fail(self, problem: str, pos: int | None = None) -> SpecError:
        return SpecError(caret_message(problem, self.text, self.i if pos is None else pos))

    def peek(self) -> str:
        return self.text[self.i] if self.i < len(self.text) else ""

    def skip_spaces(self) -> None:
        while self.peek().isspace():
            self.i += 1

    def expect(self, char: str, what: str) -> None:
        self.skip_spaces()
        if self.peek() != char:
            found = repr(self.peek()) if self.peek() else "the end"
            raise self.fail(f"expected {what}, found {found}")
        self.i += 1

    def spec(self) -> list[InterventionItem]:
        items = [self.item()]
        while True:
            self.skip_spaces()
            if self.i >= len(self.text):
                return items
            self.expect(";", "';' before the next intervention (or the end of the spec)")
            items.append(self.item())

    def item(self) -> InterventionItem:
        self.skip_spaces()
        start = self.i
        match = NAME_PATTERN.match(self.text, self.i)
        if not match:
            raise self.fail("expected an intervention name such as zero or scale")
        self.i = match.end()
        self.expect(":", f"':' and the heads after the name {match.group()!r}")
        if match.group() == RANDOM:
            return self.control(start)
        heads = self.heads()
        args, positions = self.args()
        return InterventionItem(match.group(), tuple(heads), tuple(args), start, arg_pos=positions)

    def args(self) -> tuple[list[str], tuple[int, ...]]:
        """The ``:ARG`` values after the heads, and where each began."""
        args: list[str] = []
        positions: list[int] = []
        while True:
            self.skip_spaces()
            if self.peek() != ":":
                return args, tuple(positions)
            self.i += 1
            self.skip_spaces()
            positions.append(self.i)
            args.append(self.arg())

    def control(self, start: int) -> InterventionItem:
        """``random:REF[:SEED[:KIND[:ARG...]]]`` after its ``random:``; REF is K or heads."""
        self.skip_spaces()
        count, heads = None, []
        if self.peek().isdigit():  # also another script's digit: count() refuses it
            count = self.count()
        elif self.peek() in ("L", "l", "@"):
            heads = self.heads()
        else:
            raise SpecError(
                caret_message(
                    "expected the number of heads K or the heads to match after 'random:'",
                    self.text,
                    self.i,
                    hint=CONTROL_FORM,
                )
            )
        written, positions = self.args()
        try:
            args = normal_control_args(written)
        except BadControlArg as error:
            raise SpecError(
                caret_message(error.problem, self.text, positions[error.index], hint=CONTROL_FORM)
            ) from None
        return InterventionItem(RANDOM, tuple(heads), args, start, count, positions)

    def count(self) -> int:
        """K of ``random:K``: a positive ASCII integer."""
        self.refuse_other_digits()
        match = INT_PATTERN.match(self.text, self.i)
        if not match or int(match.group()) == 0:
            raise SpecError(
                caret_message(
                    "random:K needs a positive number of heads K, e.g. random:5",
                    self.text,
                    self.i,
                    hint=CONTROL_FORM,
                )
            )
        self.i = match.end()
        if self.peek().isalnum():
            raise SpecError(
                caret_message(
                    f"unexpected {self.peek()!r} after {match.group()!r}; K "
                    f"is a whole number of heads, e.g. random:5",
                    self.text,
                    self.i,
                    hint=CONTROL_FORM,
                )
            )
        return int(match.group())

    def heads(self) -> list[HeadRef]:
        heads = self.selection()
        while True:
            self.skip_spaces()
            if self.peek() != "+":
                return heads
            self.i += 1
            heads += self.selection()

    def selection(self) -> list[HeadRef]:
        self.skip_spaces()
        if self.peek() == "@":
            return self.heads_file()
        self.refuse_other_digits()
        match = HEAD_PATTERN.match(self.text, self.i)
        if not match and self.text.startswith(RANDOM, self.i):
            raise SpecError(
                caret_message(
                    "a random control is an item of its own, not a head list",
                    self.text,
                    self.i,
                    hint=CONTROL_FORM,
                )
            )
        if not match:
            raise self.fail("expected a head such as L12H3 (layer 12, head 3) or L12 (whole layer)")
        start, self.i = self.i, match.end()
        if self.peek().isalnum():
            raise self.fail(
                f"unexpected {self.peek()!r} after {match.group()!r}; heads look like L12H3"
            )
        head = None if match.group(2) is None else int(match.group(2))
        return [HeadRef(int(match.group(1)), head, start)]

    def heads_file(self) -> list[HeadRef]:
        at = self.i
        self.i += 1
        start = self.i
        while self.i < len(self.text) and self.text[self.i] not in STOP_CHARS:
            self.i += 1
        name = self.text[start : self.i].strip()
        if not name:
            raise self.fail("expected a file name after '@', e.g. @heads.json#10")
        top: int | None = None
        stable = self.text.startswith("#stable", self.i)
        if stable:  # @heads.json#stable: the stable emergent heads (discover --bootstrap)
            self.i += len("#stable")
        elif self.peek() == "#":
            self.i += 1
            self.refuse_other_digits()
            match = INT_PATTERN.match(self.text, self.i)
            if not match or int(match.group()) == 0:
                raise self.fail(
                    "expected a positive number of heads after '#', e.g. @heads.json#10"
                )
            top, self.i = int(match.group()), match.end()
        try:
            pairs = read_heads_file(self.base / name, top, stable)
        except SpecError as error:
            raise SpecError(caret_message(str(error), self.text, at, hint="")) from None
        return [HeadRef(layer, head, at) for layer, head in pairs]

    def refuse_other_digits(self) -> None:
        """Refuse a non-ASCII digit (``L١H٣``) in the word at the cursor, with a caret under it."""
        match = WORD_PATTERN.match(self.text, self.i)
        word = match.group() if match else ""
        if word.isascii():
            return
        for offset, char in enumerate(word):
            if char.isdigit() and not char.isascii():
                name = unicodedata.name(char, "a non-ASCII digit")
                raise self.fail(
                    f"{char!r} ({name}) is not an ASCII digit; write numbers with "
                    f"0-9, e.g. L1H3 or @heads.json#10",
                    self.i + offset,
                )

    def arg(self) -> str:
        self.skip_spaces()
        start = self.i
        while self.i < len(self.text) and self.text[self.i] not in ";:":
            self.i += 1
        value = self.text[start : self.i].strip()
        if not value:
            raise self.fail("expected an argument after ':' (or remove the ':')", start)
        return value


def read_heads_json(path: Path) -> Any:
    """The parsed JSON of a heads file; :class:`SpecError` when it is missing or not JSON."""
    from harness_ext.formats import heads

    try:
        return heads.read_heads_json(path)
    except SparksError as error:
        raise SpecError(str(error)) from None


def read_heads_file(
    path: Path, top: int | None = None, stable: bool = False
) -> list[tuple[int, int]]:
    """The emergent heads of a ``sparks discover`` JSON file, best first: ``[(layer, head), ...]``.

    Reads the ``emergent`` list (objects with ``layer`` and ``head``, in rank order) or, without it,
    the ``heads`` list keeping ``emergent: true`` entries sorted by ``effect`` descending
    (:func:`harness_ext.formats.read_emergent_heads`, which also takes hand-written files).
    ``stable`` (``@heads.json#stable``) keeps the stable emergent heads of a file written
    with ``sparks discover --bootstrap B``.
    """
    from harness_ext.formats import read_emergent_heads

    try:
        pairs = read_emergent_heads(path, stable)
    except SparksError as error:
        raise SpecError(str(error)) from None
    if stable and not pairs:
        raise SpecError(f"heads file {path} has no stable emergent heads (see its 'stability')")
    if top is not None and top > len(pairs):
        raise SpecError(
            f"heads file {path} has {len(pairs)} emergent heads, fewer than the {top} asked for"
        )
    return pairs[:top]
