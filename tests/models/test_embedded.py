"""The embedded SmolLM2-135M-Instruct: cache location rules, errors, and the converted folder."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness_ext import embedded
from harness_ext.errors import SparksError


def test_cache_dir_precedence(monkeypatch, tmp_path):
    monkeypatch.delenv("SPARKS_CACHE_DIR", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    assert embedded.cache_dir() == Path.home() / ".cache" / "sparks"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert embedded.cache_dir() == tmp_path / "xdg" / "sparks"
    monkeypatch.setenv("SPARKS_CACHE_DIR", str(tmp_path / "mine"))
    assert embedded.embedded_model_dir() == tmp_path / "mine" / "models" / embedded.MODEL_NAME


def test_gguf_env_var_pointing_nowhere_is_clear(monkeypatch, tmp_path):
    monkeypatch.setenv("SPARKS_SMOLLM2_GGUF", str(tmp_path / "missing.gguf"))
    with pytest.raises(SparksError, match="not a file"):
        embedded.find_gguf(tmp_path)


def test_incomplete_folder_is_not_taken_as_converted(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    assert not embedded.is_converted(tmp_path)


@pytest.mark.integration
def test_converted_folder_is_a_plain_hf_checkpoint(embedded_model):
    config = json.loads((embedded_model / "config.json").read_text())
    assert (
        config["model_type"],
        config["num_hidden_layers"],
        config["num_attention_heads"],
        config["num_key_value_heads"],
    ) == ("llama", 30, 9, 3)
    assert "quantization_config" not in config
    assert (embedded_model / "model.safetensors").stat().st_size > 500_000_000
    assert (embedded_model / "tokenizer.json").is_file()


@pytest.mark.slow
def test_conversion_from_the_wheel_in_a_fresh_cache(tmp_path):
    """The whole first-use path, in a subprocess with an empty cache (about 40 s)."""
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from harness_ext.embedded import embedded_model_path as p; print(p())",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env={**__import__("os").environ, "SPARKS_CACHE_DIR": str(tmp_path)},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    folder = Path(done.stdout.strip())
    assert embedded.is_converted(folder) and folder.parent.parent == tmp_path
    assert "first use only" in done.stderr
