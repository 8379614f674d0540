"""Task data: local JSONL and the Hub, schema, tiers, and clear errors."""

from __future__ import annotations

import json

import pytest

from harness_ext.answers.graders import GradingRules
from harness_ext.errors import SparksError
from harness_ext.tasks import data, scoring
from harness_ext.tasks.rows import checked_answer
from harness_ext.tasks.task import SparksTask
from harness_ext.tiers import tier_for_level, tier_for_number

SCHEMA = {"problem_id", "problem", "answer", "number", "tier", "source"}


@pytest.mark.parametrize(
    "loader,count,first_id",
    [
        (data.load_amc, 83, "2022-AMC12A-1"),
        (data.load_aime24, 30, "2024-I-1"),
        (data.load_aime25, 30, "2025-I-1"),
        (data.load_math500, 500, "test/precalculus/807.json"),
    ],
)
def test_local_loaders(local_data, loader, count, first_id):
    rows = loader(version=1.0)["test"]
    assert len(rows) == count
    assert set(rows.column_names) == SCHEMA
    assert rows[0]["problem_id"] == first_id
    assert all(isinstance(answer, str) and answer for answer in rows["answer"])


def test_tiers_come_from_problem_number_and_level(local_data):
    aime = data.load_aime24()["test"]
    assert {(row["number"], row["tier"]) for row in aime if row["number"] in (5, 6, 11)} == {
        (5, "easy"),
        (6, "medium"),
        (11, "hard"),
    }
    amc = data.load_amc()["test"]
    assert all(row["tier"] == tier_for_number("amc", row["number"]) for row in amc)
    math = data.load_math500()["test"]
    assert math[0]["tier"] == tier_for_level(2) == "level 2"


def test_unknown_tier_inputs_are_clear():
    with pytest.raises(ValueError, match="outside the known tiers"):
        tier_for_number("aime", 16)
    with pytest.raises(ValueError, match="MATH level 7"):
        tier_for_level(7)


def test_metadata_data_dir_overrides_env(shared_data, monkeypatch):
    monkeypatch.setenv("SPARKS_DATA_DIR", "/nonexistent")
    assert len(data.load_aime25(data_dir=str(shared_data))["test"]) == 30


def test_missing_local_file_names_both_ways(tmp_path, monkeypatch):
    monkeypatch.setenv("SPARKS_DATA_DIR", str(tmp_path))
    with pytest.raises(SparksError, match=r"amc\.jsonl does not exist.*Hugging Face Hub"):
        data.load_amc()


def test_unreachable_hub_names_both_ways(monkeypatch):
    monkeypatch.setenv("SPARKS_DATA_DIR", "")  # the Hub
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(SparksError, match=r"AI-MO/aimo-validation-amc.*SPARKS_DATA_DIR"):
        data.load_amc()


def test_malformed_line_names_file_and_line(tmp_path, monkeypatch, shared_data):
    good = (shared_data / "amc.jsonl").read_text().splitlines()
    (tmp_path / "amc.jsonl").write_text("\n".join([good[0], good[1], "{not json", good[2]]))
    monkeypatch.setenv("SPARKS_DATA_DIR", str(tmp_path))
    with pytest.raises(SparksError, match=r"amc\.jsonl:3: not valid JSON"):
        data.load_amc()


def test_missing_field_names_file_and_line(tmp_path, monkeypatch):
    row = {"id": "2022-AMC12A-1", "number": 1, "problem": "p"}
    (tmp_path / "amc.jsonl").write_text(json.dumps(row) + "\n")
    monkeypatch.setenv("SPARKS_DATA_DIR", str(tmp_path))
    with pytest.raises(SparksError, match=r"amc\.jsonl:1: missing field\(s\) answer"):
        data.load_amc()


def test_bad_problem_number_names_file_and_line(tmp_path, monkeypatch):
    row = {"id": "x", "number": 40, "problem": "p", "answer": "1"}
    (tmp_path / "amc.jsonl").write_text(json.dumps(row) + "\n")
    monkeypatch.setenv("SPARKS_DATA_DIR", str(tmp_path))
    with pytest.raises(SparksError, match=r"amc\.jsonl:1: amc problem number 40"):
        data.load_amc()


def test_integral_float_answers_lose_their_point():
    assert checked_answer(142.0) == "142"
    assert checked_answer(-4.0) == "-4"
    assert checked_answer(" \\frac{1}{2} ") == "\\frac{1}{2}"


def test_prompt_asks_for_boxed_answer():
    text = scoring.doc_to_text({"problem": "  What is 1+1?  "})
    assert text.startswith("What is 1+1?\n\n") and "\\boxed{}" in text


def test_scoring_uses_math_equivalence():
    doc = {"answer": "33"}
    filtered = scoring.extract_answers(
        [["so \\boxed{033}", "\\boxed{34}", "no answer here"]], [doc]
    )
    assert filtered[0][0] == "033" and filtered[0][2] == ""
    assert scoring.pass_at_1(doc, [filtered[0]]) == {"pass@1": pytest.approx(1 / 3), "ungraded": 0}
    assert scoring.exact_match(doc, ["033"]) == {"exact_match": 1.0, "ungraded": 0}
    aime = GradingRules(integer_range=(0, 999))
    assert scoring.exact_match({"answer": "5"}, ["5.5"], rules=aime) == {
        "exact_match": 0.0,
        "ungraded": 0,
    }
    assert scoring.exact_match({"answer": "\\frac{1}{2}"}, ["0.5"]) == {
        "exact_match": 1.0,
        "ungraded": 0,
    }


def test_an_answer_whose_check_times_out_is_counted_ungraded(monkeypatch):
    """A check that runs out of time is wrong in pass@1 and counted in ``ungraded``."""
    from harness_ext import answers

    def slow(pred, gold, **_):
        return (
            answers.Verdict(pred, False, "timeout")
            if pred == "x"
            else answers.Verdict(pred, pred == gold, "exact")
        )

    monkeypatch.setattr(answers, "check_answer", slow)
    assert scoring.pass_at_1({"answer": "2"}, [["2", "x", "x", "3"]]) == {
        "pass@1": 0.25,
        "ungraded": 2,
    }
    assert scoring.total([0.0, 2.0, 1.0]) == 3.0


def _config(do_sample: bool, metadata: dict) -> dict:
    import datasets

    rows = datasets.DatasetDict({"test": datasets.Dataset.from_list([{"x": "1", "y": "1"}])})
    return {
        "task": "t",
        "custom_dataset": lambda **_: rows,
        "output_type": "generate_until",
        "doc_to_text": "x",
        "doc_to_target": "y",
        "test_split": "test",
        "generation_kwargs": {"until": [], "do_sample": do_sample},
        "repeats": 4,
        "metadata": metadata,
    }


def test_repeats_from_metadata_for_sampled_tasks_only():
    assert SparksTask(config=_config(True, {"repeats": 16})).config.repeats == 16
    assert SparksTask(config=_config(False, {"repeats": 16})).config.repeats == 4
    with pytest.raises(SparksError, match="positive integer"):
        SparksTask(config=_config(True, {"repeats": "many"}))
