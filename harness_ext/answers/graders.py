"""The one registry of graders, and the grading rules a task declares in its YAML metadata.

A task names its grader and rules in its YAML ``metadata`` under ``grading`` (validated by
:class:`GradingRules`); lm-eval records that metadata in the run's results file (``configs``).
The task's scoring (``harness_ext.tasks.scoring``) and the reports both grade through
:func:`check` / :func:`extract` / :func:`judge` here, by the grader name the rules give, so a
report grades a response exactly as its task did::

    metadata:
      version: 1.0
      grading:
        grader: math            # math | letter | alias
        integer_range: [0, 999] # math only: the answer must be an integer in range (AIME)
        publish_text: true      # false: report.md never shows the problem text (GPQA)

Graders (each one extracts an answer from a response, then judges it against the doc):

* ``math``: the final answer (:func:`harness_ext.answers.extract_answer`) against
  ``doc["answer"]`` by mathematical equivalence (:func:`harness_ext.answers.check_answer`,
  with ``integer_range`` when the rules give one).
* ``letter``: the choice letter (:func:`harness_ext.answers.choices.extract_letter`) equal to
  ``doc["answer"]`` (a multiple-choice task such as GPQA).
* ``alias``: the answer span (:func:`harness_ext.answers.aliases.extract_span`) matching one
  of ``doc["aliases"]`` (a list of strings; TriviaQA-style questions).

A response without an answer is ``Verdict(None, False, "no_answer")`` under every grader.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional

from pydantic import BaseModel, ConfigDict, StrictBool, StrictInt, ValidationError, model_validator

from harness_ext import answers  # the package's public API, read at call time (tests patch it)
from harness_ext.errors import SparksError

from . import Verdict
from .aliases import extract_span, matches_alias
from .choices import extract_letter

__all__ = [
    "GRADERS",
    "METADATA_KEY",
    "Grader",
    "GradingRules",
    "check",
    "extract",
    "judge",
    "rules_from_metadata",
]

METADATA_KEY = "grading"  # where a task's YAML metadata holds its rules


class GradingRules(BaseModel):
    """How a task's responses are graded (its YAML ``metadata.grading``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    grader: str = "math"
    integer_range: Optional[tuple[StrictInt, StrictInt]] = None
    publish_text: StrictBool = True

    @model_validator(mode="after")
    def _consistent(self) -> "GradingRules":
        if self.grader not in GRADERS:
            raise ValueError(
                f"grader {self.grader!r} is not one of the registered graders "
                f"({', '.join(sorted(GRADERS))})"
            )
        if self.integer_range is not None:
            low, high = self.integer_range
            if low > high:
                raise ValueError(f"integer_range [{low}, {high}] has low > high")
            if self.grader != "math":
                raise ValueError(
                    f"integer_range applies to the math grader only, not to {self.grader!r}"
                )
        return self


@dataclass(frozen=True)
class Grader:
    """One way to grade: how the answer is found in a response, and how it is judged."""

    name: str
    extract: Callable[[str], Optional[str]]  # a response -> its answer as written, or None
    judge: Callable[[str, Mapping[str, Any], GradingRules], Verdict]  # answer, doc, rules
    description: str


def _gold(doc: Mapping[str, Any]) -> str:
    gold = doc.get("answer")
    if gold is None:
        raise SparksError(
            f"the doc of problem {doc.get('problem_id', '?')!r} has no 'answer'; every grader "
            f"reads the gold answer from doc['answer']: set it in the task's data loader"
        )
    return str(gold)


def _extract_math(response: str) -> Optional[str]:
    return answers.extract_answer(response)


def _judge_math(answer: str, doc: Mapping[str, Any], rules: GradingRules) -> Verdict:
    return answers.check_answer(answer, _gold(doc), integer_range=rules.integer_range)


def _judge_letter(answer: str, doc: Mapping[str, Any], rules: GradingRules) -> Verdict:
    equal = answer == _gold(doc)
    return Verdict(answer, equal, "exact" if equal else "mismatch")


def _judge_alias(answer: str, doc: Mapping[str, Any], rules: GradingRules) -> Verdict:
    aliases = doc.get("aliases")
    if not isinstance(aliases, (list, tuple)) or not all(isinstance(a, str) for a in aliases):
        raise SparksError(
            f"the alias grader reads doc['aliases'], a list of strings; the doc of problem "
            f"{doc.get('problem_id', '?')!r} has {aliases!r}: give every doc its aliases in "
            f"the task's data loader (the canonical answer first)"
        )
    equal = matches_alias(answer, aliases)
    return Verdict(answer, equal, "exact" if equal else "mismatch")


GRADERS: Mapping[str, Grader] = {
    grader.name: grader
    for grader in (
        Grader(
            "math",
            _extract_math,
            _judge_math,
            "the final answer, equal to doc['answer'] by mathematical equivalence",
        ),
        Grader(
            "letter",
            extract_letter,
            _judge_letter,
            "the choice letter (A-D), equal to doc['answer']",
        ),
        Grader(
            "alias",
            extract_span,
            _judge_alias,
            "the answer span, matching one of doc['aliases'] (TriviaQA normalisation)",
        ),
    )
}


def extract(response: str, rules: GradingRules) -> Optional[str]:
    """The answer of ``response`` as the rules' grader reads it (as written), or None."""
    if not isinstance(response, str):
        return None
    return GRADERS[rules.grader].extract(response) or None


def judge(answer: str, doc: Mapping[str, Any], rules: GradingRules) -> Verdict:
    """The verdict on an extracted ``answer`` ("" or None: ``no_answer``) for ``doc``."""
    if not answer:
        return Verdict(None, False, "no_answer")
    return GRADERS[rules.grader].judge(answer, doc, rules)


def check(response: str, doc: Mapping[str, Any], rules: GradingRules) -> Verdict:
    """Extract the answer of ``response`` and judge it: exactly what the task's filter and
    metric do, one after the other."""
    return judge(extract(response, rules) or "", doc, rules)


def rules_from_metadata(metadata: Any, *, where: str) -> Optional[GradingRules]:
    """The grading rules in a task's metadata (``metadata["grading"]``), None when it has none.

    ``where`` names the task (and file) in the error a malformed entry gets.
    """
    if not isinstance(metadata, Mapping) or metadata.get(METADATA_KEY) is None:
        return None
    given = metadata[METADATA_KEY]
    if isinstance(given, GradingRules):
        return given
    try:
        return GradingRules.model_validate(given)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or METADATA_KEY}: "
            f"{e['msg'].removeprefix('Value error, ')}"
            for e in error.errors()
        )
        raise SparksError(
            f"{where}: metadata.{METADATA_KEY} is not valid ({problems}). Write it as "
            f"{{grader: math | letter | alias, integer_range: [low, high] (math only, e.g. "
            f"[0, 999] for AIME), publish_text: true | false}}; every key is optional "
            f"(defaults: math, no range, true)"
        ) from None
