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
import hashlib
import logging
from typing import Any

from lm_eval.api.registry import register_model
from lm_eval.models.huggingface import HFLM

from harness_ext.errors import SparksError, install_excepthook

INTERVENTION_MODES = ("auto", "fold", "pyvene")
logger = logging.getLogger(__name__)
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
        spec = _parse_interventions(interventions)  # a typo fails before the model loads
        if pretrained is None:
            from harness_ext.embedded import embedded_model_path

            pretrained = str(embedded_model_path())
        self._spec = spec
        self._intervention_mode = intervention_mode
        self._intervened = None
        resolved = _resolve_before_loading(spec, pretrained, hflm_args)
        super().__init__(pretrained=pretrained, **hflm_args)
        if spec is not None:
            from harness_ext.interventions import apply_interventions, resolve

            if resolved is None:  # a model object was passed: its config is only known now
                resolved = resolve(spec, self._model.config)
            # built once: preparing the pyvene model costs ~20 ms, entering it ~0.1 ms
            self._intervened = apply_interventions(self._model, resolved,
                                                   mode=intervention_mode,
                                                   tokenizer=self.tokenizer)

    @property
    def interventions(self) -> str | None:
        """The normalized intervention spec (``None`` without interventions)."""
        return self._spec.normalized() if self._spec is not None else None

    @property
    def cache_tag(self) -> str | None:
        """A short digest of the interventions, separating ``--use_cache`` files."""
        if self._spec is None:
            return None
        return hashlib.sha256(self.interventions.encode()).hexdigest()[:12]

    def _model_call(self, inps, attn_mask=None, labels=None):
        with self._intervention():
            return super()._model_call(inps, attn_mask=attn_mask, labels=labels)

    def _model_generate(self, context, max_length, stop, **generation_kwargs):
        with self._intervention():
            return super()._model_generate(context, max_length, stop, **generation_kwargs)

    def generate_until(self, requests, disable_tqdm: bool = False) -> list[str]:
        """HFLM's generate_until, with the token budget fitted to the model's context, and
        the interventions written into each request's logged generation arguments."""
        self._fit_generation_budget(requests)
        outputs = super().generate_until(requests, disable_tqdm=disable_tqdm)
        if self._spec is not None:  # after generation: `arguments` is what --log_samples shows
            for request in requests:
                if isinstance(request.args[1], dict):
                    request.args[1]["sparks_interventions"] = self.interventions
        return outputs

    def _fit_generation_budget(self, requests) -> None:
        """Lower ``max_gen_toks`` where prompt + budget exceed the model's context.

        HFLM stops with an assertion when ``max_gen_toks`` (32768 in the paper's setting) is
        not below ``max_length``; a model with a shorter context (the embedded one has 8192)
        should still run, generating as much as fits. One budget per group of identical
        generation settings, so that lm-eval's batching by settings is unchanged.
        """
        groups: dict[str, list] = {}
        for request in requests:
            context, gen_kwargs = request.args
            gen_kwargs.pop("sparks_interventions", None)  # never passed on to generate()
            groups.setdefault(repr(sorted(gen_kwargs.items(), key=str)), []).append(request)
        for group in groups.values():
            wanted = int(group[0].args[1].get("max_gen_toks", self.max_gen_toks))
            longest = max(len(self.tok_encode(request.args[0])) for request in group)
            budget = min(wanted, self.max_length - longest - 1)
            if budget < wanted:
                if budget < 1:
                    raise SparksError(f"a prompt of {longest} tokens leaves no room to generate "
                                      f"within max_length={self.max_length}; raise max_length.")
                logger.warning("max_gen_toks=%d does not fit in this model's context "
                               "(max_length=%d, longest prompt %d tokens): generating at most "
                               "%d tokens", wanted, self.max_length, longest, budget)
                for request in group:
                    request.args[1]["max_gen_toks"] = budget

    def _intervention(self):
        return self._intervened if self._intervened is not None else contextlib.nullcontext()

    def get_model_info(self) -> dict:
        """HFLM's model info, plus the normalized interventions and plugin versions."""
        info = super().get_model_info()
        from harness_ext import __version__

        info["sparks_version"] = __version__
        info["sparks_interventions"] = self.interventions
        info["sparks_intervention_mode"] = (self._intervened.mode if self._intervened is not None
                                            else None)
        info["sparks_plugins"] = _plugin_versions() if self._spec is not None else {}
        return info


def _parse_interventions(text: str | None):
    """Parse the spec before any model work, so a typo fails in milliseconds."""
    if text is None or str(text).strip() == "":
        return None
    from harness_ext.spec import parse_spec

    return parse_spec(str(text))


def _resolve_before_loading(spec, pretrained: Any, hflm_args: dict[str, Any]):
    """Check heads against the model's config (layers, heads) before any weights load."""
    if spec is None or not isinstance(pretrained, str):
        return None
    from transformers import AutoConfig

    from harness_ext.interventions import resolve

    config = AutoConfig.from_pretrained(
        pretrained, revision=hflm_args.get("revision") or "main",
        subfolder=hflm_args.get("subfolder") or "",
        trust_remote_code=bool(hflm_args.get("trust_remote_code", False)))
    return resolve(spec, config)


def _plugin_versions() -> dict[str, str | None]:
    from harness_ext.plugins import describe_plugins

    return {info.name: info.version for info in describe_plugins() if info.interventions}


def _separate_cache_per_intervention() -> None:
    """Give each intervention spec its own ``--use_cache`` file.

    lm-eval's ``CachingLM`` keys cached answers by request alone, so a run with heads ablated
    would silently reuse the answers of a baseline run sharing the cache path. Runs without
    interventions keep lm-eval's path unchanged.
    """
    from lm_eval.api import model as lm_eval_model

    original = lm_eval_model.CachingLM.__init__
    if getattr(original, "_sparks", False):
        return

    def __init__(self, lm, cache_db: str) -> None:
        tag = getattr(lm, "cache_tag", None)
        if tag:
            stem = cache_db[:-3] if cache_db.endswith(".db") else cache_db
            cache_db = f"{stem}_sparks-{tag}.db"
        original(self, lm, cache_db)

    __init__._sparks = True  # type: ignore[attr-defined]
    lm_eval_model.CachingLM.__init__ = __init__


_separate_cache_per_intervention()
