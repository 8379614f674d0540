"""The vLLM worker that applies a sparks intervention plan inside the compiled model.

``sparks-vllm`` starts vLLM with ``worker_cls="harness_ext.vllm_worker.SparksWorker"`` and
``additional_config={"sparks_plan": {"path": ..., "digest": ...}}``. In every worker process:

1. ``load_model`` loads the weights as vLLM does, then loads the plan and adds a forward
   pre-hook on each intervened layer's ``self_attn.o_proj`` that calls that layer's
   :class:`~harness_ext.interventions.flat.FlatHeads`. This happens before vLLM's first forward
   pass, so torch.compile (and CUDA graph capture on a GPU) trace the interventions into the
   graph that runs every step. A hook added after that point would be silently skipped.
2. ``compile_or_warm_up_model`` runs vLLM's warm-up, then sets every layer's in-graph
   ``applied`` counter back to zero, so the counters count real steps only.
3. ``execute_model`` counts the steps that run the model (any scheduled token).
4. :meth:`SparksWorkerMixin.sparks_applied_steps` (called through ``LLM.collective_rpc``)
   returns both counts; ``sparks-vllm`` fails the run unless every layer's count equals the
   steps.

The compile cache: the plan's digest is in ``additional_config``, which vLLM hashes into its
compile-cache key, so a cached graph is only reused for the very same plan.

The base class is the platform's worker (CPU or GPU), chosen when the class is first asked
for: this module imports vLLM only then.
"""

from __future__ import annotations

from typing import Any

__all__ = ["PLAN_KEY", "SparksWorkerMixin"]

PLAN_KEY = "sparks_plan"


class SparksWorkerMixin:
    """The sparks additions to a vLLM worker (mixed in before the platform's worker class)."""

    vllm_config: Any
    model_runner: Any

    def load_model(self, *args: Any, **kwargs: Any) -> None:
        super().load_model(*args, **kwargs)  # type: ignore[misc]
        self._sparks_steps = 0
        self._sparks_layers: dict[int, Any] = {}
        settings = (self.vllm_config.additional_config or {}).get(PLAN_KEY)
        if settings:
            self._sparks_layers = install_plan(
                self.model_runner.get_model(), settings["path"], settings["digest"]
            )

    def compile_or_warm_up_model(self, *args: Any, **kwargs: Any) -> Any:
        result = super().compile_or_warm_up_model(*args, **kwargs)  # type: ignore[misc]
        self.sparks_reset_steps()
        return result

    def execute_model(self, scheduler_output: Any, *args: Any, **kwargs: Any) -> Any:
        if getattr(scheduler_output, "total_num_scheduled_tokens", 0) > 0:
            self._sparks_steps += 1
        return super().execute_model(scheduler_output, *args, **kwargs)  # type: ignore[misc]

    def sparks_reset_steps(self) -> None:
        """Zero the step counts (after warm-up, and between runs if the caller wants)."""
        self._sparks_steps = 0
        for heads in self._sparks_layers.values():
            heads.applied.zero_()

    def sparks_applied_steps(self) -> dict[str, Any]:
        """``{"engine_steps": N, "layers": {layer: steps applied}}`` since the last reset."""
        return {
            "engine_steps": self._sparks_steps,
            "layers": {layer: int(heads.applied) for layer, heads in self._sparks_layers.items()},
        }


def install_plan(model: Any, path: str, digest: str) -> dict[int, Any]:
    """Load the plan and hook each intervened layer's ``o_proj`` of ``model``; ``{layer: FlatHeads}``."""
    from harness_ext.errors import SparksError
    from harness_ext.hooks import add_input_hook
    from harness_ext.interventions.flat import flat_layers
    from harness_ext.interventions.plan import load_plan

    plan = load_plan(path, digest)
    model = getattr(model, "unwrap", lambda: model)()
    device = next(model.parameters()).device
    layers: dict[int, Any] = {}
    for module_path, heads in flat_layers(plan.items).items():
        try:
            o_proj = model.get_submodule(module_path)
        except AttributeError:
            raise SparksError(
                f"the vLLM model {type(model).__name__} has no module {module_path!r}: "
                f"sparks' architecture table does not fit it"
            ) from None
        module = on_this_rank(heads, o_proj, module_path)
        module.to(device)
        o_proj.sparks_heads = module  # a submodule: compiled with the model, moved with it
        add_input_hook(o_proj, module, module_path)
        layers[heads.layer] = heads
    return layers


def on_this_rank(heads: Any, o_proj: Any, module_path: str) -> Any:
    """``heads`` as this worker applies them: whole, or under tensor parallelism the slice of
    this rank's columns of ``o_proj``'s input (:class:`~harness_ext.interventions.flat_ranks.RankSlice`)."""
    from harness_ext.errors import SparksError
    from harness_ext.interventions.flat_ranks import RankSlice

    total = heads.n_heads * heads.head_dim
    width = getattr(o_proj, "input_size_per_partition", None) or total
    ranks = int(getattr(o_proj, "tp_size", 1) or 1)
    if width == total and ranks == 1:
        return heads
    if width * ranks != total or width % heads.head_dim:
        raise SparksError(
            f"{module_path} takes {width} inputs on each of {ranks} tensor-parallel ranks, "
            f"which does not split {heads.n_heads} heads x {heads.head_dim} by whole heads"
        )
    return RankSlice(heads, rank=int(o_proj.tp_rank), ranks=ranks)


def __getattr__(name: str) -> Any:
    if name == "SparksWorker":
        cls = _worker_class()
        globals()[name] = cls
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _worker_class() -> type:
    from vllm.platforms import current_platform

    if current_platform.is_cpu():
        from vllm.v1.worker.cpu_worker import CPUWorker as base
    else:
        from vllm.v1.worker.gpu_worker import Worker as base
    return type("SparksWorker", (SparksWorkerMixin, base), {"__module__": __name__})
