"""The labels on real output of the embedded model (tests/data/responses.jsonl).

18 greedy responses (AIME 2024 and AMC problems, chat template, 512-token budget) made by
tests/data/make_responses.py. Each was read by hand: ``loop`` is true for the ones that loop,
false for the ones that clearly do not, null for borderline recaps (not asserted either way);
``false_claim`` is the first false arithmetic claim, where there is one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness_ext.answers import extract_answer
from harness_ext.reports import diagnose
from harness_ext.reports.arithmetic import find_false_claim
from harness_ext.reports.loops import find_loop
from harness_ext.reports.truncation import is_truncated

DATA = Path(__file__).resolve().parents[1] / "data" / "responses.jsonl"
ALL_ROWS: list[dict[str, Any]] = [json.loads(line) for line in DATA.read_text().splitlines()]
# the first 18 rows carry hand-set loop and false-claim marks; the labelled rows that follow
# (label, reason, a second labeller's label_b) are checked by tests/reports/test_labels_set.py
RESPONSES = [row for row in ALL_ROWS if "loop" in row]
BY_ID = {row["id"]: row for row in RESPONSES}


def _ids(rows: list[dict[str, Any]]) -> list[str]:
    return [row["id"] for row in rows]


def test_fixture_covers_both_kinds() -> None:
    assert sum(row["loop"] is True for row in RESPONSES) >= 5
    assert sum(row["loop"] is False for row in RESPONSES) >= 5
    assert sum(not row["ended"] for row in RESPONSES) >= 5


@pytest.mark.parametrize(
    "row",
    [r for r in RESPONSES if r["loop"] is True],
    ids=_ids([r for r in RESPONSES if r["loop"] is True]),
)
def test_real_loops_are_found(row: dict[str, Any]) -> None:
    loop = find_loop(row["response"])
    assert loop is not None and loop.copies >= 3
    assert row["response"][loop.start : loop.end].startswith(loop.text.rstrip("\u2026"))


@pytest.mark.parametrize(
    "row",
    [r for r in RESPONSES if r["loop"] is False],
    ids=_ids([r for r in RESPONSES if r["loop"] is False]),
)
def test_no_loop_where_there_is_none(row: dict[str, Any]) -> None:
    assert find_loop(row["response"]) is None


@pytest.mark.parametrize("row", RESPONSES, ids=_ids(RESPONSES))
def test_false_claims_in_real_text(row: dict[str, Any]) -> None:
    claim = find_false_claim(row["response"])
    if row["false_claim"] is None:
        assert claim is None, claim
    else:
        assert claim is not None and claim.text == row["false_claim"]


def test_labels_follow_the_order_on_real_output() -> None:
    labels = {
        row["id"]: diagnose(
            row["response"],
            row["gold"],
            truncated=not row["ended"],
            integer_range=(0, 999) if "-I-" in row["id"] else None,
        ).label
        for row in RESPONSES
    }
    loops_cut = {"2024-I-4", "2024-I-8", "2024-I-9", "2022-AMC12A-13"}  # looped until the cut
    assert {pid for pid, label in labels.items() if label == "truncated"} == {
        row["id"] for row in RESPONSES if not row["ended"]
    } - loops_cut
    assert {pid for pid, label in labels.items() if label == "logical_loop"} == {
        "2024-I-10",
        "2022-AMC12A-1",
        "2022-AMC12A-12",
    } | loops_cut  # the loops that still ended, and those the token limit cut
    assert labels["2024-I-2"] == "no_answer"  # "y=10x+10" is no AIME answer
    assert labels["2024-I-3"] == "reasoning_error"
    assert "correct" not in labels.values()


def test_estimated_truncation_has_no_false_positives() -> None:
    flagged = {
        row["id"]
        for row in RESPONSES
        if is_truncated(
            row["response"], row["max_gen_toks"], has_answer=bool(extract_answer(row["response"]))
        )
    }
    cut = {row["id"] for row in RESPONSES if not row["ended"]}
    assert flagged <= cut and len(flagged) >= len(cut) - 1


@pytest.mark.integration
def test_tokenizer_truncation_matches_generation(embedded_model: Path) -> None:
    from harness_ext.reports.truncation import load_token_counter

    counter, note = load_token_counter("sparks", "", "tokenizer")
    assert counter is not None and "SmolLM2" in note
    for row in RESPONSES:  # 2022-AMC12A-1 ended at 510 of 512 tokens, with an answer
        assert counter(row["response"]) == row["n_tokens"], row["id"]
        truncated = is_truncated(
            row["response"],
            row["max_gen_toks"],
            count_tokens=counter,
            has_answer=bool(extract_answer(row["response"])),
        )
        assert truncated == (not row["ended"]), row["id"]
