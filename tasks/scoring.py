"""Prompt, answer extraction and scoring shared by every sparks task (thin: the work is in
``harness_ext.answers``).

The filter pipeline replaces each response by its extracted final answer, so that lm-eval's
sample logs (``--log_samples``) show it in ``filtered_resps`` next to the raw ``resps``; the
metrics then compare those answers with the gold answer by mathematical equivalence.
"""

from __future__ import annotations

from typing import Any

from harness_ext import answers

INSTRUCTION = "Please reason step by step, and put your final answer within \\boxed{}."
AIME_RANGE = (0, 999)


def doc_to_text(doc: dict[str, Any]) -> str:
    """The problem, then the reasoning-model instruction (works as a chat user turn)."""
    return f"{doc['problem'].strip()}\n\n{INSTRUCTION}"


def extract_answers(resps: list[list[str]], docs: list[dict[str, Any]]) -> list[list[str]]:
    """Filter: every response of every doc becomes its final answer as written ("" if none)."""
    return [[answers.extract_answer(response) or "" for response in responses]
            for responses in resps]


def _correct(results: list, gold: str, integer_range: tuple[int, int] | None) -> list[bool]:
    # lm-eval passes one entry per request; with `repeats` the entry is the list of n answers
    extracted = results[0] if results and isinstance(results[0], list) else results
    return [bool(answer) and answers.answers_equal(answer, gold, integer_range=integer_range)
            for answer in extracted]


def pass_at_1(doc: dict[str, Any], results: list[str]) -> dict[str, float]:
    """pass@1 averaged over the n sampled responses of one problem."""
    correct = _correct(results, doc["answer"], None)
    return {"pass@1": sum(correct) / len(correct)}


def pass_at_1_aime(doc: dict[str, Any], results: list[str]) -> dict[str, float]:
    """pass@1 for AIME: an answer must be an integer from 0 to 999 to count."""
    correct = _correct(results, doc["answer"], AIME_RANGE)
    return {"pass@1": sum(correct) / len(correct)}


def exact_match(doc: dict[str, Any], results: list[str]) -> dict[str, float]:
    """Greedy tasks: the one response is right or wrong."""
    return {"exact_match": float(_correct(results, doc["answer"], None)[0])}


def exact_match_aime(doc: dict[str, Any], results: list[str]) -> dict[str, float]:
    """Greedy AIME tasks: the one response is right (an integer 0-999 equal to gold) or wrong."""
    return {"exact_match": float(_correct(results, doc["answer"], AIME_RANGE)[0])}
