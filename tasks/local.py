"""Rows from local JSON Lines files (``amc.jsonl``, ``aime.jsonl``, ``math500.jsonl``,
``gpqa_diamond.jsonl``, ``triviaqa.jsonl``), shaped like the project's ``shared/data``; every
line checked (:mod:`.rows`)."""

from __future__ import annotations

from pathlib import Path

from harness_ext.errors import SparksError
from harness_ext.tiers import tier_for_level, tier_for_number

from .controls import gpqa_row, triviaqa_row
from .rows import Row, checked_integer, line_checked, make_row, read_problems

GPQA_FIELDS = ("id", "question", "correct_answer", "incorrect_answers")
TRIVIAQA_FIELDS = ("id", "question", "answer")


def local_amc(path: Path) -> list[Row]:
    """AMC problems: ``{"id", "number", "problem", "answer"}`` per line."""
    rows = []
    for number, row in read_problems(path, ("id", "number", "problem", "answer")):
        with line_checked(path, number):
            tier = tier_for_number("amc", checked_integer(row["number"], "number"))
            rows.append(
                make_row(row["id"], row["problem"], row["answer"], row["number"], tier, str(path))
            )
    return rows


def local_aime(path: Path, year: int) -> list[Row]:
    """The AIME problems of ``year``: ``{"id", "year", "number", "problem", "answer"}``."""
    rows = []
    for number, row in read_problems(path, ("id", "year", "number", "problem", "answer")):
        with line_checked(path, number):
            if checked_integer(row["year"], "year") != year:
                continue
            tier = tier_for_number("aime", checked_integer(row["number"], "number"))
            rows.append(
                make_row(row["id"], row["problem"], row["answer"], row["number"], tier, str(path))
            )
    if not rows:
        raise SparksError(f'{path} has no AIME {year} problems (no line with "year": {year}).')
    return rows


def local_math500(path: Path) -> list[Row]:
    """MATH-500 problems: ``{"id", "problem", "answer", "level"}`` (the level is the number)."""
    rows = []
    for number, row in read_problems(path, ("id", "problem", "answer", "level")):
        with line_checked(path, number):
            tier = tier_for_level(checked_integer(row["level"], "level"))
            rows.append(
                make_row(row["id"], row["problem"], row["answer"], row["level"], tier, str(path))
            )
    return rows


def local_gpqa(path: Path) -> list[Row]:
    """GPQA diamond questions (:data:`GPQA_FIELDS`, ``domain`` optional)."""
    rows = []
    for index, (number, row) in enumerate(read_problems(path, GPQA_FIELDS), start=1):
        with line_checked(path, number):
            rows.append(
                gpqa_row(
                    row["id"],
                    row["question"],
                    row["correct_answer"],
                    row["incorrect_answers"],
                    row.get("domain", ""),
                    index,
                    str(path),
                )
            )
    return rows


def local_triviaqa(path: Path) -> list[Row]:
    """TriviaQA questions (:data:`TRIVIAQA_FIELDS`, ``aliases`` optional)."""
    rows = []
    for index, (number, row) in enumerate(read_problems(path, TRIVIAQA_FIELDS), start=1):
        with line_checked(path, number):
            aliases = row.get("aliases", [])
            rows.append(
                triviaqa_row(row["id"], row["question"], row["answer"], aliases, index, str(path))
            )
    return rows
