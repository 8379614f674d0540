"""Shared fixtures. Tests run offline: the Hub is never contacted, data comes from ../shared/data."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


def pytest_configure(config: pytest.Config) -> None:
    # like llm's tests: no entry-point plugins load in-process (tests register theirs inline)
    sys._sparks_test_mode = True  # type: ignore[attr-defined]
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def pytest_unconfigure(config: pytest.Config) -> None:
    if hasattr(sys, "_sparks_test_mode"):
        del sys._sparks_test_mode  # type: ignore[attr-defined]


@pytest.fixture(scope="session", autouse=True)
def one_torch_thread():
    """In-process models here are tiny: threads gain nothing, and on a busy machine they thrash
    (100x slower seen on two cores). Subprocess tests (lm_eval) keep torch's default."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The project's data folder (../shared/data): AMC, AIME and MATH-500 as JSONL."""
    if not (SHARED_DATA / "amc.jsonl").is_file():
        message = f"the data folder {SHARED_DATA} is missing (CI and tests read ../shared/data)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return SHARED_DATA


@pytest.fixture
def local_data(shared_data: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the tasks at ../shared/data through SPARKS_DATA_DIR."""
    monkeypatch.setenv("SPARKS_DATA_DIR", str(shared_data))
    return shared_data


@pytest.fixture(scope="session")
def embedded_model() -> Path:
    """The embedded SmolLM2-135M-Instruct as a local folder (converted on first use)."""
    from harness_ext.embedded import embedded_model_path

    return embedded_model_path()


@pytest.fixture(scope="session")
def tiny_model_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Tiny random Llama and Qwen2 checkpoints with a small byte-level tokenizer, saved to disk."""
    from tiny_models import save_tiny_checkpoint

    base = tmp_path_factory.mktemp("tiny")
    return {arch: save_tiny_checkpoint(arch, base / arch) for arch in ("llama", "qwen2")}


# sparks-vllm tests (test_vllm.py, test_vllm_parallel.py): vLLM lives in its own environment
VLLM_VENV = Path(__file__).resolve().parents[1] / ".venv-vllm"
EXAMPLE_PLUGIN = Path(__file__).resolve().parents[1] / "examples" / "sparks-negate"


@pytest.fixture(scope="session")
def vllm_bin() -> Path:
    """.venv-vllm's bin folder (skip without it; fail under CI)."""
    if not (VLLM_VENV / "bin" / "lm_eval").is_file():
        message = f"{VLLM_VENV} is missing: make it with `bash scripts/setup-vllm.sh`"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return VLLM_VENV / "bin"


@pytest.fixture(scope="session")
def plugin_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """examples/sparks-negate installed into a throwaway folder, put on both runs' paths."""
    target = tmp_path_factory.mktemp("site")
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps"]
    command += ["--no-build-isolation", "--disable-pip-version-check", "--no-index"]
    done = subprocess.run(
        [*command, "--target", str(target), str(EXAMPLE_PLUGIN)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return target
