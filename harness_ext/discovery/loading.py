"""Loading what ``sparks discover`` works on: task rows, models and tokenizers (the embedded
model by default), and the torch device, each with an error that names the fix.
torch and transformers are imported inside functions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from harness_ext.errors import SparksError

if TYPE_CHECKING:
    from transformers import PreTrainedModel

__all__ = [
    "TASK_LOADERS",
    "check_device",
    "eos_ids",
    "load_model",
    "load_task_rows",
    "load_tokenizer",
]

TASK_LOADERS = {  # task (or group) name -> loader names in harness_ext.tasks.data
    "amc_sparks": ("load_amc",),
    "aime24_sparks": ("load_aime24",),
    "aime25_sparks": ("load_aime25",),
    "math500_sparks": ("load_math500",),
    "aime_sparks": ("load_aime24", "load_aime25"),
    "sparks": ("load_aime24", "load_aime25", "load_amc", "load_math500"),
}


def check_device(name: str | None) -> str:
    """The torch device to run on: ``name``, checked to exist on this machine, or by default
    cuda when available, else cpu. :class:`SparksError` for a device this machine lacks."""
    import torch

    if name is None:
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError):
        raise SparksError(
            f"--device {name!r} is not a torch device; use cpu, cuda or cuda:N"
        ) from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise SparksError(
                f"--device {name}: CUDA is not available on this machine; use --device cpu"
            )
        count = torch.cuda.device_count()
        if device.index is not None and device.index >= count:
            raise SparksError(
                f"--device {name}: this machine has {count} CUDA device"
                f"{'s' if count != 1 else ''} (cuda:0 to cuda:{count - 1}); pick one of them"
            )
    elif device.type == "mps" and not torch.backends.mps.is_available():
        raise SparksError(
            f"--device {name}: MPS is not available on this machine; use --device cpu"
        )
    return name


def load_task_rows(tasks: str, limit: int | None) -> list[tuple[str, dict[str, Any]]]:
    """``(task, row)`` pairs: the first ``limit`` problems of each task in ``tasks`` (comma-separated)."""
    from harness_ext.tasks import data

    rows = []
    for name in [t.strip() for t in tasks.split(",") if t.strip()]:
        key = name.removesuffix("_greedy")
        if key not in TASK_LOADERS:
            raise SparksError(
                f"--tasks: unknown task {name!r}; choose from {', '.join(TASK_LOADERS)}"
            )
        for loader in TASK_LOADERS[key]:
            split = getattr(data, loader)()["test"]
            count = len(split) if limit is None else min(limit, len(split))
            rows += [(name, split[i]) for i in range(count)]
    if not rows:
        raise SparksError("--tasks is empty; name a task such as amc_sparks")
    return rows


def load_model(name: str | None, dtype: str, device: str) -> tuple[str, PreTrainedModel, Any]:
    """``(name, model, tokenizer)``; ``None`` means the embedded model."""
    import torch
    from transformers import AutoModelForCausalLM

    name, path = _model_path(name)
    try:
        model = AutoModelForCausalLM.from_pretrained(path, dtype=getattr(torch, dtype))
    except OSError as error:
        raise _load_error(name, error) from error
    model = model.to(device)  # type: ignore[arg-type]  # transformers types `to` loosely
    return name, model.eval(), _tokenizer(path, name)


def load_tokenizer(name: str | None) -> tuple[str, Any]:
    """``(name, tokenizer)`` of a model, without loading its weights; ``None``: the embedded model."""
    name, path = _model_path(name)
    return name, _tokenizer(path, name)


def _tokenizer(path: str, name: str) -> Any:
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(path)
    except OSError as error:
        raise _load_error(name, error) from error


def _load_error(name: str, error: OSError) -> SparksError:
    return SparksError(
        f"could not load model {name!r} ({str(error)[:200]}); give a Hub id or a "
        "local folder of a causal LM"
    )


def _model_path(name: str | None) -> tuple[str, str]:
    """``(display name, path to load)``: ``None`` is the embedded model (converted on first use)."""
    if name is not None:
        return name, name
    from harness_ext.embedded import embedded_model_path

    return "SmolLM2-135M-Instruct (embedded)", str(embedded_model_path())


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def eos_ids(model: PreTrainedModel, tokenizer: Any) -> list[int]:
    """The ids that end an opening: the tokenizer's end of sequence and the model's."""
    return sorted(
        {tokenizer.eos_token_id, *_as_list(model.generation_config.eos_token_id)} - {None}
    )
