"""The NAME:HEADS[:ARG...] spec: parsing, normalization, files, and errors with a caret."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness_ext.interventions.spec import HeadRef, InterventionItem, SpecError, parse_spec


def caret_column(message: str) -> int:
    """The index into the quoted spec that the caret line points at."""
    lines = message.splitlines()
    caret = next(i for i, line in enumerate(lines) if line.strip() == "^")
    return lines[caret].index("^") - 2


def test_parse_two_items() -> None:
    spec = parse_spec("zero:L12H3+L14H7;scale:L20H1+L21H0:1.3")
    assert spec.items == (  # sorted: items act on disjoint heads, so order carries no meaning
        InterventionItem("scale", (HeadRef(20, 1), HeadRef(21, 0)), ("1.3",)),
        InterventionItem("zero", (HeadRef(12, 3), HeadRef(14, 7))),
    )


def test_whole_layer_and_several_args() -> None:
    spec = parse_spec("noise:L3+L1H0:0.1:42")
    assert spec.items[0].heads == (HeadRef(1, 0), HeadRef(3, None))
    assert spec.items[0].args == ("0.1", "42")


def test_normalized_sorts_and_dedupes() -> None:
    one = parse_spec(" zero : L14H7 + L12H3 + L12H3 ; scale:L21H0+L20H1 : 1.3 ")
    two = parse_spec("scale:L20H1+L21H0:1.3;zero:L12H3+L14H7")
    assert one.normalized() == two.normalized() == "scale:L20H1+L21H0:1.3;zero:L12H3+L14H7"
    assert parse_spec("zero:L1H2+L1+L0H3").normalized() == "zero:L0H3+L1"
    assert parse_spec(one.normalized()) == one


@pytest.mark.parametrize("text", ["", "  ", "\t\n"])
def test_empty_spec_is_refused_and_points_to_the_baseline(text: str) -> None:
    """``interventions=`` with nothing after it is a script's empty variable, not the baseline."""
    with pytest.raises(SpecError, match=r"the spec is empty; omit interventions= .* baseline"):
        parse_spec(text)


@pytest.mark.parametrize(
    ("text", "column", "phrase"),
    [
        ("zero:L12X3;scale:L20H1:1.3", 8, "unexpected 'X'"),
        ("zero", 4, "expected ':'"),
        ("zero:", 5, "expected a head"),
        ("zero:L1H2;", 10, "expected an intervention name"),
        ("zero:L1H2:", 10, "expected an argument"),
        ("1zero:L1", 0, "expected an intervention name"),
        ("zero:L1H2+", 10, "expected a head"),
        ("zero:L1H2 L3", 10, "expected ';'"),
        ("zero:L1H2,L3", 9, "expected ';'"),
        ("zero:L1H2=1", 9, "expected ';'"),
        ("zero:@heads.json#0", 17, "positive number"),
        ("zero:L1H2;scale:L1:2", 16, "overlaps"),
    ],
)
def test_malformed_spec_points_at_the_character(text: str, column: int, phrase: str) -> None:
    with pytest.raises(SpecError) as caught:
        parse_spec(text)
    message = str(caught.value)
    assert phrase in message
    assert f"  {text}" in message.splitlines()
    assert caret_column(message) == column


def test_error_states_the_expected_form() -> None:
    with pytest.raises(SpecError, match=r"NAME:HEADS\[:ARG\.\.\.\]"):
        parse_spec("zero:X")


def write(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data))
    return path


def test_heads_file_emergent_in_rank_order(tmp_path: Path) -> None:
    write(
        tmp_path / "heads.json",
        {"emergent": [{"layer": 14, "head": 7}, {"layer": 3, "head": 1}, {"layer": 9, "head": 0}]},
    )
    spec = parse_spec("zero:@heads.json#2", base_dir=tmp_path)
    assert spec.normalized() == "zero:L3H1+L14H7"
    assert (
        parse_spec("zero:@heads.json+L0H0", base_dir=tmp_path).normalized()
        == "zero:L0H0+L3H1+L9H0+L14H7"
    )


def test_heads_file_heads_list_sorted_by_effect(tmp_path: Path) -> None:
    write(
        tmp_path / "h.json",
        {
            "heads": [
                {"layer": 1, "head": 1, "emergent": True, "effect": 0.2},
                {"layer": 2, "head": 2, "emergent": False, "effect": 0.9},
                {"layer": 3, "head": 3, "emergent": True, "effect": 0.8},
            ]
        },
    )
    assert parse_spec("zero:@h.json#1", base_dir=tmp_path).normalized() == "zero:L3H3"


@pytest.mark.parametrize(
    ("content", "phrase"),
    [
        (None, "not found"),
        ("{not json", "not valid JSON"),
        (json.dumps({"other": []}), "no 'emergent' or 'heads' list"),
        (json.dumps({"emergent": [{"layer": 1}]}), "malformed entry"),
        (json.dumps({"emergent": [{"layer": -1, "head": 0}]}), "malformed entry"),
        (json.dumps({"emergent": [{"layer": 1, "head": 0}]}), "fewer than the 5"),
    ],
)
def test_bad_heads_file(tmp_path: Path, content: str | None, phrase: str) -> None:
    if content is not None:
        (tmp_path / "heads.json").write_text(content)
    with pytest.raises(SpecError) as caught:
        parse_spec("scale:L0H0;zero:@heads.json#5", base_dir=tmp_path)
    assert phrase in str(caught.value)
    assert caret_column(str(caught.value)) == 16  # the "@"


def test_spec_file_yaml(tmp_path: Path) -> None:
    write(tmp_path / "heads.json", {"emergent": [{"layer": 5, "head": 5}]})
    (tmp_path / "spec.yaml").write_text(
        "- name: zero\n  heads: [L12H3, L14H7, '@heads.json']\n"
        "- name: scale\n  heads: L20H1+L21\n  args: [1.3]\n"
        "- {name: mean, heads: [{layer: 2, head: 0}]}\n"
    )
    spec = parse_spec(f"@{tmp_path / 'spec.yaml'}")
    assert spec.normalized() == "mean:L2H0;scale:L20H1+L21:1.3;zero:L5H5+L12H3+L14H7"


def test_spec_file_json(tmp_path: Path) -> None:
    write(tmp_path / "spec.json", [{"name": "scale", "heads": ["L1H2"], "args": [0.5]}])
    assert parse_spec("@spec.json", base_dir=tmp_path).normalized() == "scale:L1H2:0.5"


@pytest.mark.parametrize(
    ("content", "phrase"),
    [
        ("{}", "must hold a list"),
        ("- name: zero\n", "each item must be"),
        ("- {name: zero, heads: L1X}\n", "item 1, heads"),
        ("- {name: 'no good', heads: L1}\n", "not a valid intervention name"),
        ("- {name: zero, heads: L1, colour: red}\n", "each item must be"),
        ("- {name: scale, heads: L1, args: ['a:b']}\n", "plain value"),
        ("- [unclosed\n", "could not be read"),
    ],
)
def test_bad_spec_file(tmp_path: Path, content: str, phrase: str) -> None:
    (tmp_path / "spec.yaml").write_text(content)
    with pytest.raises(SpecError, match=phrase):
        parse_spec("@spec.yaml", base_dir=tmp_path)


def test_spec_file_missing_or_wrong_suffix(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="file not found"):
        parse_spec("@absent.yaml", base_dir=tmp_path)
    with pytest.raises(SpecError, match=r"zero:@heads\.json#10"):
        parse_spec("@heads.json#10", base_dir=tmp_path)
