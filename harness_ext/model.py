"""The lm-eval model ``sparks``: lm-eval's ``HFLM`` plus the embedded model and head interventions.

Every HFLM model_arg works unchanged (``pretrained``, ``dtype``, ``device``, ``batch_size``,
``max_length``, ...). What ``sparks`` adds:

* no ``pretrained``: the embedded SmolLM2-135M-Instruct (``harness_ext.embedded``), offline;
* ``interventions=SPEC``: ablate or boost attention heads during every forward pass and every
  generated token (``harness_ext.interventions.spec`` documents the syntax); a random control
  (``random:...``) is drawn once the model's shape is known, and the drawn, concrete spec is
  what runs and what is recorded;
* ``intervention_mode=auto|fold|pyvene``: how interventions are applied (``auto`` folds
  ``zero``/``scale`` into ``o_proj``'s weights; anything else, or ``pyvene``, calls the
  plugins' pyvene interventions, their ``forward``, in sparks' own ``o_proj`` input hook,
  ``harness_ext.hooks``: pyvene is the interventions' base class, and no pyvene
  ``IntervenableModel`` is built);
* no ``device``: cuda when available, else cpu (HFLM's default is cuda, which fails on a
  machine without a GPU); a device given explicitly wins.

The interventions live in the two methods every loglikelihood and generation batch passes
through (``_model_call`` and ``_model_generate``), wrapped in one intervention context, in the
manner of lm-eval's own ``steered`` model; what generation did is recorded through the response
hook lm-eval hands the model (:func:`harness_ext.generation_facts.generate_recording_facts`).
Importing this module only registers the model: ``--use_cache`` files are separated per spec
once a model with interventions is built (the one lm-eval patch the model applies,
:func:`harness_ext.lm_eval_patches.separate_cache_per_intervention`), and the one-line error
display is the ``sparks`` CLI's and the lm-eval bridge's
(:func:`harness_ext.errors.install_excepthook`).
"""

from __future__ import annotations

import contextlib
import logging
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

import torch
from lm_eval.api.registry import register_model
from lm_eval.models.huggingface import HFLM
from transformers import LogitsProcessor, LogitsProcessorList

from harness_ext.errors import SparksError
from harness_ext.generation_facts import FactsRecorder
from harness_ext.lm_eval_patches import separate_cache_per_intervention
from harness_ext.local_paths import checked_local_path
from harness_ext.model_args import parse_model_args
from harness_ext.run_names import load_config as _load_config
from harness_ext.run_names import remember_draw
from harness_ext.run_names import results_names as results_names
from harness_ext.run_names import spec_digest as spec_digest
from harness_ext.tasks.metadata import record_model_args

if TYPE_CHECKING:
    from lm_eval.api.instance import Instance

    from harness_ext.interventions.controls import RandomControl
    from harness_ext.interventions.resolver import ResolvedIntervention
    from harness_ext.interventions.runtime import Intervened
    from harness_ext.interventions.spec import InterventionSpec

INTERVENTION_MODES = ("auto", "fold", "pyvene")
# torch.multinomial's message when sampling meets inf/NaN probabilities (CPU and CUDA alike)
NON_FINITE_SAMPLING = "probability tensor contains either `inf`, `nan` or element < 0"
INSTRUCT_HINTS = ("instruct", "chat")  # lm-eval's own hint words are "inst" and "chat"
logger = logging.getLogger(__name__)


class ArgsGivenOnce:
    """lm-eval merges ``--model_args`` with ``--device``/``--batch_size`` (or simple_evaluate's
    ``device=``...) by passing both as keywords: a key in both was a ``TypeError`` traceback
    from deep in lm-eval. Here it is one line that names both values."""

    @classmethod
    def create_from_arg_obj(cls, arg_dict: dict, additional_config: dict | None = None) -> Any:
        _refuse_given_twice(arg_dict, additional_config)
        record_model_args(arg_dict)  # the tasks, built next, know these metadata keys
        return super().create_from_arg_obj(arg_dict, additional_config)  # type: ignore[misc]

    @classmethod
    def create_from_arg_string(cls, arg_string: str, additional_config: dict | None = None) -> Any:
        from lm_eval.utils import simple_parse_args_string

        model_args = simple_parse_args_string(arg_string)
        _refuse_given_twice(model_args, additional_config)
        record_model_args(model_args)  # the tasks, built next, know these metadata keys
        _refuse_given_twice(parse_model_args(arg_string), additional_config)
        return super().create_from_arg_string(arg_string, additional_config)  # type: ignore[misc]


def _refuse_given_twice(model_args: dict, additional_config: dict | None) -> None:
    for key, value in (additional_config or {}).items():
        if value is not None and key in model_args:
            raise SparksError(
                f"{key} is given twice: in --model_args ({key}={model_args[key]}) and as "
                f"--{key} {value} (or simple_evaluate's {key}=); give it once, e.g. --{key} {value}"
            )


@register_model("sparks")
class SparksLM(ArgsGivenOnce, HFLM):
    """HFLM with an embedded default model and attention-head interventions."""

    def __init__(
        self,
        pretrained: Any = None,
        interventions: str | None = None,
        intervention_mode: str = "auto",
        device: str | None = None,
        **hflm_args: Any,  # every other model_arg is HFLM's, passed through untouched
    ) -> None:
        if intervention_mode not in INTERVENTION_MODES:
            raise SparksError(
                f"intervention_mode={intervention_mode!r} is not one of "
                f"{', '.join(INTERVENTION_MODES)}."
            )
        spec = _parse_interventions(interventions)  # a typo fails before the model loads
        given = pretrained
        self._embedded = pretrained is None
        if pretrained is None:
            from harness_ext.embedded import embedded_model_path

            pretrained = str(embedded_model_path())
        elif isinstance(pretrained, str):
            pretrained = checked_local_path(pretrained)
        self._spec = spec
        self._control: RandomControl | None = None  # the drawn random control, if any
        self._intervention_mode = intervention_mode
        self._intervened: Intervened | None = None
        self._chat_template_applied = False
        self._chat_template_warned = False
        resolved = None
        config = _config_before_loading(spec, pretrained, hflm_args)
        if config is not None:
            resolved = self._prepare_interventions(config)
        super().__init__(pretrained=pretrained, device=choose_device(device), **hflm_args)
        if spec is not None:
            from harness_ext.interventions import apply_interventions

            if resolved is None:  # a model object was passed: its config is only known now
                resolved = self._prepare_interventions(self._model.config)
            if self._control is not None and self.interventions is not None:
                remember_draw(interventions, given, self.interventions)
            # built once (calibration, head indices); entering it only adds hooks or folds
            self._intervened = apply_interventions(
                self._model, resolved, mode=intervention_mode, tokenizer=self.tokenizer
            )
            separate_cache_per_intervention()

    def _prepare_interventions(self, config: Any) -> list[ResolvedIntervention]:
        """The intervention plan for this config (:mod:`harness_ext.interventions.plan`, the
        one ``sparks-vllm`` applies too): the random control drawn, the items resolved."""
        from harness_ext.interventions.plan import build_plan

        if self._spec is None:
            raise ValueError("no interventions to prepare")  # a caller's bug, not the user's
        plan = build_plan(self._spec, config)
        self._spec, self._control = plan.spec, plan.control
        return plan.items

    @property
    def interventions(self) -> str | None:
        """The normalized, concrete intervention spec: a random control appears as the item
        it was drawn into (``zero:L2H1+L7H3``); ``None`` without interventions."""
        return self._spec.normalized() if self._spec is not None else None

    @property
    def random_control(self) -> dict | None:
        """The random control's record (what was asked for and the heads drawn), or None."""
        return self._control.record() if self._control is not None else None

    @property
    def cache_tag(self) -> str | None:
        """A short digest of the interventions, separating ``--use_cache`` files."""
        interventions = self.interventions
        return None if interventions is None else spec_digest(interventions)

    def _model_call(
        self,
        inps: torch.Tensor,
        attn_mask: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
    ) -> torch.Tensor:
        with self._intervention():
            return super()._model_call(inps, attn_mask=attn_mask, labels=labels)

    def _model_generate(
        self, context: torch.Tensor, max_length: int, stop: list[str], **generation_kwargs: Any
    ) -> torch.Tensor:
        if "streamer" not in generation_kwargs:  # tokens as they come (lm-eval counts batches)
            from harness_ext.progress import TokenProgress

            generation_kwargs["streamer"] = TokenProgress(
                context.shape[0], max_length - context.shape[1]
            )
        guard = None
        if self._spec is not None:  # only intervened runs pay for the check (no sync per token)
            guard = FiniteScores()
            given = generation_kwargs.get("logits_processor") or []
            generation_kwargs["logits_processor"] = LogitsProcessorList([*given, guard])
        try:
            with self._intervention():
                output = super()._model_generate(context, max_length, stop, **generation_kwargs)
        except RuntimeError as error:
            if NON_FINITE_SAMPLING not in str(error):
                raise
            raise SparksError(self._non_finite_message()) from error
        if guard is not None and not guard.all_finite():
            raise SparksError(self._non_finite_message())
        self._check_applied()
        if isinstance(self.cache_hook, FactsRecorder):  # inside generate_until
            self.cache_hook.add_batch(self._generation_facts(output, context, max_length, stop))
        return output

    def _check_applied(self) -> None:
        """Fail when an intervened layer ran in fewer forward passes than the model."""
        record = self._intervened.applied_steps() if self._intervened is not None else None
        if record is None:
            return
        steps, layers = record["engine_steps"], record["layers"]
        if not isinstance(layers, dict) or any(count != steps for count in layers.values()):
            raise SparksError(
                f"interventions were skipped: the model ran {steps} forward passes, but the "
                f"intervened layers were applied in {layers}; the run is stopped."
            )

    def _generation_facts(
        self, output: torch.Tensor, context: torch.Tensor, max_length: int, stop: list[str] | None
    ) -> list[dict[str, Any]]:
        from harness_ext.generation_facts import generation_facts

        eos = {
            self.tokenizer.eos_token_id,
            self.eot_token_id,
            *_as_list(getattr(self._model.generation_config, "eos_token_id", None)),
        }
        return generation_facts(
            output.tolist(),
            context.shape[1],
            max_length - context.shape[1],
            eos - {None},
            stop or [],
            lambda tokens: self.tok_decode(tokens, skip_special_tokens=False),
        )

    def _non_finite_message(self) -> str:
        dtype = str(self.model.dtype).removeprefix("torch.")
        if self._spec is None:
            return (
                f"the model's next-token scores became inf or NaN during generation "
                f"(dtype {dtype}, no interventions): the model overflows in this dtype. "
                f"Try dtype=float32 or dtype=bfloat16."
            )
        return (
            f"the model's next-token scores became inf or NaN during generation with the "
            f"interventions {self.interventions!r} (dtype {dtype}): an intervention makes "
            f"the heads' outputs overflow. Use smaller factors (a scale factor near 1, e.g. "
            f"0.5 or 1.3) or a smaller noise STD, and compare with a run without "
            f"interventions."
        )

    def apply_chat_template(
        self, chat_history: list[dict[str, str]], add_generation_prompt: bool = True
    ) -> str:
        """HFLM's, noting that lm-eval applies the chat template (``--apply_chat_template``)."""
        self._chat_template_applied = True
        return super().apply_chat_template(chat_history, add_generation_prompt)

    def chat_template(self, chat_template: bool | str = False) -> str | None:
        """HFLM's; lm-eval calls it with a true value only when the template is applied (before
        any request is built: a model without a template is refused here, in one line)."""
        if chat_template:
            self._chat_template_applied = True
            if chat_template is True and not getattr(self.tokenizer, "chat_template", None):
                raise SparksError(
                    f"--apply_chat_template: the model {self.pretrained_name()} has no chat "
                    f"template (its tokenizer defines none); leave --apply_chat_template out "
                    f"for a base model, or use a model whose tokenizer has one"
                )
        return super().chat_template(chat_template)

    def pretrained_name(self) -> str:
        """The model as the user named it (the embedded model by its name)."""
        return "SmolLM2-135M-Instruct (embedded)" if self._embedded else str(self.pretrained)

    def generate_until(self, requests: list[Instance], disable_tqdm: bool = False) -> list[str]:
        """HFLM's generate_until, with the token budget fitted to the model's context, and the
        generation facts (``harness_ext.generation_facts``) and interventions written into each
        request's logged generation arguments."""
        from harness_ext.generation_facts import generate_recording_facts

        self._warn_without_chat_template()
        return generate_recording_facts(
            self,
            requests,
            lambda: self._generate_fitted(requests, disable_tqdm),
            interventions=self.interventions,
        )

    def _generate_fitted(self, requests: list[Instance], disable_tqdm: bool) -> list[str]:
        self._fit_generation_budget(requests)
        outputs: list[str] = super().generate_until(requests, disable_tqdm=disable_tqdm)
        return outputs

    def _fit_generation_budget(self, requests: list[Instance]) -> None:
        """Lower ``max_gen_toks`` where prompt + budget exceed the model's context.

        HFLM stops with an assertion when ``max_gen_toks`` (32768 in the paper's setting) is
        not below ``max_length``; a model with a shorter context (the embedded one has 8192)
        should still run, generating as much as fits. One budget per group of identical
        generation settings, so that lm-eval's batching by settings is unchanged.
        """
        groups: dict[str, list] = {}
        for request in requests:
            context, gen_kwargs = request.args
            groups.setdefault(repr(sorted(gen_kwargs.items(), key=str)), []).append(request)
        for group in groups.values():
            wanted = int(group[0].args[1].get("max_gen_toks", self.max_gen_toks))
            longest = max(len(self.tok_encode(request.args[0])) for request in group)
            budget = min(wanted, self.max_length - longest - 1)
            if budget < wanted:
                if budget < 1:
                    raise SparksError(
                        f"a prompt of {longest} tokens leaves no room to generate "
                        f"within max_length={self.max_length}; raise max_length."
                    )
                logger.warning(
                    "max_gen_toks=%d does not fit in this model's context "
                    "(max_length=%d, longest prompt %d tokens): generating at most "
                    "%d tokens",
                    wanted,
                    self.max_length,
                    longest,
                    budget,
                )
                for request in group:
                    request.args[1]["max_gen_toks"] = budget

    def _warn_without_chat_template(self) -> None:
        """Warn once when an instruct model with a chat template gets raw prompts.

        lm-eval calls ``apply_chat_template`` on the LM while it builds the requests, before
        any generation, only with ``--apply_chat_template``. Without it an instruct model sees
        bare text and often answers nothing (the embedded model: 10 of 11 responses empty).
        """
        if self._chat_template_applied or self._chat_template_warned:
            return
        if not getattr(self.tokenizer, "chat_template", None):
            return
        name = (
            self.pretrained
            if isinstance(self.pretrained, str)
            else str(getattr(self._model.config, "_name_or_path", ""))
        )
        if not self._embedded and not any(hint in name.lower() for hint in INSTRUCT_HINTS):
            return
        self._chat_template_warned = True
        what = "the embedded instruct model" if self._embedded else f"{name} (an instruct model)"
        logger.warning(
            "sparks: %s has a chat template, but the prompts are sent without it, so "
            "responses are often empty or off-task. Add --apply_chat_template "
            "(apply_chat_template=True in simple_evaluate).",
            what,
        )

    def _intervention(self) -> AbstractContextManager[Any]:
        return self._intervened if self._intervened is not None else contextlib.nullcontext()

    def get_model_info(self) -> dict:
        """HFLM's model info, plus the concrete interventions, the random control (if any) and
        plugin versions."""
        info = super().get_model_info()
        from harness_ext import __version__
        from harness_ext.formats.results import SparksRecord

        record = SparksRecord(
            version=__version__,
            backend="transformers",
            interventions=self.interventions,
            random_control=self.random_control,
            intervention_mode=self._intervened.mode if self._intervened is not None else None,
            plugins=_plugin_versions() if self._spec is not None else {},
            applied_steps=(
                self._intervened.applied_steps() if self._intervened is not None else None
            ),
        )
        return {**info, **record.to_config()}


class FiniteScores(LogitsProcessor):
    """Notes, without a device sync, whether every next-token score row stayed finite.

    Greedy decoding over NaN scores raises nothing (argmax picks a NaN's index), so a NaN
    would give silently wrong text. A row's maximum is NaN or inf exactly when the row holds
    a NaN or a +inf, or is all -inf; -inf entries alone (tokens masked by top-p/top-k) pass.
    """

    def __init__(self) -> None:
        self._finite: torch.Tensor | None = None

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        finite = torch.isfinite(scores.amax(dim=-1)).all()
        self._finite = finite if self._finite is None else self._finite & finite
        return scores

    def all_finite(self) -> bool:
        """True when no step met a NaN, +inf or all -inf row (one sync, after generation)."""
        return self._finite is None or bool(self._finite)


def choose_device(device: str | None) -> str:
    """``device`` when given; otherwise cuda if available, else cpu (as lm_eval's CLI does)."""
    if not device:
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise SparksError(
            "device=cuda, but torch finds no CUDA device on this machine. Pass "
            "device=cpu, or leave device out to choose automatically."
        )
    return device


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple, set)) else [value]


def _parse_interventions(text: str | None) -> InterventionSpec | None:
    """Parse the spec before any model work, so a typo fails in milliseconds.

    Only ``None`` (no ``interventions=``, or lm-eval's ``interventions=None``) is the baseline;
    an empty value is refused by the parser, since a script that meant heads would otherwise
    run the baseline without a word."""
    if text is None:
        return None
    from harness_ext.interventions.spec import parse_spec

    return parse_spec(str(text))


def _config_before_loading(
    spec: InterventionSpec | None, pretrained: Any, hflm_args: dict[str, Any]
) -> Any:
    """The model's config, read before any weights load so that heads are checked (and a random
    control drawn) first; None without interventions or for a model object."""
    if spec is None or not isinstance(pretrained, str):
        return None
    return _load_config(pretrained, hflm_args)


def _plugin_versions() -> dict[str, str | None]:
    from harness_ext.plugins import describe_plugins

    return {info.name: info.version for info in describe_plugins() if info.interventions}
