"""The rows of the control tasks (no difficulty tiers: every row's tier is ``"all"``, the
reports' whole-task tier; ``number`` is the row's 1-based position).

GPQA: the four choices are shuffled with :data:`GPQA_SHUFFLE_SEED` and the id, so a question
keeps its letters whatever else is in the file; ``problem`` is the question followed by the
lettered choices ``(A) ...`` to ``(D) ...``, ``answer`` the correct letter, and the row also
carries ``choices`` (in letter order) and ``domain``. TriviaQA: ``answer`` is the canonical
answer and the row's ``aliases`` list starts with it (any alias counts as correct).
"""

from __future__ import annotations

import random
from typing import Any, Sequence

from .rows import Row, checked_id, checked_text, json_text, make_row

GPQA_SHUFFLE_SEED = 1234  # fixed, so runs of gpqa_diamond_sparks see the same letters
CHOICE_LETTERS = "ABCD"
NO_TIER = "all"  # the reports' whole-task tier (reports.runs.TIER_FALLBACK)

GPQA_FIELDS = ("id", "question", "correct_answer", "incorrect_answers")
TRIVIAQA_FIELDS = ("id", "question", "answer")


def gpqa_row(
    problem_id: Any,
    question: Any,
    correct: Any,
    incorrect: Any,
    domain: Any,
    number: int,
    source: str,
) -> Row:
    """A GPQA question as a sparks row: ``problem`` lists the shuffled choices, ``answer`` is
    the letter of the correct one."""
    problem_id = checked_id(problem_id)
    question = checked_text(question, "question").strip()
    given = _gpqa_choices(correct, incorrect)
    choices = shuffled_choices(problem_id, given)
    letter = CHOICE_LETTERS[choices.index(given[0])]
    return {
        **make_row(problem_id, gpqa_problem(question, choices), letter, number, NO_TIER, source),
        "choices": choices,
        "domain": _optional_text(domain, "domain"),
    }


def _gpqa_choices(correct: Any, incorrect: Any) -> list[str]:
    """The correct answer first, then the three incorrect ones; all four must differ."""
    if not isinstance(incorrect, list) or len(incorrect) != 3:
        raise ValueError(f'"incorrect_answers" {json_text(incorrect)} is not a list of 3 strings')
    choices = [checked_text(correct, "correct_answer").strip()] + [
        checked_text(item, f"incorrect_answers[{index}]").strip()
        for index, item in enumerate(incorrect)
    ]
    if len(set(choices)) != len(choices):
        raise ValueError(
            f"the choices {json_text(choices)} are not all different, so the correct "
            f"letter would be ambiguous"
        )
    return choices


def shuffled_choices(problem_id: str, choices: Sequence[str]) -> list[str]:
    """``choices`` in this question's fixed order: seeded by :data:`GPQA_SHUFFLE_SEED` and the id
    alone, so neither the file's order nor the other questions change a question's letters."""
    order = list(choices)
    random.Random(f"{GPQA_SHUFFLE_SEED}:{problem_id}").shuffle(order)
    return order


def gpqa_problem(question: str, choices: Sequence[str]) -> str:
    """The question, a blank line, then one ``(A) choice`` line per choice."""
    lines = [f"({letter}) {choice}" for letter, choice in zip(CHOICE_LETTERS, choices)]
    return question + "\n\n" + "\n".join(lines)


def _optional_text(value: Any, field: str) -> str:
    if value is None or value == "":
        return ""
    return checked_text(value, field).strip()


def triviaqa_row(
    problem_id: Any, question: Any, answer: Any, aliases: Any, number: int, source: str
) -> Row:
    """A TriviaQA question as a sparks row; ``aliases`` starts with the canonical answer."""
    row = make_row(problem_id, question, answer, number, NO_TIER, source)
    return {**row, "aliases": _aliases(row["answer"], aliases)}


def _aliases(answer: str, aliases: Any) -> list[str]:
    if not isinstance(aliases, list):
        raise ValueError(f'"aliases" {json_text(aliases)} is not a list of strings')
    names = [answer] + [
        checked_text(alias, f"aliases[{index}]").strip() for index, alias in enumerate(aliases)
    ]
    return list(dict.fromkeys(names))


def gpqa_clean(text: Any) -> Any:
    """lm-eval's clean-up of GPQA's Hub text (its " [title]" markers, doubled spaces)."""
    if not isinstance(text, str):
        return text  # the row check names the field
    return text.strip().replace(" [title]", ". ").replace("  ", " ")
