"""Folding linear interventions into the weights: ``o_proj(s * x_h) == (o_proj with columns of h times s)(x)``.

``zero`` and ``scale`` multiply a head's output by a constant, and ``o_proj`` is linear without
a bias in the supported architectures, so the intervention can live in ``o_proj.weight``'s
columns ``[h*head_dim:(h+1)*head_dim]``: no run-time cost, and any inference engine runs it.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, List, Sequence, Tuple

from harness_ext.atomic import staged_folder
from harness_ext.errors import SparksError
from harness_ext.formats.fold_note import FOLD_NOTE, fold_note_text
from harness_ext.output_check import check_writable

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel

    from harness_ext.formats.spec import InterventionSpec
    from harness_ext.interventions.resolver import ResolvedIntervention

__all__ = [
    "FOLD_NOTE",
    "o_proj_weight",
    "check_fold_range",
    "fold_checkpoint",
    "fold_in",
    "fold_problems",
    "folded_weights",
    "restore",
]


def fold_problems(model: PreTrainedModel, resolved: Sequence[ResolvedIntervention]) -> list[str]:
    """Why ``resolved`` cannot be folded into ``model`` (an empty list when it can)."""
    import torch

    problems = []
    for item in resolved:
        if item.fold_scale is None:
            problems.append(
                f"{item.name} ({item.plugin}) is not a constant scale of the heads' output"
            )
            continue
        module = model.get_submodule(item.o_proj)
        weight = getattr(module, "weight", None)
        if getattr(module, "bias", None) is not None:
            problems.append(f"{item.o_proj} has a bias")
        elif (
            not isinstance(weight, torch.Tensor)
            or type(weight) not in (torch.Tensor, torch.nn.Parameter)  # no subclass (quantized)
            or weight.dim() != 2
            or weight.is_meta
            or not weight.dtype.is_floating_point
        ):
            problems.append(
                f"{item.o_proj}.weight is not a plain dense matrix (quantized or offloaded?)"
            )
    return problems


def check_fold_range(model: PreTrainedModel, resolved: Sequence[ResolvedIntervention]) -> None:
    """Refuse a fold whose scaled ``o_proj`` weights would not fit in their dtype (they would
    become inf, and every probability NaN); call after :func:`fold_problems` found none."""
    import torch

    for item in resolved:
        scale = abs(item.fold_scale or 0.0)
        if scale <= 1.0:
            continue
        weight = o_proj_weight(model, item.o_proj)
        with torch.no_grad():
            largest = max(float(weight[:, cols].abs().amax()) for cols in _columns(item))
        limit = torch.finfo(weight.dtype).max
        if largest * scale > limit:
            dtype = str(weight.dtype).removeprefix("torch.")
            raise SparksError(
                f"{item} overflows {dtype}: {item.o_proj}.weight holds values up to {largest:.3g}, "
                f"and {scale:g} times that exceeds {limit:.4g}, the largest {dtype} value; use a "
                f"factor below {limit / largest:.4g}, or load the model in float32"
            )


def _columns(item: ResolvedIntervention) -> list[slice]:
    return [slice(h * item.head_dim, (h + 1) * item.head_dim) for h in item.heads]


Saved = List[Tuple["torch.Tensor", slice, "torch.Tensor"]]


def fold_in(model: PreTrainedModel, resolved: Sequence[ResolvedIntervention]) -> Saved:
    """Scale the heads' ``o_proj`` weight columns in place; returns what :func:`restore` needs."""
    import torch

    problems = fold_problems(model, resolved)
    if problems:
        raise SparksError(
            "cannot fold these interventions into the weights: "
            + "; ".join(problems)
            + ". Use mode='pyvene' (or 'auto')."
        )
    saved: Saved = []
    try:
        with torch.no_grad():
            for item in resolved:
                weight, scale = o_proj_weight(model, item.o_proj), _scale(item)
                for cols in _columns(item):
                    saved.append((weight, cols, weight[:, cols].clone()))
                    weight[:, cols] *= scale
    except BaseException:
        restore(saved)
        raise
    return saved


def restore(saved: Saved) -> None:
    """Put back the exact weight columns that :func:`fold_in` changed."""
    import torch

    with torch.no_grad():
        for weight, cols, original in reversed(saved):
            weight[:, cols] = original


@contextlib.contextmanager
def folded_weights(
    model: PreTrainedModel, resolved: Sequence[ResolvedIntervention]
) -> Iterator[None]:
    """Scale the heads' ``o_proj`` weight columns in place; restore them exactly on exit."""
    saved = fold_in(model, resolved)
    try:
        yield
    finally:
        restore(saved)


def fold_checkpoint(
    model_name_or_path: str | os.PathLike[str],
    spec: InterventionSpec | str,
    out_dir: str | os.PathLike[str],
    *,
    dtype: str = "auto",
) -> Path:
    """Write a copy of a model with ``spec`` folded into its weights, with its tokenizer and a
    ``sparks_interventions.json`` note (spec and versions). A random control is drawn for the
    model and its heads folded; the note gives the concrete spec and the control's record
    (``random_control``). The folder appears atomically."""
    import torch
    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from harness_ext.formats.spec import parse_spec
    from harness_ext.interventions.resolver import expand_controls, resolve

    spec = parse_spec(spec) if isinstance(spec, str) else spec
    out = Path(out_dir)
    if out.exists() and not (out / FOLD_NOTE).is_file():
        raise SparksError(
            f"{out} exists and is not a folded checkpoint written by sparks; "
            f"choose another output folder or remove it"
        )
    check_writable(out, "the folded checkpoint", kind="folder")  # before the model loads
    model = AutoModelForCausalLM.from_pretrained(str(model_name_or_path), dtype=dtype)
    expanded = expand_controls(spec, model.config)
    spec = expanded.spec
    resolved = resolve(spec, model.config)
    problems = fold_problems(model, resolved)
    if problems:
        raise SparksError(
            f"cannot fold {spec.normalized()!r}: "
            + "; ".join(problems)
            + ". Only constant scalings (zero, scale) fold; evaluate others with "
            "the sparks model instead."
        )
    check_fold_range(model, resolved)
    tokenizer = AutoTokenizer.from_pretrained(str(model_name_or_path))
    with torch.no_grad():
        for item in resolved:
            weight, scale = o_proj_weight(model, item.o_proj), _scale(item)
            for cols in _columns(item):
                weight[:, cols] *= scale
    # swapped in whole; an older folded checkpoint there (checked above) is replaced
    with staged_folder(out, owned=lambda folder: (folder / FOLD_NOTE).is_file()) as staging:
        model.save_pretrained(staging, safe_serialization=True)
        tokenizer.save_pretrained(staging)
        note = fold_note_text(
            spec.normalized(),
            str(model_name_or_path),
            _versions(torch.__version__, transformers.__version__),
            expanded.control.record() if expanded.control is not None else None,
        )
        (staging / FOLD_NOTE).write_text(note, encoding="utf-8")
    return out


def _versions(torch_version: str, transformers_version: str) -> dict[str, str]:
    import harness_ext

    return {
        "sparks-harness": harness_ext.__version__,
        "torch": torch_version,
        "transformers": transformers_version,
    }


def o_proj_weight(model: PreTrainedModel, path: str) -> torch.Tensor:
    """The weight of the ``o_proj`` at ``path``: a tensor (:func:`fold_problems` refuses a
    model whose weight is none, e.g. quantized), so that folding can index its columns."""
    import torch

    weight = getattr(model.get_submodule(path), "weight", None)
    if not isinstance(weight, torch.Tensor):
        raise SparksError(f"{path}.weight is not a tensor; its heads cannot be folded")
    return weight


def _scale(item: ResolvedIntervention) -> float:
    """The constant an item multiplies its heads by; :func:`fold_problems` has refused items
    without one before anything is folded."""
    if item.fold_scale is None:
        raise SparksError(f"{item.name} ({item.plugin}) is not a constant scale; it cannot fold")
    return item.fold_scale
