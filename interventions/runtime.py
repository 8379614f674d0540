"""Run a model with head interventions: every position, every generated token, any batch.

Inside ``with apply_interventions(model, resolved):`` plain ``model(...)`` and
``model.generate(...)`` calls are intervened. Two paths give the same tokens:

* ``fold``: constant scalings (``zero``, ``scale``) are folded into ``o_proj``'s weight columns
  and restored exactly on exit; no run-time cost.
* ``pyvene``: a pyvene ``IntervenableModel`` over the ``o_proj`` input of each intervened layer
  keeps its setter hooks registered for the whole block (``unit_locations=None``, so it acts on
  every forward pass, prompt and generated tokens alike). Its per-layer intervention gathers the
  selected heads' slices, calls the plugin's intervention and scatters the result back.

``mode="auto"`` (the default) folds when every intervention is foldable, else uses pyvene.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any, Iterator, Sequence

from harness_ext.errors import SparksError

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

    from harness_ext.interventions.resolve import ResolvedIntervention

__all__ = ["MODES", "apply_interventions", "choose_mode"]

MODES = ("auto", "fold", "pyvene")


def choose_mode(model: PreTrainedModel, resolved: Sequence[ResolvedIntervention], mode: str = "auto") -> str:
    """The path ``apply_interventions`` will take: ``"fold"`` or ``"pyvene"`` (``"none"`` when empty)."""
    from harness_ext.interventions.fold import fold_problems

    if mode not in MODES:
        raise SparksError(f"unknown intervention mode {mode!r}; choose one of {', '.join(MODES)}")
    if not resolved:
        return "none"
    if mode == "auto":
        return "pyvene" if fold_problems(model, resolved) else "fold"
    return mode


@contextlib.contextmanager
def apply_interventions(model: PreTrainedModel, resolved: Sequence[ResolvedIntervention], *,
                        mode: str = "auto",
                        tokenizer: PreTrainedTokenizerBase | None = None) -> Iterator[str]:
    """Intervene on every forward pass of ``model`` inside the block; yields the mode used.

    ``tokenizer`` is needed only the first time an intervention wants reference activations
    (``mean``); see :func:`harness_ext.interventions.calibrate.calibrate`.
    """
    from harness_ext.interventions.calibrate import calibrate, needs_calibration

    chosen = choose_mode(model, resolved, mode)
    if chosen == "none":
        yield chosen
        return
    _check_model(model, resolved)
    if needs_calibration(resolved):
        if tokenizer is None:
            names = sorted({item.name for item in needs_calibration(resolved)})
            raise SparksError(f"intervention {', '.join(names)} needs reference activations: pass "
                              f"tokenizer= to apply_interventions() or call calibrate() first")
        calibrate(model, tokenizer, resolved)
    if getattr(model, "_sparks_active", None):
        raise SparksError("apply_interventions() is already active on this model; it does not nest")
    model._sparks_active = chosen
    try:
        if chosen == "fold":
            from harness_ext.interventions.fold import folded_weights

            with folded_weights(model, resolved):
                yield chosen
        else:
            with _pyvene_hooks(model, resolved):
                yield chosen
    finally:
        model._sparks_active = None


def _check_model(model: PreTrainedModel, resolved: Sequence[ResolvedIntervention]) -> None:
    for item in resolved:
        try:
            module = model.get_submodule(item.o_proj)
        except AttributeError:
            raise SparksError(f"{item} was resolved for another model: {item.o_proj} does not exist "
                              f"here") from None
        in_features = getattr(module, "in_features", None)
        if in_features is not None and in_features != item.n_heads * item.head_dim:
            raise SparksError(f"{item.o_proj} takes {in_features} inputs, not {item.n_heads} heads x "
                              f"{item.head_dim}: resolve the spec against this model's config")


@contextlib.contextmanager
def _pyvene_hooks(model: PreTrainedModel, resolved: Sequence[ResolvedIntervention]) -> Iterator[None]:
    """Register pyvene setter hooks on the intervened layers' ``o_proj`` input for the block."""
    from harness_ext.interventions.base import pyvene
    from harness_ext.interventions.layer import LayerHeads

    by_module: dict[str, list[ResolvedIntervention]] = {}
    for item in resolved:
        by_module.setdefault(item.o_proj, []).append(item)
    representations = [
        pyvene.RepresentationConfig(layer=items[0].layer, component=f"{path}.input", unit="pos",
                                    intervention=LayerHeads(items))
        for path, items in by_module.items()
    ]
    # IntervenableModel's constructor switches the model to eval mode and turns off every
    # parameter's requires_grad; put both back afterwards
    grad_flags = [(parameter, parameter.requires_grad) for parameter in model.parameters()]
    training = model.training
    handlers = []
    try:
        intervenable = pyvene.IntervenableModel(pyvene.IntervenableConfig(representations), model)
        handlers = []
        for key in intervenable.sorted_keys:
            # pyvene-internal (0.1.8): the setter hooks that IntervenableModel.forward/generate
            # register; with unit locations None they replace the whole o_proj input on every
            # call. One key per call, as pyvene does: its hook closure binds the loop variables late.
            handlers.append(intervenable._intervention_setter([key], [None], None, None))
        yield
    finally:
        for handler in handlers:
            handler.remove()
        for parameter, flag in grad_flags:
            parameter.requires_grad_(flag)
        model.train(training)
