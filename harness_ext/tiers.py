"""Difficulty tiers, as data: the one place where tier boundaries live.

AIME and AMC problems get a tier from their problem number (competitions order problems by
difficulty); MATH-500 problems from the data set's own level. The AIME/AMC boundaries are the
common reading cited in ``shared/notes/paper-method.md``; change them here and every task,
log and report follows.
"""

from __future__ import annotations

TIER_ORDER: tuple[str, ...] = ("easy", "medium", "hard")

# contest -> list of (first problem number, last problem number, tier)
NUMBER_TIERS: dict[str, tuple[tuple[int, int, str], ...]] = {
    "aime": ((1, 5, "easy"), (6, 10, "medium"), (11, 15, "hard")),
    "amc": ((1, 10, "easy"), (11, 20, "medium"), (21, 25, "hard")),
}

# MATH level -> tier
MATH_LEVEL_TIERS: dict[int, str] = {
    1: "level 1",
    2: "level 2",
    3: "level 3",
    4: "level 4",
    5: "level 5",
}


def tier_for_number(contest: str, number: int) -> str:
    """The tier of problem ``number`` of an ``aime`` or ``amc`` contest."""
    for first, last, tier in NUMBER_TIERS[contest]:
        if first <= number <= last:
            return tier
    raise ValueError(
        f"{contest} problem number {number} is outside the known tiers {NUMBER_TIERS[contest]}"
    )


def tier_for_level(level: int) -> str:
    """The tier of a MATH problem of the given level (1-5)."""
    try:
        return MATH_LEVEL_TIERS[int(level)]
    except (KeyError, ValueError):
        raise ValueError(f"MATH level {level!r} is not one of {sorted(MATH_LEVEL_TIERS)}") from None
