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

import re
from dataclasses import dataclass, field

from harness_ext.errors import SparksError

__all__ = [
    "CONTROL_FORM",
    "EMPTY_SPEC",
    "EXPECTED_FORM",
    "RANDOM",
    "BadControlArg",
    "HeadRef",
    "InterventionItem",
    "InterventionSpec",
    "SpecError",
    "caret_message",
    "normal_control_args",
]

EXPECTED_FORM = (
    "expected NAME:HEADS[:ARG...], several joined by ';', where HEADS is L12H3 (layer 12, head 3; "
    "0-based), L12 (all heads of layer 12), @heads.json or @heads.json#10, joined by '+'; "
    "e.g. zero:L12H3+L14H7;scale:L20H1:1.3"
)
NAME_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")
HEAD_PATTERN = re.compile(
    r"[Ll]([0-9]+)(?:[Hh]([0-9]+))?"
)  # not \d: it matches any script's digits
INT_PATTERN = re.compile(r"[0-9]+")
STOP_CHARS = ";:+#"  # characters that end a file path or an argument
WORD_PATTERN = re.compile(r"[^;:+#\s]*")  # a head or a count, up to the next separator
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
    if not INT_PATTERN.fullmatch(seed):
        after = (
            f"; KIND comes after SEED: random:REF:0:{seed}" if NAME_PATTERN.fullmatch(seed) else ""
        )
        raise BadControlArg(0, f"SEED must be a non-negative integer, got {seed!r}{after}")
    if not NAME_PATTERN.fullmatch(kind):
        raise BadControlArg(
            1, f"KIND must be an intervention name such as zero or scale, got {kind!r}"
        )
    if kind == RANDOM:
        raise BadControlArg(
            1, "KIND cannot be random itself; name the kind the drawn heads get, e.g. zero or scale"
        )
    return (str(int(seed)), kind, *args[2:])
