"""Intervention specs: ``zero:L12H3+L14H7;scale:L20H1+L21H0:1.3``.

Grammar (the value of lm-eval's ``interventions=`` model_arg, so it contains neither ``,`` nor ``=``)::

    SPEC   := ITEM (";" ITEM)*          |  "@" FILE.yaml / FILE.yml / FILE.json
    ITEM   := NAME ":" HEADS (":" ARG)*
            | "random" ":" (INT | HEADS) [":" SEED [":" KIND (":" ARG)*]]   (a random control)
    HEADS  := SEL ("+" SEL)*
    SEL    := "L" INT ["H" INT]          (0-based; "L12" is every head of layer 12)
            | "@" FILE.json ["#" INT | "#stable"]  (a ``sparks discover`` file's emergent
                                           heads: the top N, or the stable ones)
    INT    := ASCII digits 0-9 only      (``int()`` would also read other scripts' digits)

An empty spec is an error: it is almost always a script's empty variable, and the baseline is
asked for by giving no spec at all.

A random control (at most one per spec) is kept as an item named ``random``: ``count`` is K for
``random:K``, else ``heads`` is the reference set to match layer by layer; ``args`` are
``(SEED, KIND, ARG...)`` with the defaults filled in (``0``, ``zero``). Its heads are drawn
where the model's shape is known (``harness_ext.interventions.controls``); the reference set
is claimed by no item, so other items may name it.

Files are read while parsing, so an :class:`InterventionSpec` is self-contained and its
:meth:`~InterventionSpec.normalized` string names explicit heads only. Nothing here imports
torch; checking heads against a model's shape happens in ``harness_ext.interventions.resolver``.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness_ext.errors import SparksError

__all__ = ["RANDOM", "HeadRef", "InterventionItem", "InterventionSpec", "SpecError", "parse_spec"]

EXPECTED_FORM = (
    "expected NAME:HEADS[:ARG...], several joined by ';', where HEADS is L12H3 (layer 12, head 3; "
    "0-based), L12 (all heads of layer 12), @heads.json or @heads.json#10, joined by '+'; "
    "e.g. zero:L12H3+L14H7;scale:L20H1:1.3"
)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")
_HEAD = re.compile(r"[Ll]([0-9]+)(?:[Hh]([0-9]+))?")  # not \d: it matches any script's digits
_INT = re.compile(r"[0-9]+")
_STOP = ";:+#"  # characters that end a file path or an argument
_WORD = re.compile(r"[^;:+#\s]*")  # a head or a count, up to the next separator
RANDOM = "random"  # the built-in random control: expanded into another kind on drawn heads
CONTROL_FORM = (
    "a random control is random:K[:SEED[:KIND[:ARG...]]] (K heads from the whole "
    "model) or random:HEADS[:SEED[:KIND[:ARG...]]] (as many heads per layer as HEADS "
    "has, e.g. @heads.json#5); SEED defaults to 0, KIND to zero; "
    "e.g. random:@heads.json#5:1:scale:1.3"
)
EMPTY_SPEC = (
    "the spec is empty; omit interventions= (and --interventions) to run the baseline "
    "without interventions, or name heads, e.g. zero:L12H3"
)


class SpecError(SparksError):
    """A malformed intervention spec; the message shows where and the expected form."""


def caret_message(problem: str, text: str, pos: int | None, hint: str = EXPECTED_FORM) -> str:
    """``problem``, then ``text`` with a caret under ``pos`` (when known), then ``hint``."""
    lines = [f"bad intervention spec: {problem}"]
    if pos is not None and pos >= 0:
        lines += [f"  {text}", "  " + " " * min(pos, len(text)) + "^"]
    if hint:
        lines.append(hint)
    return "\n".join(lines)


@dataclass(frozen=True, order=True)
class HeadRef:
    """One head (``L12H3``) or every head of a layer (``L12``, ``head`` None); 0-based."""

    layer: int
    head: int | None = None
    pos: int = field(default=-1, compare=False, repr=False)  # where it came from in the spec text

    def __str__(self) -> str:
        return f"L{self.layer}" if self.head is None else f"L{self.layer}H{self.head}"

    def sort_key(self) -> tuple[int, int]:
        return (self.layer, -1 if self.head is None else self.head)

    def covers(self, other: HeadRef) -> bool:
        """True when this reference includes every head that ``other`` names."""
        return self.layer == other.layer and (self.head is None or self.head == other.head)


@dataclass(frozen=True)
class InterventionItem:
    """``NAME:HEADS[:ARG...]``: one intervention kind applied to some heads, with its arguments."""

    name: str
    heads: tuple[HeadRef, ...]
    args: tuple[str, ...] = ()
    pos: int = field(default=-1, compare=False, repr=False)
    count: int | None = None  # K of a random control ``random:K``; None otherwise
    arg_pos: tuple[int, ...] = field(default=(), compare=False, repr=False)  # where each ARG began

    def __str__(self) -> str:
        heads = str(self.count) if self.count is not None else "+".join(map(str, self.heads))
        return ":".join([self.name, heads, *self.args])

    def arg_position(self, index: int) -> int:
        """Where ARG ``index`` began in the spec text (the item's start when unknown)."""
        return self.arg_pos[index] if index < len(self.arg_pos) else self.pos


@dataclass(frozen=True)
class InterventionSpec:
    """A parsed spec: sorted items with explicit, sorted, de-duplicated heads, no head in two items.

    Equal specs run the same intervention; ``text`` (the source, for error carets) is not compared.
    """

    items: tuple[InterventionItem, ...] = ()
    text: str = field(default="", compare=False)  # the text the positions refer to

    def __bool__(self) -> bool:
        return bool(self.items)

    def __str__(self) -> str:
        return self.normalized()

    @property
    def control(self) -> InterventionItem | None:
        """The random control item (``random:...``), or None; its heads are not drawn yet."""
        return next((item for item in self.items if item.name == RANDOM), None)

    def normalized(self) -> str:
        """The canonical string: files expanded into explicit heads, heads and items sorted.

        No head is in two items, so items act on disjoint slices and their order is irrelevant;
        two specs with the same ``normalized()`` run the same intervention.
        """
        return ";".join(sorted(str(item) for item in self.items))


def parse_spec(text: str, *, base_dir: str | Path | None = None) -> InterventionSpec:
    """Parse a spec string, or ``@file.yaml``/``@file.json`` holding a list of items.

    ``base_dir`` resolves relative file names (default: the current directory). Raises
    :class:`SpecError` with a caret under the offending character; an empty spec is refused
    (give none for the baseline).
    """
    text = text.strip()
    base = Path(base_dir) if base_dir is not None else Path.cwd()
    if not text:
        raise SpecError(caret_message(EMPTY_SPEC, text, None, hint=""))
    if text.startswith("@"):
        return _parse_spec_file(text, base)
    items = _Parser(text, base).spec()
    return _finish(items, text, lambda item, pos: pos)


class _Parser:
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
        match = _NAME.match(self.text, self.i)
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
        match = _INT.match(self.text, self.i)
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
        match = _HEAD.match(self.text, self.i)
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
        while self.i < len(self.text) and self.text[self.i] not in _STOP:
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
            match = _INT.match(self.text, self.i)
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
        match = _WORD.match(self.text, self.i)
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


class BadControlArg(ValueError):
    """A bad SEED or KIND of a random control: ``index`` is the argument's place."""

    def __init__(self, index: int, problem: str) -> None:
        super().__init__(problem)
        self.index = index
        self.problem = problem


def normal_control_args(args: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """A random control's ``(SEED, KIND, ARG...)`` with the defaults (``0``, ``zero``) filled in
    and the seed written plainly (``007`` is ``7``); :class:`BadControlArg` when SEED is not a
    non-negative ASCII integer or KIND is no intervention name (or is ``random`` itself)."""
    seed = args[0] if args else "0"
    kind = args[1] if len(args) > 1 else "zero"
    if not seed.isascii():
        raise BadControlArg(
            0, f"SEED {seed!r} must be written with ASCII digits 0-9, e.g. random:5:1"
        )
    if not _INT.fullmatch(seed):
        after = f"; KIND comes after SEED: random:REF:0:{seed}" if _NAME.fullmatch(seed) else ""
        raise BadControlArg(0, f"SEED must be a non-negative integer, got {seed!r}{after}")
    if not _NAME.fullmatch(kind):
        raise BadControlArg(
            1, f"KIND must be an intervention name such as zero or scale, got {kind!r}"
        )
    if kind == RANDOM:
        raise BadControlArg(
            1, "KIND cannot be random itself; name the kind the drawn heads get, e.g. zero or scale"
        )
    return (str(int(seed)), kind, *args[2:])


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


def _parse_spec_file(text: str, base: Path) -> InterventionSpec:
    path = base / text[1:].strip()
    form = (
        "a list of {name: zero, heads: [L12H3, L14H7] or 'L12H3+L14H7', args: [1.3]} "
        "(args optional); to use a heads file from `sparks discover` write zero:@heads.json#10"
    )
    if path.suffix.lower() not in (".yaml", ".yml", ".json"):
        raise SpecError(
            caret_message(
                "a spec that starts with '@' names a spec file ending in .yaml, .yml or .json",
                text,
                0,
                hint="for a heads file, name the intervention first: zero:@heads.json#10",
            )
        )
    if not path.is_file():
        raise SpecError(f"bad intervention spec: file not found: {path}")
    try:
        raw = path.read_text(encoding="utf-8")
        if path.suffix.lower() == ".json":
            data = json.loads(raw)
        else:
            import yaml

            data = yaml.safe_load(raw)
    except Exception as error:  # yaml raises many kinds; all mean "unreadable file"
        raise SpecError(f"bad intervention spec: {path} could not be read: {error}") from None
    if not isinstance(data, list) or not data:
        raise SpecError(f"bad intervention spec: {path} must hold {form}")
    items = []
    for number, entry in enumerate(data, 1):
        where = f"{path}, item {number}"
        if (
            not isinstance(entry, dict)
            or set(entry) - {"name", "heads", "args"}
            or "name" not in entry
            or "heads" not in entry
        ):
            raise SpecError(
                f"bad intervention spec: {where} is {entry!r}; each item must be {form}"
            )
        items.append(_file_item(entry, where, path.parent))
    return _finish(items, text, lambda item, pos: None)


def _file_item(entry: dict[str, Any], where: str, base: Path) -> InterventionItem:
    name = str(entry["name"])
    if not _NAME.fullmatch(name):
        raise SpecError(
            f"bad intervention spec: {where}: {name!r} is not a valid intervention name"
        )
    if name == RANDOM:
        return _file_control(entry, where, base)
    refs = _file_heads(entry["heads"], where, base)
    return InterventionItem(name, tuple(refs), _file_args(entry, where))


def _file_heads(heads: Any, where: str, base: Path) -> list[HeadRef]:
    """The heads of a spec file's item (a string or a list of heads and ``{layer, head}``),
    without positions (they would refer to the heads string)."""
    if isinstance(heads, list):
        parts = []
        for head in heads:
            if isinstance(head, dict) and set(head) == {"layer", "head"}:
                parts.append(f"L{head['layer']}H{head['head']}")
            else:
                parts.append(str(head))
        heads = "+".join(parts)
    heads_text = str(heads)
    parser = _Parser(heads_text, base)
    try:
        refs = parser.heads()
        parser.skip_spaces()
        if parser.i < len(heads_text):
            raise parser.fail("unexpected text after the heads")
    except SpecError as error:
        raise SpecError(f"{where}, heads: {error}") from None
    return [HeadRef(r.layer, r.head) for r in refs]


def _file_args(entry: dict[str, Any], where: str) -> tuple[str, ...]:
    args = entry.get("args")
    if args is None:
        args = []
    elif not isinstance(args, list):
        args = [args]
    for arg in args:
        if isinstance(arg, (dict, list)) or any(c in str(arg) for c in ";:"):
            raise SpecError(
                f"bad intervention spec: {where}: argument {arg!r} must be a plain value"
            )
    return tuple(str(a) for a in args)


def _file_control(entry: dict[str, Any], where: str, base: Path) -> InterventionItem:
    """``{name: random, heads: 5 or '@heads.json#5', args: [SEED, KIND, ARG...]}``."""
    heads = entry["heads"]
    count, refs = None, []
    if isinstance(heads, int) and not isinstance(heads, bool):
        count = heads
    elif isinstance(heads, str) and heads.strip().isdigit():
        if not heads.strip().isascii():
            raise SpecError(
                f"bad intervention spec: {where}: K {heads!r} must be written with ASCII digits 0-9"
            )
        count = int(heads)
    else:
        refs = _file_heads(heads, where, base)
    if count is not None and count <= 0:
        raise SpecError(
            f"bad intervention spec: {where}: random needs a positive number of heads "
            f"K, got {heads!r}; {CONTROL_FORM}"
        )
    try:
        args = normal_control_args(_file_args(entry, where))
    except BadControlArg as error:
        raise SpecError(
            f"bad intervention spec: {where}: {error.problem}; {CONTROL_FORM}"
        ) from None
    return InterventionItem(RANDOM, tuple(refs), args, count=count)


def _finish(items: list[InterventionItem], text: str, where: Any) -> InterventionSpec:
    """De-duplicate and sort each item's heads; refuse a head claimed by two items.

    Linear in the number of heads (dict look-ups, no pairwise ``covers``): specs from a heads
    file or a script can name every head of a large model.
    """
    finished: list[InterventionItem] = []
    claims = _Claims()
    _check_controls(items, text, where)
    for item in items:
        heads = _dedupe(item.heads)
        if item.name == RANDOM:  # the reference set is matched, not acted on: nothing claimed
            finished.append(
                InterventionItem(
                    item.name, tuple(heads), item.args, item.pos, item.count, item.arg_pos
                )
            )
            continue
        for ref in heads:
            other = claims.overlap(ref)
            if other is not None:
                other_ref, other_item = other
                problem = (
                    f"{ref} of {item.name!r} overlaps {other_ref} of {other_item.name!r}: "
                    f"a head can take part in one intervention only"
                )
                raise SpecError(caret_message(problem, text, where(item, ref.pos), hint=""))
        for ref in heads:
            claims.add(ref, item)
        finished.append(
            InterventionItem(item.name, tuple(heads), item.args, item.pos, arg_pos=item.arg_pos)
        )
    finished.sort(key=str)  # items act on disjoint heads, so their order carries no meaning
    return InterventionSpec(tuple(finished), text)


def _check_controls(items: list[InterventionItem], text: str, where: Any) -> None:
    """At most one random control per spec, and a reference set that names some heads."""
    controls = [item for item in items if item.name == RANDOM]
    if len(controls) > 1:
        raise SpecError(
            caret_message(
                "a spec may hold one random control only; run each control as a run of its own "
                "(each run records its drawn heads)",
                text,
                where(controls[1], controls[1].pos),
                hint="",
            )
        )
    for item in controls:
        if item.count is None and not item.heads:
            raise SpecError(
                caret_message(
                    "the random control's reference set is empty (a heads file without emergent "
                    "heads?); name heads to match, or give a number: random:5",
                    text,
                    where(item, item.pos),
                    hint="",
                )
            )


def _dedupe(refs: tuple[HeadRef, ...]) -> list[HeadRef]:
    """``refs`` sorted, each named once (its first mention kept), heads of a whole layer dropped."""
    first: dict[tuple[int, int | None], HeadRef] = {}
    for ref in refs:
        first.setdefault((ref.layer, ref.head), ref)
    whole = {layer for layer, head in first if head is None}
    kept = [ref for (layer, head), ref in first.items() if head is None or layer not in whole]
    return sorted(kept, key=HeadRef.sort_key)


_Claim = tuple[HeadRef, InterventionItem]


class _Claims:
    """Heads claimed by earlier items, indexed so that an overlap is found in constant time."""

    def __init__(self) -> None:
        self.first_in_layer: dict[int, _Claim] = {}  # the first claim of any kind in a layer
        self.layers: dict[int, _Claim] = {}  # whole layers (L12)
        self.heads: dict[tuple[int, int | None], _Claim] = {}  # single heads (L12H3)

    def overlap(self, ref: HeadRef) -> _Claim | None:
        """The earliest claim that shares a head with ``ref``, or None."""
        if ref.head is None:
            return self.first_in_layer.get(ref.layer)
        return self.layers.get(ref.layer) or self.heads.get((ref.layer, ref.head))

    def add(self, ref: HeadRef, item: InterventionItem) -> None:
        self.first_in_layer.setdefault(ref.layer, (ref, item))
        if ref.head is None:
            self.layers[ref.layer] = (ref, item)
        else:
            self.heads[(ref.layer, ref.head)] = (ref, item)
