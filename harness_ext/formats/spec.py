"""Intervention specs, parsed: :func:`parse_spec` turns ``zero:L12H3;scale:L20H1:1.3`` or
``@spec.yaml`` into an :class:`InterventionSpec` (grammar: :mod:`harness_ext.formats.spec_items`).

The spec is data that several features share (the interventions run it, the reports and regress
specs check and show it), so it lives in the formats layer; ``harness_ext.interventions.spec``
and ``harness_ext.spec`` re-export it. The parts: ``spec_items`` (the parsed types and
messages), ``spec_text`` (the string scanner, heads files), ``spec_file`` (``@spec.yaml``, a
pydantic model), and here the entry point and the final check that no head is in two items.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional

from harness_ext.formats.spec_items import (
    CONTROL_FORM,
    EMPTY_SPEC,
    EXPECTED_FORM,
    RANDOM,
    HeadRef,
    InterventionItem,
    InterventionSpec,
    SpecError,
    caret_message,
    normal_control_args,
)
from harness_ext.formats.spec_text import SpecParser, read_heads_file, read_heads_json

__all__ = [
    "CONTROL_FORM",
    "EMPTY_SPEC",
    "EXPECTED_FORM",
    "RANDOM",
    "HeadRef",
    "InterventionItem",
    "InterventionSpec",
    "SpecError",
    "caret_message",
    "normal_control_args",
    "parse_spec",
    "read_heads_file",
    "read_heads_json",
]

Where = Callable[[InterventionItem, int], Optional[int]]
"""Where an item's head was written (a caret position), or None for a spec file's items."""


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
        from harness_ext.formats.spec_file import read_spec_file  # pydantic: loaded on use

        return finish(read_spec_file(text, base), text, lambda item, pos: None)
    items = SpecParser(text, base).spec()
    return finish(items, text, lambda item, pos: pos)


def finish(items: list[InterventionItem], text: str, where: Where) -> InterventionSpec:
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


def _check_controls(items: list[InterventionItem], text: str, where: Where) -> None:
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
