"""Run a model with head interventions: every position, every generated token, any batch.

``apply_interventions(model, resolved)`` returns a reusable context manager; inside
``with ...:`` plain ``model(...)`` and ``model.generate(...)`` calls are intervened. Two paths
give the same tokens:

* ``fold``: constant scalings (``zero``, ``scale``) are folded into ``o_proj``'s weight columns
  on entry and restored exactly on exit; no run-time cost.
* ``pyvene``: a pyvene ``IntervenableModel`` over the ``o_proj`` input of each intervened layer,
  whose setter hooks stay registered for the block (unit locations None, so they act on every
  forward pass: the prompt and each generated token). Its per-layer intervention
  (:class:`~harness_ext.interventions.layer.LayerHeads`) gathers the selected heads' slices,
  calls the plugin's intervention and scatters the result back.

``mode="auto"`` (the default) folds when every intervention is foldable, else uses pyvene.
Preparation (pyvene model, calibration) happens once in the constructor; entering and leaving
only folds/restores columns or adds/removes hooks, so wrapping every call is cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

from harness_ext.errors import SparksError

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

    from harness_ext.interventions.resolver import ResolvedIntervention

__all__ = ["MODES", "Intervened", "apply_interventions", "choose_mode"]

MODES = ("auto", "fold", "pyvene")


def choose_mode(model: PreTrainedModel, resolved: Sequence[ResolvedIntervention], mode: str = "auto") -> str:
    """The path that will be taken: ``"fold"``, ``"pyvene"``, or ``"none"`` for no interventions."""
    from harness_ext.interventions.fold import fold_problems

    if mode not in MODES:
        raise SparksError(f"unknown intervention mode {mode!r}; choose one of {', '.join(MODES)}")
    if not resolved:
        return "none"
    if mode == "auto":
        return "pyvene" if fold_problems(model, resolved) else "fold"
    if mode == "fold":
        problems = fold_problems(model, resolved)
        if problems:
            raise SparksError("cannot fold these interventions into the weights: " + "; ".join(problems)
                              + ". Use mode='pyvene' or 'auto'.")
    return mode


class Intervened:
    """A model with resolved interventions, switched on by ``with``; reusable, not nestable.

    Entering yields the mode in use (``"fold"``, ``"pyvene"`` or ``"none"``).
    """

    def __init__(self, model: PreTrainedModel, resolved: Sequence[ResolvedIntervention], *,
                 mode: str = "auto", tokenizer: PreTrainedTokenizerBase | None = None) -> None:
        from harness_ext.interventions.reference import calibrate, needs_calibration

        self.model = model
        self.resolved = list(resolved)
        self.mode = choose_mode(model, self.resolved, mode)
        self._undo: list[Any] = []
        self._intervenable: Any = None
        if self.mode == "none":
            return
        _check_model(model, self.resolved)
        if self.mode == "fold":
            from harness_ext.interventions.fold import check_fold_range

            check_fold_range(model, self.resolved)
        pending = needs_calibration(self.resolved)
        if pending:
            if tokenizer is None:
                names = ", ".join(sorted({item.name for item in pending}))
                raise SparksError(f"intervention {names} needs reference activations: pass tokenizer= "
                                  f"to apply_interventions() or call calibrate() first")
            calibrate(model, tokenizer, self.resolved)
        if self.mode == "pyvene":
            self._intervenable = _intervenable_model(model, self.resolved)

    def __enter__(self) -> str:
        if self.mode == "none":
            return self.mode
        if getattr(self.model, "_sparks_active", None):
            raise SparksError("interventions are already active on this model; they do not nest")
        self.model._sparks_active = self.mode
        try:
            if self.mode == "fold":
                from harness_ext.interventions.fold import fold_in

                self._undo = [fold_in(self.model, self.resolved)]
            else:
                for key in self._intervenable.sorted_keys:
                    # pyvene-internal (0.1.8): the setter hooks IntervenableModel.forward/generate
                    # register; with unit locations None they replace the whole o_proj input on
                    # every call. One key per call, as pyvene does (its closures bind late).
                    self._undo.append(self._intervenable._intervention_setter([key], [None], None, None))
        except BaseException:
            self._switch_off()
            raise
        return self.mode

    def __exit__(self, *exc_info: object) -> None:
        if self.mode != "none":
            self._switch_off()

    def _switch_off(self) -> None:
        try:
            if self.mode == "fold":
                from harness_ext.interventions.fold import restore

                for saved in self._undo:
                    restore(saved)
            else:
                for handlers in self._undo:
                    handlers.remove()
        finally:
            self._undo = []
            self.model._sparks_active = None


def apply_interventions(model: PreTrainedModel, resolved: Sequence[ResolvedIntervention], *,
                        mode: str = "auto", tokenizer: PreTrainedTokenizerBase | None = None) -> Intervened:
    """Prepare ``resolved`` on ``model``; use the result as ``with ...:`` around model calls.

    ``tokenizer`` is needed only the first time an intervention wants reference activations
    (``mean``); see :func:`harness_ext.interventions.reference.calibrate`.
    """
    return Intervened(model, resolved, mode=mode, tokenizer=tokenizer)


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


def _intervenable_model(model: PreTrainedModel, resolved: Sequence[ResolvedIntervention]) -> Any:
    """A pyvene IntervenableModel with one :class:`LayerHeads` on each intervened ``o_proj`` input."""
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
    # the constructor switches the model to eval mode and turns off every parameter's
    # requires_grad; put both back (the hooks do not need either)
    grad_flags = [(parameter, parameter.requires_grad) for parameter in model.parameters()]
    training = model.training
    try:
        return pyvene.IntervenableModel(pyvene.IntervenableConfig(representations), model)
    finally:
        for parameter, flag in grad_flags:
            parameter.requires_grad_(flag)
        model.train(training)
