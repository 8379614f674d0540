"""Model arguments are read one way (harness_ext.model_args), as lm-eval reads them."""

from __future__ import annotations

import pytest

from harness_ext.cli import with_intervention_flags
from harness_ext.errors import SparksError
from harness_ext.model_args import parse_model_args, parse_model_args_words


def test_key_value_pairs_are_typed_as_lm_eval_types_them() -> None:
    parsed = parse_model_args("pretrained=/m,batch_size=4,trust_remote_code=True,revision=None")
    assert parsed == {
        "pretrained": "/m",
        "batch_size": 4,
        "trust_remote_code": True,
        "revision": None,
    }
    assert parse_model_args(" interventions=zero:L1H1+L2H3;scale:L0H0:1.5 ") == {
        "interventions": "zero:L1H1+L2H3;scale:L0H0:1.5"
    }


def test_json_mappings_and_nothing() -> None:
    assert parse_model_args('{"pretrained": "/m", "dtype": "float32"}') == {
        "pretrained": "/m",
        "dtype": "float32",
    }
    assert parse_model_args({"a": 1}) == {"a": 1}
    assert parse_model_args(None) == parse_model_args("") == {}


@pytest.mark.parametrize(
    ("text", "phrase"),
    [("{pretrained: /m}", "is not valid JSON"), ('{"a": 1', "is not valid JSON")],
)
def test_bad_json_is_one_clear_error(text: str, phrase: str) -> None:
    with pytest.raises(SparksError, match=phrase):
        parse_model_args(text)


def test_several_words_merge_like_lm_evals_command_line() -> None:
    assert parse_model_args_words(["a=1,b=2", "b=3"]) == {"a": 1, "b": 3}
    assert parse_model_args_words(['{"interventions": "zero:L1H1"}']) == {
        "interventions": "zero:L1H1"
    }
    assert parse_model_args_words([]) == {}


def test_the_cli_reads_model_args_with_the_same_parser() -> None:
    with pytest.raises(SparksError, match="both in --model_args and as flags"):
        with_intervention_flags(
            ["--model_args", "a=1", "interventions=zero:L0H0", "--ablate", "L1H1"]
        )
    # "interventions" inside another value is not the key
    argv = with_intervention_flags(["--model_args", "note=interventions", "--ablate", "L1H1"])
    assert argv == ["--model_args", "note=interventions,interventions=zero:L1H1"]
