"""Bad task data and --metadata get clear errors or warnings, never a silent wrong result."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

import pytest

from harness_ext.errors import SparksError
from harness_ext.tasks import data, task
from harness_ext.tasks import metadata as task_metadata
from harness_ext.tasks.task import SparksTask

AMC_ROW = {"id": "2022-AMC12A-1", "number": 1, "problem": "What is 1+1?", "answer": "2"}
WARNINGS = "harness_ext.tasks.task"


@pytest.fixture(autouse=True)
def fresh_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts as a new process would: nothing warned yet, no model_args, no env."""
    monkeypatch.setattr(task_metadata, "_warned_keys", set())
    monkeypatch.setattr(task_metadata, "_model_args", set())
    monkeypatch.setattr(task, "_warned_greedy", set())
    monkeypatch.setenv("SPARKS_DATA_DIR", "")  # the Hub


def _write(folder: Path, name: str, lines: list[Any]) -> Path:
    """Write ``lines`` (dicts become JSON, strings are written as they are) as a JSONL file."""
    text = "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def _amc(tmp_path: Path, **changes: Any) -> list[dict]:
    _write(tmp_path, "amc.jsonl", [{**AMC_ROW, **changes}])
    return list(data.load_amc(data_dir=str(tmp_path))["test"])


# ---------------------------------------------------------------- data files


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("answer", None, r'amc\.jsonl:1: "answer" null is not a gold answer'),
        ("answer", "  ", r'amc\.jsonl:1: "answer" "  " is not a gold answer'),
        ("answer", True, r'amc\.jsonl:1: "answer" true is not a gold answer'),
        ("answer", [1], r'amc\.jsonl:1: "answer" \[1\] is not a gold answer'),
        ("number", 1.7, r'amc\.jsonl:1: "number" 1\.7 is not a whole number'),
        ("number", True, r'amc\.jsonl:1: "number" true is not a whole number'),
        ("number", "one", r'amc\.jsonl:1: "number" "one" is not a whole number'),
        ("problem", None, r'amc\.jsonl:1: "problem" null is not a non-empty string'),
        ("id", None, r'amc\.jsonl:1: "id" null is not a problem id'),
    ],
)
def test_bad_field_names_file_line_and_value(tmp_path, field, value, message):
    with pytest.raises(SparksError, match=message + r".*Fix that line"):
        _amc(tmp_path, **{field: value})


def test_numbers_that_are_whole_are_kept(tmp_path):
    assert _amc(tmp_path, number=2.0)[0]["number"] == 2
    assert _amc(tmp_path, number="3")[0]["number"] == 3
    assert _amc(tmp_path, answer=0.5)[0]["answer"] == "0.5"
    assert _amc(tmp_path, answer=7)[0]["answer"] == "7"


@pytest.mark.parametrize(
    "literal,message",
    [
        ("1e999", r'"number" inf \(too large for a number\) is not a whole number'),
        ("NaN", r'"number" NaN is not a whole number'),
    ],
)
def test_overflowing_number_is_a_clear_error(tmp_path, literal, message):
    line = json.dumps(AMC_ROW).replace('"number": 1', f'"number": {literal}')
    _write(tmp_path, "amc.jsonl", [line])
    with pytest.raises(SparksError, match=r"amc\.jsonl:1: " + message):
        data.load_amc(data_dir=str(tmp_path))


def test_infinite_answer_is_a_clear_error(tmp_path):
    _write(tmp_path, "amc.jsonl", [json.dumps(AMC_ROW).replace('"answer": "2"', '"answer": 1e999')])
    with pytest.raises(SparksError, match=r'amc\.jsonl:1: "answer" inf .* is not a finite number'):
        data.load_amc(data_dir=str(tmp_path))


def test_aime_year_and_math_level_must_be_whole(tmp_path):
    aime = {**AMC_ROW, "id": "2024-I-1", "year": 2024.5}
    _write(tmp_path, "aime.jsonl", [aime])
    with pytest.raises(SparksError, match=r'aime\.jsonl:1: "year" 2024\.5 is not a whole number'):
        data.load_aime24(data_dir=str(tmp_path))
    math = {"id": "test/a/1.json", "problem": "p", "answer": "1", "level": 2.5}
    _write(tmp_path, "math500.jsonl", [math])
    with pytest.raises(SparksError, match=r'math500\.jsonl:1: "level" 2\.5 is not a whole number'):
        data.load_math500(data_dir=str(tmp_path))


def test_repeated_problem_id_names_both_lines(tmp_path):
    other = {**AMC_ROW, "id": "2022-AMC12A-2", "number": 2}
    _write(tmp_path, "amc.jsonl", [AMC_ROW, other, {**AMC_ROW, "answer": "3"}])
    with pytest.raises(
        SparksError,
        match=r"amc\.jsonl:3: problem id '2022-AMC12A-1' already "
        r"appears on line 1.*own id",
    ):
        data.load_amc(data_dir=str(tmp_path))


def test_repeated_id_in_another_aime_year_is_refused_too(tmp_path):
    rows = [{**AMC_ROW, "id": "x", "year": 2024}, {**AMC_ROW, "id": "x", "year": 2025}]
    _write(tmp_path, "aime.jsonl", rows)
    with pytest.raises(SparksError, match=r"aime\.jsonl:2: problem id 'x' already appears"):
        data.load_aime24(data_dir=str(tmp_path))


@pytest.mark.parametrize("text", ["", "\n  \n\n"])
def test_empty_file_is_a_clear_error(tmp_path, text):
    (tmp_path / "amc.jsonl").write_text(text)
    (tmp_path / "aime.jsonl").write_text(text)
    with pytest.raises(SparksError, match=r"amc\.jsonl holds no problems"):
        data.load_amc(data_dir=str(tmp_path))
    with pytest.raises(SparksError, match=r"aime\.jsonl holds no problems"):
        data.load_aime25(data_dir=str(tmp_path))


def test_binary_file_names_file_and_line(tmp_path):
    good = json.dumps(AMC_ROW).encode()
    (tmp_path / "amc.jsonl").write_bytes(good + b"\n\x89PNG\r\n\x1a\n\xff\xfe\x00\n")
    with pytest.raises(
        SparksError,
        match=r"amc\.jsonl:2: not UTF-8 text \(byte 0x89 at "
        r"offset 0 of the line\).*binary",
    ):
        data.load_amc(data_dir=str(tmp_path))


def test_byte_order_mark_is_accepted(tmp_path):
    (tmp_path / "amc.jsonl").write_bytes(b"\xef\xbb\xbf" + json.dumps(AMC_ROW).encode() + b"\n")
    assert data.load_amc(data_dir=str(tmp_path))["test"]["problem_id"] == ["2022-AMC12A-1"]


# ---------------------------------------------------------------- the data folder


@pytest.mark.parametrize("value", [5, 1.5, True, ["/data"], None])
def test_data_dir_of_the_wrong_type_names_the_metadata_key(value):
    with pytest.raises(SparksError, match=r"^--metadata data_dir=.* is not a folder path"):
        data.load_amc(data_dir=value)


def test_empty_data_dir_is_an_error_not_a_fall_back(tmp_path, monkeypatch):
    monkeypatch.setenv("SPARKS_DATA_DIR", str(tmp_path))
    with pytest.raises(SparksError, match=r"^--metadata data_dir is empty"):
        data.load_amc(data_dir=" ")


def test_bad_metadata_data_dir_is_not_blamed_on_the_variable(tmp_path, monkeypatch):
    _write(tmp_path, "amc.jsonl", [AMC_ROW])
    monkeypatch.setenv("SPARKS_DATA_DIR", str(tmp_path))  # a good folder: not the problem
    missing = tmp_path / "nope"
    with pytest.raises(
        SparksError,
        match=r"^--metadata data_dir is .*nope, which is not a "
        r"folder \(does not exist\)",
    ):
        data.load_amc(data_dir=str(missing))
    with pytest.raises(
        SparksError,
        match=r"^--metadata data_dir is .*amc\.jsonl, which is not "
        r"a folder \(a file\)",
    ):
        data.load_amc(data_dir=str(tmp_path / "amc.jsonl"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(
        SparksError,
        match=r"^--metadata data_dir is .*empty, but .*amc\.jsonl "
        r"does not exist.*leave data_dir out of --metadata",
    ):
        data.load_amc(data_dir=str(tmp_path / "empty"))


def test_bad_variable_is_named_as_the_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("SPARKS_DATA_DIR", str(tmp_path / "nope"))
    with pytest.raises(SparksError, match=r"^\$SPARKS_DATA_DIR is .*nope, which is not a folder"):
        data.load_amc()


def test_data_folder_reports_its_origin(tmp_path, monkeypatch):
    monkeypatch.setenv("SPARKS_DATA_DIR", str(tmp_path))
    assert data.data_folder({}) == data.DataFolder(tmp_path, "$SPARKS_DATA_DIR")
    assert data.data_folder({"data_dir": "/d"}) == data.DataFolder(
        Path("/d"), "--metadata data_dir"
    )
    monkeypatch.setenv("SPARKS_DATA_DIR", "")
    assert data.data_folder({}) is None  # empty variable: the Hub, as documented


def test_task_reports_a_bad_metadata_data_dir_as_such(tmp_path, monkeypatch):
    """lm-eval calls custom_dataset(**metadata): the error still names --metadata data_dir."""
    monkeypatch.setenv("SPARKS_DATA_DIR", str(tmp_path))
    config = {
        **_config(
            True,
            {
                "data_dir": str(tmp_path / "nope"),
                "version": 1.0,
                "config_source": "amc_sparks.yaml",
            },
        ),
        "custom_dataset": data.load_amc,
    }
    with pytest.raises(SparksError, match=r"^--metadata data_dir is .*nope, which is not a folder"):
        SparksTask(config=config)


# ---------------------------------------------------------------- repeats


def _config(do_sample: bool, metadata: dict, name: str = "t") -> dict:
    import datasets

    rows = datasets.DatasetDict({"test": datasets.Dataset.from_list([{"x": "1", "y": "1"}])})
    return {
        "task": name,
        "custom_dataset": lambda **_: rows,
        "output_type": "generate_until",
        "doc_to_text": "x",
        "doc_to_target": "y",
        "test_split": "test",
        "generation_kwargs": {"until": [], "do_sample": do_sample},
        "repeats": 4 if do_sample else 1,
        "metadata": metadata,
    }


@pytest.mark.parametrize("sampled", [True, False], ids=["sampled", "greedy"])
@pytest.mark.parametrize(
    "value,hint",
    [
        (0, "e.g."),
        (-2, "e.g."),
        (2.5, "e.g."),
        (True, "e.g."),
        (None, "e.g."),
        ("8", "without quotes"),
        (8.0, r"an integer \(8, not 8\.0\)"),
    ],
)
def test_bad_repeats_fail_on_every_task(sampled, value, hint):
    with pytest.raises(
        SparksError,
        match=rf"^--metadata repeats={value!r} \(\w+\) is not a "
        rf"positive integer.*{hint}",
    ):
        SparksTask(config=_config(sampled, {"repeats": value}))


def test_repeats_sets_n_on_sampled_tasks(caplog):
    with caplog.at_level(logging.WARNING, logger=WARNINGS):
        assert SparksTask(config=_config(True, {"repeats": 8})).config.repeats == 8
    assert not [r for r in caplog.records if r.name == WARNINGS]


def test_repeats_on_greedy_tasks_warns_once_and_keeps_one(caplog):
    with caplog.at_level(logging.WARNING, logger=WARNINGS):
        for _ in range(2):
            config = _config(False, {"repeats": 8}, name="amc_sparks_greedy")
            assert SparksTask(config=config).config.repeats == 1
        assert SparksTask(config=_config(False, {"repeats": 1})).config.repeats == 1
    [record] = [r for r in caplog.records if r.name == WARNINGS]
    assert record.getMessage().startswith(
        "amc_sparks_greedy decodes greedily, so every response would be the same: "
        "--metadata repeats=8 does not apply to it, and it runs 1 response per problem"
    )


# ---------------------------------------------------------------- unknown metadata keys


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == WARNINGS]


def test_misspelt_key_warns_once_with_the_nearest_key(caplog):
    with caplog.at_level(logging.WARNING, logger=WARNINGS):
        for _ in range(2):
            task_ = SparksTask(config=_config(True, {"repeat": 1, "version": 1.0}))
        assert task_.config.repeats == 4  # the typo changes nothing, and the user is told
    assert _warnings(caplog) == [
        "--metadata key 'repeat' is not read by the sparks tasks, by lm-eval or by the model, so "
        "it has no effect (did you mean 'repeats'?). The sparks tasks read repeats, data_dir."
    ]


def test_unknown_key_far_from_any_known_key_has_no_guess(caplog):
    with caplog.at_level(logging.WARNING, logger=WARNINGS):
        assert task_metadata.warn_unknown_metadata({"zzqx": 1}) == ["zzqx"]
    [message] = _warnings(caplog)
    assert "'zzqx' is not read" in message and "did you mean" not in message


def test_nearest_key_prefers_sparks_keys():
    assert task_metadata.nearest_key("datadir", {"data_dir", "dtype"}) == "data_dir"
    assert task_metadata.nearest_key("dtyp", {"dtype", "revision"}) == "dtype"
    assert task_metadata.nearest_key("zzqx", {"dtype"}) is None


def test_keys_of_sparks_lm_eval_and_the_model_are_known(caplog):
    metadata = {
        "repeats": 2,
        "data_dir": "/d",
        "version": 1.0,
        "config_source": "x.yaml",
        "pretrained": "m",
        "dtype": "float32",
        "revision": "main",
        "think_end_token": "</think>",
        "interventions": "zero:L1H1",
        "intervention_mode": "fold",
        "max_seq_lengths": [4096],
    }
    with caplog.at_level(logging.WARNING, logger=WARNINGS):
        assert task_metadata.warn_unknown_metadata(metadata) == []
    assert _warnings(caplog) == []


def test_model_args_recorded_by_the_model_are_known():
    """lm-eval merges the model_args into every task's metadata; the model records the keys it
    was given, so keys it takes only through **kwargs (HFLM passes them to from_pretrained) are
    not warned about. The latest model's record replaces the earlier one."""
    given = {"attn_implementation": "sdpa", "load_in_4bit": True}
    assert task_metadata.warn_unknown_metadata(given) == ["attn_implementation", "load_in_4bit"]
    task_metadata.record_model_args(["pretrained", "attn_implementation", "load_in_4bit"])
    assert task_metadata.warn_unknown_metadata(given) == []
    task_metadata.record_model_args(["pretrained"])
    assert task_metadata.warn_unknown_metadata(given) == ["attn_implementation", "load_in_4bit"]


@pytest.mark.parametrize("as_string", [True, False])
def test_sparks_models_record_their_model_args(as_string):
    """Both ways lm-eval creates a model (the CLI's dict, simple_evaluate's string) record the
    model_args, and only them (not --device/--batch_size)."""
    from lm_eval.api.model import LM

    from harness_ext.model import ArgsGivenOnce

    class Recorder(ArgsGivenOnce, LM):  # the sparks models' class method, without a model
        def __init__(self, **options: Any) -> None:
            self.options = options

        loglikelihood = loglikelihood_rolling = generate_until = None  # type: ignore[assignment]

    extra = {"batch_size": 2, "device": None}
    if as_string:
        made = Recorder.create_from_arg_string("pretrained=m,load_in_4bit=True", extra)
    else:
        made = Recorder.create_from_arg_obj({"pretrained": "m", "load_in_4bit": True}, extra)
    assert made.options["load_in_4bit"] in (True, "True") and made.options["batch_size"] == 2
    assert task_metadata.recorded_model_args() == {"pretrained", "load_in_4bit"}
    assert task_metadata.warn_unknown_metadata({"load_in_4bit": True, "pretrained": "m"}) == []


@pytest.mark.slow
def test_task_manager_passes_metadata_through_our_checks(tmp_path, caplog):
    """The real path: lm-eval's TaskManager builds amc_sparks with --metadata (about 10 s)."""
    from lm_eval.tasks import TaskManager

    _write(tmp_path, "amc.jsonl", [AMC_ROW])
    manager = TaskManager(metadata={"repeat": 1, "repeats": 3, "data_dir": str(tmp_path)})
    with caplog.at_level(logging.WARNING, logger=WARNINGS):
        loaded = manager.load(["amc_sparks", "amc_sparks_greedy"])["tasks"]
    assert loaded["amc_sparks"].config.repeats == 3
    assert loaded["amc_sparks_greedy"].config.repeats == 1
    assert [m.split(" ", 3)[:3] for m in _warnings(caplog)] == [
        ["--metadata", "key", "'repeat'"],
        ["amc_sparks_greedy", "decodes", "greedily,"],
    ]


def test_the_data_folder_recorded_at_set_up_is_the_last_local_choice(monkeypatch, tmp_path):
    """One data rule: --metadata data_dir, else $SPARKS_DATA_DIR (empty: the Hub), else the
    folder set-up recorded in sys.prefix, else the Hub."""
    prefix, recorded, named = tmp_path / "venv", tmp_path / "recorded", tmp_path / "named"
    for folder in (prefix, recorded, named):
        folder.mkdir()
    monkeypatch.setattr(sys, "prefix", str(prefix))
    monkeypatch.delenv("SPARKS_DATA_DIR", raising=False)
    assert data.data_folder({}) is None  # nothing recorded: the Hub
    (prefix / data.DATA_RECORD).write_text(f"{recorded}\n", encoding="utf-8")
    found = data.data_folder({})
    assert found is not None and found.path == recorded and "recorded at set-up" in found.origin
    monkeypatch.setenv("SPARKS_DATA_DIR", str(named))
    assert data.data_folder({}) == data.DataFolder(named, "$SPARKS_DATA_DIR")
    monkeypatch.setenv("SPARKS_DATA_DIR", "")
    assert data.data_folder({}) is None  # empty: the Hub, whatever was recorded
    assert data.data_folder({"data_dir": str(named)}).path == named
