"""Data parallelism for ``sparks-vllm``: one vLLM engine per replica, kept alive for the run.

lm-eval's ``VLLM`` with ``data_parallel_size = N`` starts N Ray tasks inside *every* generate
call, each building a whole engine (minutes) and dropping it, and it asks Ray for
``tensor_parallel_size`` GPUs per replica, so on a machine without GPUs it waits forever ("No
available node types can fulfill resource request", never an error). :class:`Replicas` keeps N
persistent Ray actors instead, each holding one engine built with the run's engine arguments
(so each applies the same intervention plan, through the same sparks worker), and dispatches
every call's requests to them interleaved, as lm-eval does.

Resources: on a machine with GPUs each actor reserves ``tensor_parallel_size`` GPUs (Ray sets
``CUDA_VISIBLE_DEVICES``); without GPUs it reserves CPUs instead, and, when no Ray cluster is
named by ``RAY_ADDRESS``, a local one is started with the CPUs this process may use. A replica
then needs ``VLLM_CPU_OMP_THREADS_BIND=nobind`` (vLLM-CPU's default binding fails beside a second
engine), set in its environment unless the user set it.

Each actor returns, with its outputs, its workers' applied-step counts
(:meth:`~harness_ext.vllm_worker.SparksWorkerMixin.sparks_applied_steps`); ``sparks-vllm``
checks each replica's, and records their sum.
"""

from __future__ import annotations

import os
from typing import Any

from harness_ext.errors import SparksError

__all__ = ["Replicas", "replica_resources"]

# lm-eval's dp_replica drops these too: the driver's VLLM_DP_* must not reach an inner engine
_DRIVER_ONLY = (
    "VLLM_DP_RANK",
    "VLLM_DP_RANK_LOCAL",
    "VLLM_DP_SIZE",
    "VLLM_DP_MASTER_IP",
    "VLLM_DP_MASTER_PORT",
)


def replica_resources(replicas: int, ranks: int, gpus: int, cpus: int) -> dict[str, Any]:
    """The Ray actor options of each replica: ``ranks`` GPUs where the machine has them, else
    ``ranks`` CPUs with vLLM-CPU's core binding passed on (the driver's, or ``nobind``); a
    SparksError when the machine cannot hold ``replicas`` of them."""
    if gpus:
        if gpus < replicas * ranks:
            raise SparksError(
                f"data_parallel_size={replicas} x tensor_parallel_size={ranks} needs "
                f"{replicas * ranks} GPUs, and Ray sees {gpus}: lower data_parallel_size"
            )
        return {"num_gpus": ranks}
    if cpus < replicas * ranks:
        raise SparksError(
            f"data_parallel_size={replicas} x tensor_parallel_size={ranks} on CPUs needs "
            f"{replicas * ranks} cores, and Ray sees {cpus}: lower data_parallel_size"
        )
    bind = os.environ.get("VLLM_CPU_OMP_THREADS_BIND", "nobind")
    return {"num_cpus": ranks, "runtime_env": {"env_vars": {"VLLM_CPU_OMP_THREADS_BIND": bind}}}


class Replicas:
    """``count`` persistent engines, each built from ``engine_args``, started on first use."""

    def __init__(
        self, count: int, ranks: int, engine_args: dict[str, Any], *, counting: bool
    ) -> None:
        self.count, self.ranks, self.counting = count, ranks, counting
        self.engine_args = {
            key: value
            for key, value in engine_args.items()
            if key != "distributed_executor_backend"  # nested Ray placement groups deadlock
        }
        self._actors: list[Any] = []

    def generate(
        self, requests: list[list[int]], sampling_params: list[Any], lora_request: Any
    ) -> tuple[list[Any], list[list[dict[str, Any]]]]:
        """Outputs in request order, and each replica's workers' applied-step counts since
        its start (empty lists when not ``counting``)."""
        import ray
        from lm_eval.models.utils import undistribute
        from more_itertools import distribute

        actors = self._started()
        shares = [list(share) for share in distribute(self.count, requests)]
        params = [list(share) for share in distribute(self.count, sampling_params)]
        calls = [  # every replica, even one without requests: its counts are cumulative
            actor.generate.remote(share, share_params, lora_request, self.counting)
            for actor, share, share_params in zip(actors, shares, params)
        ]
        replies = ray.get(calls)
        outputs = [done for done, _ in replies]
        counts = [count for _, count in replies]
        return undistribute(outputs), counts

    def shutdown(self) -> None:
        """Stop the engines (their Ray actors)."""
        import ray

        for actor in self._actors:
            ray.kill(actor)
        self._actors = []

    def _started(self) -> list[Any]:
        if self._actors:
            return self._actors
        import ray

        if not ray.is_initialized():
            if os.environ.get("RAY_ADDRESS"):
                ray.init()
            else:
                ray.init(num_cpus=len(os.sched_getaffinity(0)), include_dashboard=False)
        available = ray.cluster_resources()
        options = replica_resources(
            self.count, self.ranks, int(available.get("GPU", 0)), int(available.get("CPU", 0))
        )
        actor_class = ray.remote(**options)(_Replica)
        self._actors = [actor_class.remote(self.engine_args) for _ in range(self.count)]
        return self._actors


class _Replica:
    """One engine in a Ray actor (its process lives as long as the run)."""

    def __init__(self, engine_args: dict[str, Any]) -> None:
        for name in _DRIVER_ONLY:
            os.environ.pop(name, None)
        from vllm import LLM

        self.llm = LLM(**engine_args)

    def generate(
        self,
        requests: list[list[int]],
        sampling_params: list[Any],
        lora_request: Any,
        counting: bool,
    ) -> tuple[list[Any], list[dict[str, Any]]]:
        from vllm.inputs import TokensPrompt

        outputs = []
        if requests:
            outputs = self.llm.generate(
                [TokensPrompt(prompt_token_ids=request) for request in requests],
                sampling_params=sampling_params,
                lora_request=lora_request,
                use_tqdm=False,
            )
        counts = self.llm.collective_rpc("sparks_applied_steps") if counting else []
        return outputs, counts
