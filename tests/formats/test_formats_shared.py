"""Data that several features share, in the formats and base layers (issue 24): the results
file's ``sparks_*`` block (one writer, one reader), the fold note, ``@spec.yaml`` as a pydantic
model, the labeler's typed sample, and the old import paths that re-export them."""

from __future__ import annotations

import json
import typing
from pathlib import Path

import pytest

from harness_ext.formats.fold_note import FOLD_NOTE, fold_note_text, read_fold_note
from harness_ext.formats.results import SparksRecord
from harness_ext.formats.spec import SpecError, parse_spec


def test_sparks_record_reads_back_what_it_writes() -> None:
    record = SparksRecord(
        version="1.2.3",
        backend="vllm",
        interventions="zero:L0H1",
        random_control={"seed": 1, "heads": ["L0H1"]},
        intervention_mode="in-graph",
        plugins={"harness_ext.interventions.builtin": None},
        applied_steps={"engine_steps": 4, "layers": {"0": 4}},
    )
    written = record.to_config()
    assert all(key.startswith("sparks_") for key in written)
    assert written["sparks_interventions"] == "zero:L0H1"
    assert SparksRecord.from_config(json.loads(json.dumps(written))) == record


def test_sparks_record_of_another_model_or_an_older_sparks() -> None:
    assert SparksRecord.from_config({"model": "hf"}) == SparksRecord()
    old = SparksRecord.from_config(
        {"sparks_interventions": ["zero:L0H1"], "sparks_random_control": "garbled"}
    )
    assert old.interventions == '["zero:L0H1"]' and old.random_control is None


def test_the_sparks_model_writes_the_record(tiny_model_dirs) -> None:
    from harness_ext.model import SparksLM

    lm = SparksLM(pretrained=str(tiny_model_dirs["llama"]), interventions="zero:L0H1")
    info = lm.get_model_info()
    record = SparksRecord.from_config(info)
    assert record.interventions == "zero:L0H1" and record.backend == "transformers"
    assert record.to_config().items() <= info.items()


def test_fold_note_round_trip(tmp_path: Path) -> None:
    assert read_fold_note(tmp_path) is None  # an ordinary model folder
    assert read_fold_note("") is None
    (tmp_path / FOLD_NOTE).write_text(fold_note_text("zero:L0H1", "m", {"torch": "2"}))
    assert read_fold_note(tmp_path) == {
        "interventions": "zero:L0H1",
        "source_model": "m",
        "versions": {"torch": "2"},
    }
    (tmp_path / FOLD_NOTE).write_text("[1, 2]")
    assert read_fold_note(tmp_path) is None


@pytest.mark.parametrize(
    ("content", "phrase"),
    [
        ("- {name: zero, heads: L1, colour: red}\n", "item 1: unknown key 'colour'"),
        ("- {name: zero}\n", "item 1: 'heads' is missing"),
        (
            "- {name: zero, heads: L0}\n- {name: zero, heads: 1.5}\n",
            "item 2: heads must be a string",
        ),
        ("- {name: zero, heads: [{layer: 1}]}\n", "item 1: heads must be a string"),
        ("- {name: scale, heads: L1, args: [[1]]}\n", "item 1: args: argument [1] must be"),
    ],
)
def test_spec_file_errors_name_the_item_and_the_field(
    tmp_path: Path, content: str, phrase: str
) -> None:
    (tmp_path / "spec.yaml").write_text(content)
    with pytest.raises(SpecError) as caught:
        parse_spec("@spec.yaml", base_dir=tmp_path)
    message = str(caught.value)
    assert phrase in message and "each item must be" in message
    assert "pydantic" not in message and "\n" not in message


def test_spec_file_scalar_args_and_mapped_heads(tmp_path: Path) -> None:
    (tmp_path / "spec.yaml").write_text("- {name: scale, heads: [{layer: 1, head: 2}], args: 2}\n")
    assert parse_spec("@spec.yaml", base_dir=tmp_path).normalized() == "scale:L1H2:2"


def test_old_import_paths_re_export_the_shared_data() -> None:
    from harness_ext import spec as old_spec
    from harness_ext.formats import arch, spec
    from harness_ext.interventions import arch as old_arch
    from harness_ext.interventions import fold
    from harness_ext.interventions import spec as interventions_spec
    from harness_ext.reports import labels
    from harness_ext.tasks import METADATA_KEYS

    assert interventions_spec.parse_spec is spec.parse_spec is old_spec.parse_spec
    assert old_arch.get_arch is arch.get_arch
    assert fold.FOLD_NOTE == FOLD_NOTE
    assert labels.LabelSample.__name__ == "LabelSample"
    from harness_ext.formats.task_metadata import METADATA_KEYS as shared

    assert METADATA_KEYS is shared


def test_the_labeler_hook_is_typed() -> None:
    from harness_ext import hookspecs
    from harness_ext.labeling import LabelerResult, LabelSample

    hints = typing.get_type_hints(hookspecs.register_labelers)
    labeler = typing.get_args(hints["register"])[0][1]
    assert labeler == typing.Callable[[LabelSample], LabelerResult]
