"""Reliability of specs, intervention kinds and `sparks discover` inputs/outputs: every bad input
is refused with a message that names the problem and the fix, before any work starts."""

from __future__ import annotations

import argparse
import os
import stat
import sys
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from tiny_models import heads_config

from harness_ext.discovery import command as discovery
from harness_ext.discovery import configure_discover, run_discover
from harness_ext.discovery.heads_file import build_result, circuit_size, write_heatmap, write_json
from harness_ext.errors import SparksError
from harness_ext.interventions import apply_interventions, resolve
from harness_ext.interventions.spec import HeadRef, SpecError, parse_spec
from harness_ext.output_check import check_writable


def caret_column(message: str) -> int:
    lines = message.splitlines()
    caret = next(i for i, line in enumerate(lines) if line.strip() == "^")
    return lines[caret].index("^") - 2


def big_config(n_layers: int = 64, n_heads: int = 64) -> Any:
    """A config only (nothing allocated) with many heads."""
    return heads_config(n_layers, n_heads)


def tiny_config() -> Any:
    from harness_ext.testing import tiny_model

    return tiny_model().config


def discover_args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    configure_discover(parser)
    return parser.parse_args(list(argv))


@pytest.fixture
def no_work(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records (and fails) any step of `sparks discover` past the argument checks."""
    calls: list[str] = []

    def refuse(name: str) -> Callable[..., Any]:
        def called(*args: Any, **kwargs: Any) -> Any:
            calls.append(name)
            raise AssertionError(f"{name} ran although the input was bad")

        return called

    monkeypatch.setattr(discovery, "load_task_rows", refuse("load_task_rows"))
    monkeypatch.setattr(discovery, "load_model", refuse("load_model"))
    return calls


# ---------------------------------------------------------------- empty spec


@pytest.mark.parametrize("text", ["", "   "])
def test_empty_spec_is_an_error_everywhere_a_spec_is_read(text: str, tmp_path: Path) -> None:
    from harness_ext.interventions import fold_checkpoint

    with pytest.raises(SpecError, match="omit interventions= .*baseline"):
        resolve(text, tiny_config())
    with pytest.raises(SpecError, match="the spec is empty"):  # before any model is looked up
        fold_checkpoint(tmp_path / "no-such-model", text, tmp_path / "out")
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------- ASCII digits only


@pytest.mark.parametrize(
    ("text", "column", "name"),
    [
        ("zero:L١H٣", 6, "ARABIC-INDIC DIGIT ONE"),
        ("zero:L1H٣", 8, "ARABIC-INDIC DIGIT THREE"),
        ("zero:L1٣", 7, "ARABIC-INDIC DIGIT THREE"),
        ("scale:L0H0:2;zero:L１H3", 19, "FULLWIDTH DIGIT ONE"),
        ("zero:L²", 6, "SUPERSCRIPT TWO"),
        ("zero:@heads.json#١", 17, "ARABIC-INDIC DIGIT ONE"),
    ],
)
def test_non_ascii_digits_in_heads_are_refused_with_a_caret(
    text: str, column: int, name: str
) -> None:
    with pytest.raises(SpecError) as caught:
        parse_spec(text)
    message = str(caught.value)
    assert f"({name}) is not an ASCII digit" in message and "0-9" in message
    assert caret_column(message) == column


def test_non_ascii_digits_in_a_spec_file_and_in_arguments(tmp_path: Path) -> None:
    (tmp_path / "spec.yaml").write_text("- {name: zero, heads: [L١H٣]}\n", encoding="utf-8")
    with pytest.raises(SpecError, match="item 1, heads: .*ARABIC-INDIC DIGIT ONE"):
        parse_spec("@spec.yaml", base_dir=tmp_path)
    for text, what in [
        ("scale:L0H1:١.٣", "FACTOR"),
        ("noise:L0H1:0.1:٣", "SEED"),
        ("noise:L0H1:٠.١", "STD"),
    ]:
        with pytest.raises(SpecError, match=f"{what} must be written with ASCII digits 0-9"):
            resolve(text, tiny_config())


def test_ascii_heads_still_parse() -> None:
    assert parse_spec("zero:L1H3+L0").normalized() == "zero:L0+L1H3"


# ---------------------------------------------------------------- factors


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("scale:L0H1:1e308", "FACTOR 1e308 is too large: its magnitude must be at most 65504"),
        ("scale:L0H1:-1e5", "FACTOR -1e5 is too large"),
        ("scale:L0H1:inf", "FACTOR must be a finite number"),
        ("scale:L0H1:1e309", "FACTOR must be a finite number"),  # float() reads it as inf
        ("noise:L0H1:1e300", "STD 1e300 is too large"),
    ],
)
def test_factors_that_overflow_are_refused_before_model_work(text: str, phrase: str) -> None:
    with pytest.raises(SpecError, match=phrase):
        resolve(text, tiny_config())


def test_largest_allowed_factor_resolves() -> None:
    resolved = resolve("scale:L0H1:65504;noise:L1H0:65504", tiny_config())
    assert sorted(r.name for r in resolved) == ["noise", "scale"]


def test_fold_that_overflows_the_weights_dtype_is_refused() -> None:
    import torch

    from harness_ext.testing import tiny_model

    model = tiny_model().half()
    weight = model.model.layers[0].self_attn.o_proj.weight
    with torch.no_grad():
        weight[0, 16] = 4.0  # head 1's columns are 16..31 (head_dim 16)
    original = weight.clone()
    with pytest.raises(
        SparksError,
        match=r"scale:L0H1:30000 overflows float16: .*values up to 4"
        r".*use a factor below 1\.6\d*e\+04",
    ):
        apply_interventions(model, resolve("scale:L0H1:30000", model.config))
    assert torch.equal(weight, original)  # refused before anything was folded
    with apply_interventions(model, resolve("scale:L0H1:1.3", model.config)) as mode:
        assert mode == "fold"
    with apply_interventions(model.float(), resolve("scale:L0H1:30000", model.config)) as mode:
        assert mode == "fold"  # float32 holds 4 x 30000 easily


# ---------------------------------------------------------------- linear spec checks


def spec_text(n_heads: int, n_layers: int = 64, per_layer: int = 64) -> str:
    """``n_heads`` distinct heads over every layer, in two items (zero and scale)."""
    step = n_layers * per_layer / n_heads
    refs = [f"L{int(i * step) // per_layer}H{int(i * step) % per_layer}" for i in range(n_heads)]
    return f"zero:{'+'.join(refs[::2])};scale:{'+'.join(refs[1::2])}:1.3"


def traced_lines(function: Callable[[], Any]) -> int:
    """Python lines run inside the spec parser (harness_ext/formats/spec*.py) and
    interventions/resolver.py by ``function``: an operation count that does not depend on the
    machine's speed or load."""
    from harness_ext.formats import spec, spec_items, spec_text
    from harness_ext.interventions import resolver

    files = {spec.__file__, spec_items.__file__, spec_text.__file__, resolver.__file__}
    count = 0

    def local(frame: Any, event: str, arg: Any) -> Any:
        nonlocal count
        count += event == "line"
        return local

    def on_call(frame: Any, event: str, arg: Any) -> Any:
        return local if frame.f_code.co_filename in files else None

    previous = sys.gettrace()
    sys.settrace(on_call)
    try:
        function()
    finally:
        sys.settrace(previous)
    return count


def test_parse_and_resolve_grow_linearly_with_the_heads(monkeypatch: pytest.MonkeyPatch) -> None:
    """4x the heads costs about 4x the work (a quadratic check would cost 16x)."""
    config = big_config()
    resolve(spec_text(8), config)  # imports and plugin loading, outside the count
    covers = []
    original = HeadRef.covers
    monkeypatch.setattr(
        HeadRef, "covers", lambda self, other: covers.append(1) or original(self, other)
    )
    small = traced_lines(lambda: resolve(parse_spec(spec_text(500)), config))
    large = traced_lines(lambda: resolve(parse_spec(spec_text(2000)), config))
    assert large / small < 4.5
    assert len(covers) <= 2500  # no pairwise comparison of heads


def test_linear_checks_keep_the_semantics() -> None:
    spec = parse_spec("zero:L3H1+L3+L3H1+L2H0+L2H0;scale:L4H1+L5:2")
    assert spec.normalized() == "scale:L4H1+L5:2;zero:L2H0+L3"
    for text, column, phrase in [
        ("zero:L1H2;scale:L1:2", 16, "L1 of 'scale' overlaps L1H2 of 'zero'"),
        ("zero:L1;scale:L0H0+L1H2:2", 19, "L1H2 of 'scale' overlaps L1 of 'zero'"),
        ("zero:L1H2;scale:L1H2:2", 16, "L1H2 of 'scale' overlaps L1H2"),
        ("zero:L1H2+L1H3;noise:L1H3+L1:2", 26, "L1 of 'noise' overlaps L1H2 of 'zero'"),
    ]:
        with pytest.raises(SpecError) as caught:
            parse_spec(text)
        assert phrase in str(caught.value) and caret_column(str(caught.value)) == column


def test_a_16k_head_spec_resolves() -> None:
    config = big_config(128, 128)
    resolved = resolve(spec_text(16384, 128, 128), config)
    assert sum(len(r.heads) for r in resolved) == 16384


# ---------------------------------------------------------------- file modes


@pytest.fixture
def umask() -> Iterator[Callable[[int], None]]:
    """Set the process umask for the test; the previous one is put back afterwards."""
    previous = os.umask(0o022)
    try:
        yield os.umask
    finally:
        os.umask(previous)


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize(("mask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_heads_file_and_heat_map_follow_the_umask(
    tmp_path: Path, umask: Callable[[int], None], mask: int, mode: int
) -> None:
    umask(mask)
    result = build_result([[1.0, 0.0], [0.5, 2.0]], [[1.0, 0.0], [0.0, 0.1]], 2, {})
    write_json(result, tmp_path / "heads.json")
    assert write_heatmap(result, tmp_path / "heads.png")
    assert mode_of(tmp_path / "heads.json") == mode
    assert mode_of(tmp_path / "heads.png") == mode
    assert sorted(p.name for p in tmp_path.iterdir()) == ["heads.json", "heads.png"]


def test_folded_checkpoint_folder_follows_the_umask(
    tmp_path: Path, umask: Callable[[int], None]
) -> None:
    from harness_ext.interventions import fold_checkpoint
    from harness_ext.testing import tiny_model, tiny_tokenizer

    tiny_model().save_pretrained(tmp_path / "model")
    tiny_tokenizer().save_pretrained(tmp_path / "model")
    umask(0o022)
    out = fold_checkpoint(tmp_path / "model", "zero:L0H1", tmp_path / "folded")
    assert mode_of(out) == 0o755


# ---------------------------------------------------------------- check_writable


def deny_writes_in(monkeypatch: pytest.MonkeyPatch, *denied: Path) -> None:
    """``os.access`` answers no to writing in ``denied`` (the logic is tested as root too)."""
    real = os.access
    refused = {os.path.abspath(path) for path in denied}

    def access(path: Any, mode: int, **kwargs: Any) -> bool:
        if os.path.abspath(path) in refused and mode & os.W_OK:
            return False
        return real(path, mode)

    monkeypatch.setattr(os, "access", access)


def test_unwritable_folder_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    deny_writes_in(monkeypatch, locked)
    for target in (locked / "heads.json", locked / "a" / "b" / "heads.json"):
        with pytest.raises(SparksError) as caught:
            check_writable(target, "the heads file (-o)")
        message = str(caught.value)
        assert (
            f"cannot write the heads file (-o) {target}: its folder {locked} is not writable"
            in message
        )
        assert "pick another -o" in message
    with pytest.raises(SparksError, match=f"{locked}: it is not writable"):
        check_writable(locked, "the report folder", kind="folder")
    with pytest.raises(SparksError, match="its folder .*locked is not writable"):
        check_writable(locked / "report", "the report folder", kind="folder")
    assert list(locked.iterdir()) == []  # the check leaves nothing behind


@pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0,
    reason="root writes anywhere: permissions cannot be tested as root",
)
def test_chmod_500_folder_is_refused(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(SparksError, match=f"its folder {locked} is not writable"):
            check_writable(locked / "sub" / "heads.json", "the heads file (-o)")
        assert list(locked.iterdir()) == []
    finally:
        locked.chmod(0o700)


def test_wrong_kind_and_files_in_the_way(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a_file = tmp_path / "notes.txt"
    a_file.write_text("x")
    with pytest.raises(SparksError, match="is a file, where a folder is wanted; pick another -o"):
        check_writable(a_file, "the report folder", kind="folder")
    with pytest.raises(SparksError, match="is a folder, where a file is wanted"):
        check_writable(tmp_path, "the heads file (-o)")
    with pytest.raises(SparksError, match=f"{a_file} is a file, so no folder can be made there"):
        check_writable(a_file / "heads.json", "the heads file (-o)")
    deny_writes_in(monkeypatch, a_file)
    with pytest.raises(SparksError, match="the file exists and is not writable"):
        check_writable(a_file, "the heads file (-o)")
    with pytest.raises(ValueError, match="kind must be one of"):
        check_writable(a_file, "x", kind="socket")


def test_writable_paths_pass_and_nothing_is_created(tmp_path: Path) -> None:
    existing = tmp_path / "old.json"
    existing.write_text("{}")
    for path, kind in [
        (tmp_path / "new" / "deep" / "heads.json", "file"),
        (existing, "file"),
        (tmp_path / "report", "folder"),
        (tmp_path, "folder"),
    ]:
        check_writable(path, "the output", kind=kind)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.json"]


def test_relative_path_checks_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    deny_writes_in(monkeypatch, tmp_path)
    with pytest.raises(SparksError, match=f"its folder {tmp_path} is not writable"):
        check_writable(Path("heads.json"), "the heads file (-o)")


def test_fold_refuses_an_unwritable_output_before_loading_the_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from harness_ext.interventions import fold_checkpoint

    locked = tmp_path / "locked"
    locked.mkdir()
    deny_writes_in(monkeypatch, locked)
    with pytest.raises(
        SparksError, match="cannot write the folded checkpoint .*locked is not writable"
    ):
        fold_checkpoint(tmp_path / "no-such-model", "zero:L0H0", locked / "folded")


# ---------------------------------------------------------------- sparks discover inputs


def test_discover_refuses_an_unwritable_output_before_any_work(
    tmp_path: Path, no_work: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    deny_writes_in(monkeypatch, locked)
    with pytest.raises(
        SparksError,
        match=r"its folder .*locked is not writable \(permission denied\); "
        r"pick another -o",
    ):
        run_discover(discover_args("-o", str(locked / "heads.json"), "--device", "cpu"))
    (tmp_path / "heads.png").mkdir()  # the heat map's place is taken by a folder
    with pytest.raises(
        SparksError, match="the heat map beside the heads file .*heads.png is a folder"
    ):
        run_discover(discover_args("-o", str(tmp_path / "heads.json"), "--device", "cpu"))
    with pytest.raises(SparksError, match="give a .json name"):
        run_discover(discover_args("-o", str(tmp_path / "out.png")))
    assert no_work == []


def test_discover_without_cuda_refuses_device_cuda(
    monkeypatch: pytest.MonkeyPatch, no_work: list[str], tmp_path: Path
) -> None:
    import torch

    out = str(tmp_path / "heads.json")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(
        SparksError, match="CUDA is not available on this machine; use --device cpu"
    ):
        run_discover(discover_args("--device", "cuda", "-o", out))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(
        SparksError, match=r"cuda:2: this machine has 1 CUDA device \(cuda:0 to cuda:0\)"
    ):
        run_discover(discover_args("--device", "cuda:2", "-o", out))
    with pytest.raises(SparksError, match="'banana' is not a torch device"):
        run_discover(discover_args("--device", "banana", "-o", out))
    assert no_work == []
    assert discovery.check_device("cpu") == "cpu"


@pytest.mark.parametrize("size", ["nan", "inf", "2.5", "0", "-3"])
def test_discover_refuses_meaningless_circuit_sizes(size: str, no_work: list[str]) -> None:
    with pytest.raises(SparksError, match="--circuit-size .*whole number of heads"):
        run_discover(discover_args("--circuit-size", size))
    assert no_work == []


def test_circuit_size_is_never_clamped() -> None:
    assert circuit_size(8, 8) == 8 and circuit_size(0.5, 8) == 4
    with pytest.raises(ValueError, match="at most the model's 8"):
        circuit_size(9, 8)


def test_discover_refuses_a_circuit_larger_than_the_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--circuit-size 100000 on a model of 8 heads: an error naming the 8, before attribution."""
    from harness_ext.testing import tiny_model, tiny_tokenizer

    for name in ("post", "base"):
        tiny_model().save_pretrained(tmp_path / name)
        tiny_tokenizer().save_pretrained(tmp_path / name)
    monkeypatch.setattr(
        discovery,
        "load_task_rows",
        lambda tasks, limit: [("amc_sparks", {"problem_id": "p1", "problem": "1+1?"})],
    )
    monkeypatch.setattr(
        discovery,
        "discover_heads",
        lambda *a, **k: pytest.fail("attribution ran with a bad --circuit-size"),
    )
    with pytest.raises(
        SparksError,
        match=r"--circuit-size 100000 is more than the 8 heads of .*post "
        r"\(2 layers \(0-1\) x 4 heads \(0-3\)\); give at most 8",
    ):
        run_discover(
            discover_args(
                "--model",
                str(tmp_path / "post"),
                "--base",
                str(tmp_path / "base"),
                "--circuit-size",
                "100000",
                "--device",
                "cpu",
                "-o",
                str(tmp_path / "heads.json"),
            )
        )
    assert not (tmp_path / "heads.json").exists()
