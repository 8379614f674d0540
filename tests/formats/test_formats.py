"""heads.json as one typed model (``harness_ext.formats.HeadsFile``) and the one atomic writer
(``harness_ext.atomic``).

The files in tests/data/heads/ were written by the sparks-heads/1 writers as they were: the
first release's ``build_result`` (commit a95cda8, no ``circuits``), the first checkpoint series
(2172184, no steps, rewards or ``dynamics``), and today's writer before HeadsFile existed (with
``--edges``, a rewarded series and ``--compare-thinking``). They must keep reading, and read
back to the same bytes.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Callable, Iterator

import pytest

from harness_ext.atomic import write_atomic, write_atomic_with
from harness_ext.errors import SparksError
from harness_ext.formats import FORMAT, HeadsFile, read_emergent_heads
from harness_ext.interventions.spec import SpecError, parse_spec, read_heads_file

DATA = Path(__file__).parents[1] / "data" / "heads"
FIXTURES = sorted(DATA.glob("sparks-heads-1*.json"))


def fixture(name: str) -> dict:
    return json.loads((DATA / name).read_text())


def raises(data: object) -> str:
    """The message of the SparksError that reading ``data`` gives (one line, no pydantic dump)."""
    with pytest.raises(SparksError) as caught:
        HeadsFile.from_json(json.dumps(data))
    message = str(caught.value)
    assert "\n" not in message and "pydantic" not in message and "validation error" not in message
    return message


# ---------------------------------------------------------------- reading and writing


def test_the_fixtures_are_there() -> None:
    assert {p.name for p in FIXTURES} >= {
        "sparks-heads-1-first.json",
        "sparks-heads-1-first-nobase.json",
        "sparks-heads-1-series-first.json",
        "sparks-heads-1.json",
        "sparks-heads-1-series.json",
        "sparks-heads-1-thinking.json",
    }


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_every_written_file_reads_and_writes_back_the_same_bytes(
    path: Path, tmp_path: Path
) -> None:
    heads = HeadsFile.read(path)
    assert heads.format == FORMAT
    assert heads.to_json() == path.read_text()  # key order, absent keys and floats kept
    assert HeadsFile.from_json(heads.to_json()) == heads
    assert HeadsFile.from_json(path) == heads  # a Path is read, a str is JSON text
    heads.write(tmp_path / "copy.json")
    assert (tmp_path / "copy.json").read_text() == path.read_text()
    assert read_emergent_heads(path) == heads.emergent_heads()  # the lenient reader agrees


def test_a_first_release_file_reads() -> None:
    heads = HeadsFile.read(DATA / "sparks-heads-1-first.json")
    assert heads.circuits is None and heads.settings.circuit is None  # added later
    assert heads.settings.circuit_size == 3 and heads.settings.model_base == "base-model"
    assert (heads.n_layers, heads.n_heads) == (3, 3) and heads.has_base
    assert heads.emergent_heads() == [(0, 1), (1, 2)]
    assert heads.emergent[0].effect == pytest.approx((5.0 - 0.0) / (5.0 + 1e-6))
    assert heads.grid("importance_post")[1][2] == 4.0
    assert heads.checkpoints is None and heads.edges is None and heads.compensatory is None
    nobase = HeadsFile.read(DATA / "sparks-heads-1-first-nobase.json")
    assert not nobase.has_base and nobase.grid("effect") == [[None] * 3] * 3


def test_a_first_series_reads() -> None:
    heads = HeadsFile.read(DATA / "sparks-heads-1-series-first.json")
    assert [c.model for c in heads.checkpoints] == ["ckpt/checkpoint-100", "ckpt/checkpoint-200"]
    assert heads.checkpoints[0].step is None and heads.dynamics is None  # before the rewards
    assert heads.settings.checkpoints == ("ckpt/checkpoint-100", "ckpt/checkpoint-200")
    assert [(a.layer, a.head, a.emergent) for a in heads.appearance] == [
        (0, 1, (True, False)),
        (1, 2, (True, False)),
        (1, 0, (False, True)),
    ]


def test_what_today_s_writer_adds_is_typed() -> None:
    edges = HeadsFile.read(DATA / "sparks-heads-1.json")
    assert (
        edges.circuits.overlap.both + edges.circuits.overlap.post_only == edges.circuits.post.size
    )
    assert edges.edges.top_n == 6 and edges.edges.post[0].to.startswith(("attn", "mlp", "logits"))
    series = HeadsFile.read(DATA / "sparks-heads-1-series.json")
    assert [c.step for c in series.checkpoints] == [100, 200, 300]
    assert series.checkpoints[1].since == "ckpt/checkpoint-100"
    assert series.transitions[0].from_ == "ckpt/checkpoint-100"
    assert series.dynamics.reward_source == "trainer_state.json"
    assert series.dynamics.spearman.rho is None and "3 pairs" in series.dynamics.spearman.note
    thinking = HeadsFile.read(DATA / "sparks-heads-1-thinking.json")
    assert thinking.settings.roles == {"post": "thinking on", "base": "thinking off"}
    assert thinking.compensatory and all(e.compensatory is not None for e in thinking.heads)


def test_unknown_keys_are_kept() -> None:
    data = {**fixture("sparks-heads-1.json"), "notes": {"by": "a later writer"}}
    data["heads"][0] = {**data["heads"][0], "probe": 1}
    back = HeadsFile.from_data(data).to_data()
    assert back["notes"] == {"by": "a later writer"} and back["heads"][0]["probe"] == 1


def test_the_writer_goes_through_heads_file(tmp_path: Path) -> None:
    from harness_ext.discovery.heads_file import build_result, write_json

    result = build_result(
        [[1.0, 0.0], [0.5, 2.0]], [[1.0, 0.0], [0.5, 0.0]], 2, {"model_post": "p"}
    )
    write_json(result, tmp_path / "heads.json")
    assert (tmp_path / "heads.json").read_text() == json.dumps(result, indent=1) + "\n"
    assert HeadsFile.read(tmp_path / "heads.json").emergent_heads() == [(1, 1)]
    broken = {**result, "heads": [{**result["heads"][0], "layer": -1}, *result["heads"][1:]]}
    with pytest.raises(
        SparksError,
        match=r"being written is not a valid sparks-heads/1 file: "
        r"malformed head entry heads\[0\]: layer",
    ):
        write_json(broken, tmp_path / "heads.json")
    assert HeadsFile.read(tmp_path / "heads.json").emergent_heads() == [(1, 1)]  # left as it was
    assert sorted(p.name for p in tmp_path.iterdir()) == ["heads.json"]


def test_a_series_is_built_from_heads_files() -> None:
    from harness_ext.discovery.heads_file import build_result
    from harness_ext.discovery.series import build_series

    results = [
        build_result([[3.0, 0.0], [1.0, 0.0]], None, 1, {}),
        build_result([[0.0, 3.0], [1.0, 0.0]], None, 1, {}),
    ]
    from_dicts = build_series(["a", "b"], results)
    assert build_series(["a", "b"], [HeadsFile.from_data(r) for r in results]) == from_dicts
    data = {**results[-1], **from_dicts, "settings": {"checkpoints": ["a", "b"]}}
    heads = HeadsFile.from_data(data)
    assert heads.checkpoints[0].importance_post == ((3.0, 0.0), (1.0, 0.0))
    assert [t.appeared for t in heads.transitions] == [(heads.circuit_post[0],)]


# ---------------------------------------------------------------- the lenient reader (@heads.json#N)


def test_a_hand_written_emergent_list_is_enough(tmp_path: Path) -> None:
    (tmp_path / "h.json").write_text(
        json.dumps({"emergent": [{"layer": 3, "head": 1}, {"layer": 0, "head": 2, "note": "x"}]})
    )
    assert read_emergent_heads(tmp_path / "h.json") == [(3, 1), (0, 2)]
    assert parse_spec("zero:@h.json#1", base_dir=tmp_path).normalized() == "zero:L3H1"


def test_hand_written_flagged_heads_rank_by_effect(tmp_path: Path) -> None:
    (tmp_path / "h.json").write_text(
        json.dumps(
            {
                "heads": [
                    {"layer": 1, "head": 1, "emergent": True, "effect": 0.2},
                    {
                        "layer": 2,
                        "head": 2,
                        "emergent": False,
                    },  # not flagged: nothing else is needed
                    {"layer": 3, "head": 3, "emergent": True, "effect": 0.8},
                    {"layer": 4, "head": 0, "emergent": True},
                ]
            }
        )
    )  # no effect: ranks as 0
    assert read_emergent_heads(tmp_path / "h.json") == [(3, 3), (1, 1), (4, 0)]
    assert read_heads_file(tmp_path / "h.json", 2) == [(3, 3), (1, 1)]
    with pytest.raises(SparksError, match="is not a valid sparks-heads/1 file: missing 'format'"):
        HeadsFile.read(tmp_path / "h.json")  # the whole model wants the whole file


@pytest.mark.parametrize(
    ("data", "phrases"),
    [
        (
            {"emergent": [{"layer": 1, "head": "2"}]},
            ["malformed entry (emergent[0].head: input should be a valid integer (got '2'))"],
        ),
        ({"emergent": [{"layer": True, "head": 0}]}, ["emergent[0].layer", "(got True)"]),
        ({"emergent": [{"layer": 1}]}, ["malformed entry (emergent[0]: 'head' is missing)"]),
        ({"heads": [{"layer": 0, "head": 0}, "L1H1"]}, ["heads[1] is a string, not an object"]),
        (
            {"heads": [{"layer": 0, "head": 0, "emergent": True, "effect": "big"}]},
            ["heads[0].effect"],
        ),
        ({"emergent": None, "heads": []}, ["has no 'emergent' or 'heads' list"]),
        (
            {"format": "sparks-heads/2", "emergent": []},
            ["has format 'sparks-heads/2', not 'sparks-heads/1'"],
        ),
    ],
)
def test_bad_hand_written_files_are_explained(
    tmp_path: Path, data: dict, phrases: list[str]
) -> None:
    (tmp_path / "h.json").write_text(json.dumps(data))
    with pytest.raises(SpecError) as caught:  # a SparksError: printed without a traceback
        read_heads_file(tmp_path / "h.json")
    message = str(caught.value)
    assert f"heads file {tmp_path / 'h.json'}" in message and "\n" not in message
    for phrase in phrases:
        assert phrase in message
    assert issubclass(SpecError, SparksError)


# ---------------------------------------------------------------- errors of the whole model


def test_a_wrong_format_string_is_refused() -> None:
    message = raises({**fixture("sparks-heads-1.json"), "format": "sparks-heads/2"})
    assert message.startswith("heads JSON text has format 'sparks-heads/2', not 'sparks-heads/1'")
    assert "`sparks discover`" in message  # the fix


def test_missing_fields_are_named() -> None:
    data = fixture("sparks-heads-1.json")
    del data["circuit_post"], data["settings"]
    data["heads"][2] = {k: v for k, v in data["heads"][2].items() if k != "importance_post"}
    message = raises(data)
    assert message.startswith(
        "heads JSON text is not a valid sparks-heads/1 file: missing "
        "'circuit_post', 'settings'; malformed head entry heads[2]: "
        "'importance_post' is missing; write it with `sparks discover`"
    )
    assert "docs/discover.md" in message


@pytest.mark.parametrize(
    ("change", "phrase"),
    [
        (
            lambda d: d["heads"][0].update(layer="0"),
            "heads[0]: layer: input should be a valid integer (got '0')",
        ),
        (
            lambda d: d["heads"][1].update(emergent="yes"),
            "heads[1]: emergent: input should be a valid boolean",
        ),
        (
            lambda d: d["heads"][1].update(effect=True),
            "heads[1]: effect: input should be a valid number (got True)",
        ),
        (
            lambda d: d["emergent"][0].update(head=-1),
            "malformed emergent head emergent[0]: head: input should be greater than or equal to 0 (got -1)",
        ),
        (
            lambda d: d["circuits"]["post"].update(size=2.5),
            "circuits.post.size: input should be a valid integer",
        ),
        (lambda d: d.update(heads=[]), "'heads' is empty"),
        (
            lambda d: d.update(heads=d["heads"] + d["heads"][:1]),
            "head L0H0 is listed twice in 'heads'",
        ),
        (
            lambda d: d["emergent"].append(
                {"layer": 9, "head": 0, "effect": 1.0, "importance_post": 1.0}
            ),
            "emergent head L9H0 is not in 'heads'",
        ),
    ],
)
def test_wrong_types_are_named(change: Callable[[dict], None], phrase: str) -> None:
    data = fixture("sparks-heads-1.json")
    change(data)
    message = raises(data)
    assert message.startswith("heads JSON text is not a valid sparks-heads/1 file: ")
    assert phrase in message


def test_a_bad_series_is_named() -> None:
    data = fixture("sparks-heads-1-series.json")
    data["appearance"][0]["emergent"].pop()
    assert "'appearance' flags do not match its 3 checkpoints" in raises(data)
    data = fixture("sparks-heads-1-series.json")
    del data["checkpoints"][1]["model"]
    assert "malformed checkpoint series entry checkpoints[1]: 'model' is missing" in raises(data)


def test_many_problems_are_counted_not_listed() -> None:
    data = fixture("sparks-heads-1.json")
    for entry in data["heads"]:
        entry["importance_post"] = None
    message = raises(data)
    assert message.count("malformed head entry") == 3 and "(and 6 more)" in message


@pytest.mark.parametrize(
    ("content", "phrase"),
    [
        (None, "heads file not found: "),
        ("{oops", "is not valid JSON: Expecting property name"),
        ("[1, 2]", "holds a list, not a JSON object"),
    ],
)
def test_unreadable_files_are_named(tmp_path: Path, content: str | None, phrase: str) -> None:
    path = tmp_path / "heads.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(SparksError) as caught:
        HeadsFile.read(path)
    assert phrase in str(caught.value) and str(path) in str(caught.value)


def test_the_report_names_its_flag(tmp_path: Path) -> None:
    from harness_ext.reports.heads import load_heads

    (tmp_path / "bad.json").write_text('{"heads": [{"layer": 0}]}')
    with pytest.raises(
        SparksError,
        match=r"^--heads: heads file .*bad\.json is not a valid sparks-heads/1 "
        r"file: .*malformed head entry heads\[0\]: 'head' is missing",
    ):
        load_heads(tmp_path / "bad.json")
    heads = load_heads(DATA / "sparks-heads-1-series.json")
    assert heads.checkpoints == (
        "ckpt/checkpoint-100",
        "ckpt/checkpoint-200",
        "ckpt/checkpoint-300",
    )
    assert heads.emergent == ((0, 0), (1, 0)) and heads.effect is not None
    assert heads.settings["circuit"] == {"rule": "mass", "mass": 0.8}


# ---------------------------------------------------------------- the atomic writer


@pytest.fixture
def umask() -> Iterator[Callable[[int], int]]:
    previous = os.umask(0o022)
    try:
        yield os.umask
    finally:
        os.umask(previous)


def test_a_failing_writer_leaves_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "out.png"
    write_atomic(target, b"old")

    def half(stream) -> None:
        stream.write(b"half of the new")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        write_atomic_with(target, half, suffix=".png")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]  # no temporary file left


def test_text_bytes_and_new_folders(tmp_path: Path) -> None:
    assert write_atomic(tmp_path / "a" / "b.txt", "h\u00e9\n") == tmp_path / "a" / "b.txt"
    assert (tmp_path / "a" / "b.txt").read_bytes() == "h\u00e9\n".encode()
    write_atomic(tmp_path / "a" / "b.txt", "x\ud800", errors="replace")  # lone surrogate
    assert (tmp_path / "a" / "b.txt").read_bytes() == b"x?"
    write_atomic(tmp_path / "a" / "b.txt", b"\x00\x01")
    assert (tmp_path / "a" / "b.txt").read_bytes() == b"\x00\x01"


@pytest.mark.parametrize(("mask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_the_mode_follows_the_umask(
    tmp_path: Path, umask: Callable[[int], int], mask: int, mode: int
) -> None:
    umask(mask)
    write_atomic(tmp_path / "a.txt", "a")
    write_atomic_with(tmp_path / "b.bin", lambda out: out.write(b"b"))
    HeadsFile.read(DATA / "sparks-heads-1.json").write(tmp_path / "heads.json")
    for name in ("a.txt", "b.bin", "heads.json"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == mode


# ---------------------------------------------------------------- layering


@pytest.mark.integration  # a fresh interpreter
def test_formats_and_atomic_import_no_feature() -> None:
    features = (
        "harness_ext.reports",
        "harness_ext.discovery",
        "harness_ext.interventions",
        "harness_ext.tasks",
        "harness_ext.cli",
        "harness_ext.model",
    )
    code = (
        "import sys, harness_ext.formats, harness_ext.atomic; "
        f"print([m for m in sys.modules if m.startswith({features!r})])"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
