"""Detect a logical loop: the reasoning repeating one passage, in the tail of a response.

The response is split into word and symbol tokens (``\\w+`` or one non-space character,
lower-cased). For every :data:`NGRAM`-token window we note whether the same window occurred
earlier, at most :data:`MAX_PERIOD` tokens back, and how far back. The *looping stretch* is the
longest run of windows of which at least :data:`MIN_REPEATED_FRACTION` are such repeats (so
near-identical copies, which share most windows, count); its *period* is the median distance
back. The response loops when

* the stretch holds at least :data:`MIN_COPIES` copies of the passage (counting the first
  copy, just before the stretch): two copies are a recap, three are a loop, and
* the passage is a phrase, at least :data:`MIN_PASSAGE_TOKENS` tokens long (three copies of
  "We add the numbers together." are a loop), or the stretch holds at least
  :data:`MIN_LOOP_TOKENS` windows (``0 0 0 ...``, a two-token ``= 2`` line over and over).

Where the loop is does not matter: a response that loops and then goes on to a final answer
(or reasons on for longer) still looped, and its label says so. :attr:`Loop.reaches_end` tells
whether it was still looping at its end (less than one copy, at least :data:`NGRAM` tokens,
after the last repeated window): a truncated response that does is labelled ``logical_loop``,
not ``truncated`` (it repeated itself until the token limit).

Only the tail of a response is examined: its last :data:`MAX_TOKENS` tokens within its last
:data:`MAX_CHARS` characters (from a word start). A loop is a property of the tail, and this
bounds the time on very long or hostile responses. Offsets and spans always refer to the whole
response.

The evidence is one copy of the passage near the stretch's end, starting at a line or
sentence start when the copy has one (shortened to :data:`MAX_EVIDENCE_CHARS` characters).
Enumerations ("n = 1: ... n = 2: ...") change a number every few tokens, so few of their
windows repeat. The thresholds were set on real greedy output of the embedded model
(``tests/data/responses.jsonl``, checked by ``tests/reports/test_labels_real.py``) and checked on its
hand-labelled rows (``tests/reports/test_labels_set.py``).
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass
from functools import lru_cache
from statistics import median
from typing import Optional

__all__ = ["Loop", "find_loop", "looping_tail"]

NGRAM = 8
MAX_PERIOD = 2000
MIN_REPEATED_FRACTION = 0.8
MIN_LOOP_TOKENS = 60  # windows a loop of a very short passage needs
MIN_PASSAGE_TOKENS = 5  # a passage this long loops with MIN_COPIES copies, however short
MIN_COPIES = 3
MAX_EVIDENCE_CHARS = 400
MAX_CHARS = 20_000  # the tail of a response that is examined (see the module docstring)
MAX_TOKENS = 6_000

_TOKEN = re.compile(r"\w+|[^\w\s]")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Loop:
    """A repeated passage at the end of a response."""

    text: str  # one copy of the passage (shortened)
    start: int  # its character offsets in the response
    end: int
    copies: float  # how many copies the looping tail holds (with the first)
    period: int  # passage length in tokens
    tokens: int  # tokens the repetition covers, first copy included
    reaches_end: bool = False  # the repetition runs to the response's end (less than a copy after)

    def describe(self) -> str:
        return (
            f"a {self.period}-token passage repeats {self.copies:.1f} times in a row "
            f"({self.tokens} tokens)"
        )


def looping_tail(response: str) -> tuple[int, int, int, list[re.Match]]:
    """(length, period, end, tokens) of the longest mostly-repeated stretch of windows.

    ``length`` counts windows (0 when there is none), ``end`` is the index after the stretch's
    last window, ``period`` the median distance back to the previous copy.
    """
    length, period, end, _, start, skip, _ = _scan(response)
    return length, period, end, _matches(response, start, skip)


def _scan(response: str) -> tuple[int, int, int, int, int, int, int]:
    """:func:`looping_tail` without match objects (cheap: plain strings and ints, which the
    garbage collector does not track): ``(length, period, end, n_tokens, start, skip,
    last_repeat)``, the tokens being those of ``response[start:]`` after the first ``skip``,
    ``last_repeat`` the index of the stretch's last repeated window."""
    start = _tail_start(response)
    words = _TOKEN.findall(response, start)
    skip = max(0, len(words) - MAX_TOKENS)
    words = [word.lower() for word in words[skip:]]
    last_seen: dict[int, int] = {}  # hash of a window -> its last index
    back: list[int] = []  # per window: distance to its previous occurrence, 0 if none
    for i, gram in enumerate(zip(*[words[k:] for k in range(NGRAM)])):
        key = hash(gram)  # str hashes are randomised per process: no crafted collisions
        previous = last_seen.get(key)
        back.append(i - previous if previous is not None and i - previous <= MAX_PERIOD else 0)
        last_seen[key] = i
    length, first, end = _longest_dense(back)
    if length == 0:
        return 0, 0, 0, len(words), start, skip, 0
    distances = [d for d in back[first:end] if d > 0]
    last_repeat = next(i for i in range(end - 1, first - 1, -1) if back[i] > 0)
    return length, int(median(distances)), end, len(words), start, skip, last_repeat


def _matches(response: str, start: int, skip: int) -> list[re.Match]:
    return list(_TOKEN.finditer(response, start))[skip:]


def _tail_start(response: str) -> int:
    """Where the examined tail starts: :data:`MAX_CHARS` from the end, moved to a word start."""
    start = max(0, len(response) - MAX_CHARS)
    if start == 0:
        return 0
    space = _SPACE.search(response, start, start + 200)
    return space.end() if space else start


def _longest_dense(back: list[int]) -> tuple[int, int, int]:
    """(length, first, end): the longest stretch ``back[first:end]`` in which at least
    :data:`MIN_REPEATED_FRACTION` of the entries are repeats. O(n log n): with
    ``x = 1 - f`` for a repeat and ``-f`` otherwise, it is the longest stretch of sum >= 0,
    found from prefix sums and the running minima of the prefixes."""
    fraction = MIN_REPEATED_FRACTION
    prefix = [0.0]
    for distance in back:
        prefix.append(prefix[-1] + ((1 - fraction) if distance else -fraction))
    starts: list[int] = []  # prefix indices whose value is below every earlier one
    for index, value in enumerate(prefix):
        if not starts or value < prefix[starts[-1]] - 1e-12:
            starts.append(index)
    keys = [-prefix[index] for index in starts]  # ascending
    best = (0, 0, 0)
    for end in range(len(prefix) - 1, 0, -1):
        k = bisect_left(keys, -prefix[end] - 1e-12)  # first start with prefix <= prefix[end]
        if k < len(starts) and starts[k] < end and end - starts[k] > best[0]:
            best = (end - starts[k], starts[k], end)
    return best


@lru_cache(maxsize=8)  # the truncated and logical_loop labelers both ask about one response
def find_loop(response: str) -> Optional[Loop]:
    """The repeated passage when ``response`` loops in its tail (see the module docstring)."""
    length, period, end, _, start, skip, last_repeat = _scan(response)
    if period <= 0 or (length < MIN_LOOP_TOKENS and period < MIN_PASSAGE_TOKENS):
        return None
    copies = length / period + 1
    if copies < MIN_COPIES:
        return None
    tokens = _matches(response, start, skip)  # offsets, only for a loop
    first = _aligned(response, tokens, max(0, end + NGRAM - 1 - 2 * period), period)
    last = min(len(tokens), first + period) - 1
    start, stop = tokens[first].start(), tokens[last].end()
    text = response[start:stop]
    if len(text) > MAX_EVIDENCE_CHARS:
        text = text[: MAX_EVIDENCE_CHARS - 1] + "\u2026"
    covered = min(len(tokens), length + NGRAM - 1 + period)
    after = len(tokens) - (last_repeat + NGRAM)  # tokens after the last repeated window
    return Loop(
        text=text,
        start=start,
        end=stop,
        copies=round(copies, 1),
        period=period,
        tokens=covered,
        reaches_end=after <= max(period, NGRAM),
    )


def _aligned(response: str, tokens: list[re.Match], first: int, period: int) -> int:
    """Move ``first`` forward to the first token of the copy that starts a line or sentence."""
    for i in range(first, min(len(tokens), first + period)):
        start = tokens[i].start()
        before = response[max(0, start - 8) : start].rstrip(" \t")
        if not before or before.endswith(("\n", ". ", ".", "?", "!")):
            return i
    return first
