"""The logged sample (harness_ext.formats.samples): lm-eval's sample lines, typed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness_ext.errors import SparksError
from harness_ext.formats.samples import GenerationFact, LoggedSample, read_samples

LINE = {
    "doc_id": 3,
    "doc": {"problem_id": "p/3", "answer": "7"},
    "target": "7",
    "arguments": {
        "gen_args_0": {
            "arg_0": "prompt",
            "arg_1": {
                "max_gen_toks": 96,
                "sparks_generation": [
                    {"generated_tokens": 96, "stop_reason": "length", "max_gen_toks": 96},
                    {"generated_tokens": 12, "stop_reason": "eos", "max_gen_toks": 96},
                ],
            },
        }
    },
    "resps": [["a \\boxed{7}", "b"]],
    "filtered_resps": [["7", ""]],
    "pass@1": 0.5,
    "ungraded": 0,
}


def test_a_logged_line_is_typed() -> None:
    sample = LoggedSample.from_json(LINE, Path("s.jsonl"), 1)
    assert (sample.doc_id, sample.target, sample.responses) == (3, "7", ("a \\boxed{7}", "b"))
    assert sample.filtered == ("7", "") and sample.max_gen_toks == 96
    assert (sample.score("pass@1"), sample.score("exact_match"), sample.ungraded) == (0.5, None, 0)
    assert sample.generation == (GenerationFact(96, "length", 96), GenerationFact(12, "eos", 96))


def test_facts_that_do_not_fit_the_responses_are_not_used() -> None:
    line = json.loads(json.dumps(LINE))
    line["resps"] = [["only one"]]
    assert LoggedSample.from_json(line, Path("s.jsonl")).generation is None
    line = json.loads(json.dumps(LINE))
    line["arguments"]["gen_args_0"]["arg_1"]["sparks_generation"][0]["stop_reason"] = "tired"
    assert LoggedSample.from_json(line, Path("s.jsonl")).generation is None
    line.pop("ungraded")
    assert LoggedSample.from_json(line, Path("s.jsonl")).ungraded is None


def test_a_cut_or_foreign_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "samples_t.jsonl"
    path.write_text(json.dumps(LINE) + "\n" + json.dumps(LINE)[:40])
    with pytest.raises(SparksError, match="last line is cut off"):
        list(read_samples(path))
    path.write_text(json.dumps({"doc_id": 1}) + "\n")
    with pytest.raises(SparksError, match="has no 'resps'"):
        list(read_samples(path))
    path.write_text("[1, 2]\n")
    with pytest.raises(SparksError, match="not a JSON object"):
        list(read_samples(path))
