"""What sparks-vllm decides before any engine starts about data and tensor parallelism."""

from __future__ import annotations

import pytest

from harness_ext.errors import SparksError
from harness_ext.vllm_replicas import replica_resources


def test_replicas_reserve_gpus_where_the_machine_has_them():
    assert replica_resources(2, 2, gpus=4, cpus=16) == {"num_gpus": 2}


@pytest.mark.parametrize("bind", [None, "0|1"])
def test_replicas_reserve_cores_on_a_machine_without_gpus(bind, monkeypatch):
    """lm-eval asks Ray for GPUs and waits forever without them; sparks reserves cores, and
    passes the driver's core binding on (``nobind`` without one: vLLM's default fails on a
    one-NUMA-node machine)."""
    if bind is None:
        monkeypatch.delenv("VLLM_CPU_OMP_THREADS_BIND", raising=False)
    else:
        monkeypatch.setenv("VLLM_CPU_OMP_THREADS_BIND", bind)
    options = replica_resources(2, 1, gpus=0, cpus=2)
    env = {"VLLM_CPU_OMP_THREADS_BIND": bind or "nobind"}
    assert options == {"num_cpus": 1, "runtime_env": {"env_vars": env}}


@pytest.mark.parametrize(
    "gpus, cpus, problem",
    [(2, 16, "needs 4 GPUs, and Ray sees 2"), (0, 3, "needs 4 cores, and Ray sees 3")],
)
def test_too_few_resources_are_refused_at_once(gpus, cpus, problem):
    with pytest.raises(SparksError, match=problem):
        replica_resources(2, 2, gpus=gpus, cpus=cpus)
