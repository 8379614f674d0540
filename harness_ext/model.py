"""The lm-eval model ``sparks``: lm-eval's ``HFLM`` plus the embedded model and head interventions.

Every HFLM model_arg works unchanged (``pretrained``, ``dtype``, ``device``, ``batch_size``,
``max_length``, ...). What ``sparks`` adds:

* no ``pretrained``: the embedded SmolLM2-135M-Instruct (``harness_ext.embedded``), offline;
* ``interventions=SPEC``: ablate or boost attention heads during every forward pass and every
  generated token (``harness_ext.spec`` documents the syntax);
* ``intervention_mode=auto|fold|pyvene``: how static interventions are applied (``auto`` folds
  ``zero``/``scale`` into ``o_proj``'s weights, anything else runs through pyvene).

The only overrides are the two methods every loglikelihood and generation batch passes through
(``_model_call`` and ``_model_generate``), wrapped in one intervention context, in the manner
of lm-eval's own ``steered`` model.
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator

from lm_eval.api.registry import register_model
from lm_eval.models.huggingface import HFLM

from harness_ext.errors import SparksError, install_excepthook

INTERVENTION_MODES = ("auto", "fold", "pyvene")
install_excepthook()


@register_model("sparks")
class SparksLM(HFLM):
    """HFLM with an embedded default model and attention-head interventions."""

    def __init__(
        self,
        pretrained: Any = None,
        interventions: str | None = None,
        intervention_mode: str = "auto",
        **hflm_args: Any,  # every other model_arg is HFLM's, passed through untouched
    ) -> None:
        if intervention_mode not in INTERVENTION_MODES:
            raise SparksError(f"intervention_mode={intervention_mode!r} is not one of "
                              f"{', '.join(INTERVENTION_MODES)}.")
        if pretrained is None:
            from harness_ext.embedded import embedded_model_path

            pretrained = str(embedded_model_path())
        self._interventions = None
        self._intervention_mode = intervention_mode
        spec = _parse_interventions(interventions)
        super().__init__(pretrained=pretrained, **hflm_args)
        if spec is not None:
            self._interventions = _resolve_interventions(spec, self._model)

    @contextlib.contextmanager
    def _intervened(self) -> Iterator[None]:
        """Apply the interventions (if any) for the duration of one model call."""
        if self._interventions is None:
            yield
            return
        from harness_ext.interventions.runtime import apply_interventions

        with apply_interventions(self._model, self._interventions, mode=self._intervention_mode):
            yield

    def _model_call(self, inps, attn_mask=None, labels=None):
        with self._intervened():
            return super()._model_call(inps, attn_mask=attn_mask, labels=labels)

    def _model_generate(self, context, max_length, stop, **generation_kwargs):
        with self._intervened():
            return super()._model_generate(context, max_length, stop, **generation_kwargs)

    def get_model_info(self) -> dict:
        """HFLM's model info, plus the normalized interventions and plugin versions."""
        info = super().get_model_info()
        from harness_ext import __version__

        info["sparks_version"] = __version__
        info["sparks_interventions"] = (self._interventions.normalized()
                                        if self._interventions is not None else None)
        info["sparks_intervention_mode"] = self._intervention_mode
        return info


def _parse_interventions(text: str | None):
    """Parse the spec before any model work, so a typo fails in milliseconds."""
    if text is None or str(text).strip() == "":
        return None
    from harness_ext.spec import parse_spec

    return parse_spec(str(text))


def _resolve_interventions(spec, model):
    from harness_ext.interventions.runtime import resolve_for_model

    return resolve_for_model(spec, model)
