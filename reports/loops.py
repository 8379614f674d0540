"""Detect a logical loop: a response whose tail is copies of one passage.

The response is split into word and symbol tokens (``\\w+`` or one non-space character,
lower-cased). For every :data:`NGRAM`-token window we note whether the same window occurred
earlier, at most :data:`MAX_PERIOD` tokens back, and how far back. The *looping tail* is the
longest suffix of the response in which at least :data:`MIN_REPEATED_FRACTION` of the windows
are such repeats (so near-identical copies, which share most windows, count, and a final
answer line after the loop does not hide it). Its *period* is the median distance back. The
response loops when

* the looping tail holds at least :data:`MIN_LOOP_TOKENS` tokens, and
* it holds at least :data:`MIN_COPIES` copies of the passage (counting the first copy, just
  before the tail): two copies are a recap, three are a loop.

The evidence is one copy of the passage near the end, starting at a line or sentence start
when the copy has one (shortened to :data:`MAX_EVIDENCE_CHARS` characters).
Enumerations ("n = 1: ... n = 2: ...") change a number every few tokens, so few of their
windows repeat. The thresholds were set on real greedy output of the embedded model
(``tests/data/responses.jsonl``, see ``tests/test_labels_real.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from statistics import median
from typing import Optional

__all__ = ["Loop", "find_loop", "looping_tail"]

NGRAM = 8
MAX_PERIOD = 2000
MIN_REPEATED_FRACTION = 0.8
MIN_LOOP_TOKENS = 60
MIN_COPIES = 3
MAX_EVIDENCE_CHARS = 400
MAX_TOKENS = 200_000  # longer responses are only examined in their last MAX_TOKENS tokens

_TOKEN = re.compile(r"\w+|[^\w\s]")


@dataclass(frozen=True)
class Loop:
    """A repeated passage at the end of a response."""

    text: str            # one copy of the passage (shortened)
    start: int           # its character offsets in the response
    end: int
    copies: float        # how many copies the looping tail holds (with the first)
    period: int          # passage length in tokens
    tail_tokens: int     # tokens in the looping tail (after the first copy)

    def describe(self) -> str:
        return (f"a {self.period}-token passage repeats {self.copies:.1f} times over the last "
                f"{self.tail_tokens + self.period} tokens")


def looping_tail(response: str) -> tuple[int, int, list[re.Match]]:
    """(tail length, period, tokens): the longest mostly-repeated suffix, in tokens."""
    tokens = list(_TOKEN.finditer(response))[-MAX_TOKENS:]
    words = [match.group().lower() for match in tokens]
    last_seen: dict[tuple[str, ...], int] = {}
    back: list[int] = []  # per window: distance to its previous occurrence, 0 if none
    for i in range(len(words) - NGRAM + 1):
        gram = tuple(words[i:i + NGRAM])
        previous = last_seen.get(gram)
        back.append(i - previous if previous is not None and i - previous <= MAX_PERIOD else 0)
        last_seen[gram] = i
    best, repeated = 0, 0
    for length, distance in enumerate(reversed(back), start=1):
        repeated += distance > 0
        if repeated >= MIN_REPEATED_FRACTION * length:
            best = length
    if best == 0:
        return 0, 0, tokens
    distances = [d for d in back[len(back) - best:] if d > 0]
    return best, int(median(distances)), tokens


def find_loop(response: str) -> Optional[Loop]:
    """The repeated passage when ``response`` ends in a loop (see the module docstring), or None."""
    tail, period, tokens = looping_tail(response)
    if tail < MIN_LOOP_TOKENS or period <= 0:
        return None
    copies = tail / period + 1
    if copies < MIN_COPIES:
        return None
    first = _aligned(response, tokens, max(0, len(tokens) - 2 * period), period)
    last = min(len(tokens), first + period) - 1
    start, end = tokens[first].start(), tokens[last].end()
    text = response[start:end]
    if len(text) > MAX_EVIDENCE_CHARS:
        text = text[:MAX_EVIDENCE_CHARS - 1] + "\u2026"
    return Loop(text=text, start=start, end=end, copies=round(copies, 1), period=period,
                tail_tokens=tail)


def _aligned(response: str, tokens: list[re.Match], first: int, period: int) -> int:
    """Move ``first`` forward to the first token of the copy that starts a line or sentence."""
    for i in range(first, min(len(tokens), first + period)):
        start = tokens[i].start()
        before = response[max(0, start - 8):start].rstrip(" \t")
        if not before or before.endswith(("\n", ". ", ".", "?", "!")):
            return i
    return first
