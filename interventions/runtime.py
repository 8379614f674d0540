"""Run a model with head interventions: every position, every generated token, any batch.

``apply_interventions(model, resolved)`` returns a reusable context manager; inside
``with ...:`` plain ``model(...)`` and ``model.generate(...)`` calls are intervened. Two paths
give the same tokens:

* ``fold``: constant scalings (``zero``, ``scale``) are folded into ``o_proj``'s weight columns
  on entry and restored exactly on exit; no run-time cost.
* ``pyvene``: sparks' one input hook (:func:`harness_ext.hooks.input_hooks`) on the ``o_proj``
  of each intervened layer, registered for the block, so it acts on every forward pass: the
  prompt and each generated token. Its function
  (:class:`~harness_ext.interventions.layer.LayerHeads`) gathers the selected heads' slices,
  calls the plugins' pyvene interventions on them and writes the results back.

``mode="auto"`` (the default) folds when every intervention is foldable, else runs the
interventions in the hook. Preparation (calibration, head indices) happens once in the
constructor; entering and leaving only folds/restores columns or adds/removes hooks, so
wrapping every call is cheap.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Sequence

from harness_ext.errors import SparksError
from harness_ext.hooks import count_calls, input_hooks
from harness_ext.interventions.reference import ACTIVE_ATTR

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

    from harness_ext.interventions.layer import LayerHeads
    from harness_ext.interventions.resolver import ResolvedIntervention

__all__ = ["MODES", "Intervened", "apply_interventions", "choose_mode"]

MODES = ("auto", "fold", "pyvene")


def choose_mode(
    model: PreTrainedModel, resolved: Sequence[ResolvedIntervention], mode: str = "auto"
) -> str:
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
            raise SparksError(
                "cannot fold these interventions into the weights: "
                + "; ".join(problems)
                + ". Use mode='pyvene' or 'auto'."
            )
    return mode


class Intervened:
    """A model with resolved interventions, switched on by ``with``; reusable, not nestable.

    Entering yields the mode in use (``"fold"``, ``"pyvene"`` or ``"none"``).
    """

    def __init__(
        self,
        model: PreTrainedModel,
        resolved: Sequence[ResolvedIntervention],
        *,
        mode: str = "auto",
        tokenizer: PreTrainedTokenizerBase | None = None,
    ) -> None:
        from harness_ext.interventions.reference import calibrate, needs_calibration

        self.model = model
        self.resolved = list(resolved)
        self.mode = choose_mode(model, self.resolved, mode)
        self._active: contextlib.ExitStack | None = None
        self._edits: dict[str, LayerHeads] = {}
        self._steps = [0]  # forward passes of the model inside the block (all entries together)
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
                raise SparksError(
                    f"intervention {names} needs reference activations: pass tokenizer= "
                    f"to apply_interventions() or call calibrate() first"
                )
            calibrate(model, tokenizer, self.resolved)
        if self.mode == "pyvene":
            from harness_ext.interventions.layer import layer_edits

            self._edits = layer_edits(self.resolved)

    def __enter__(self) -> str:
        if self.mode == "none":
            return self.mode
        if getattr(self.model, ACTIVE_ATTR, None):
            raise SparksError("interventions are already active on this model; they do not nest")
        setattr(self.model, ACTIVE_ATTR, self.mode)
        active = contextlib.ExitStack()
        try:
            if self.mode == "fold":
                from harness_ext.interventions.fold import folded_weights

                active.enter_context(folded_weights(self.model, self.resolved))
            else:
                active.enter_context(input_hooks(self.model, self._edits))
            active.enter_context(count_calls(self.model, self._steps))
        except BaseException:
            try:
                active.close()
            finally:
                setattr(self.model, ACTIVE_ATTR, None)
            raise
        self._active = active
        return self.mode

    @property
    def steps(self) -> int:
        """The model's forward passes inside the block, all entries together."""
        return self._steps[0]

    def applied_steps(self) -> dict[str, object] | None:
        """``{"engine_steps": N, "layers": {"L": n}}``: the model's forward passes inside the
        block and, per intervened layer, those its interventions ran in (hook calls; with
        folded weights every pass, by construction). None without interventions."""
        if self.mode == "none":
            return None
        if self.mode == "fold":
            layers = {item.layer: self.steps for item in self.resolved}
        else:
            layers = {edit.items[0].layer: edit.applied for edit in self._edits.values()}
        return {
            "engine_steps": self.steps,
            "layers": {str(layer): count for layer, count in sorted(layers.items())},
        }

    def __exit__(self, *exc_info: object) -> None:
        if self.mode == "none":
            return
        active, self._active = self._active, None
        try:
            if active is not None:
                active.close()
        finally:
            setattr(self.model, ACTIVE_ATTR, None)


def apply_interventions(
    model: PreTrainedModel,
    resolved: Sequence[ResolvedIntervention],
    *,
    mode: str = "auto",
    tokenizer: PreTrainedTokenizerBase | None = None,
) -> Intervened:
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
            raise SparksError(
                f"{item} was resolved for another model: {item.o_proj} does not exist here"
            ) from None
        in_features = getattr(module, "in_features", None)
        if in_features is not None and in_features != item.n_heads * item.head_dim:
            raise SparksError(
                f"{item.o_proj} takes {in_features} inputs, not {item.n_heads} heads x "
                f"{item.head_dim}: resolve the spec against this model's config"
            )
