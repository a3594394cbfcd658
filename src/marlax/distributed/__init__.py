"""Multi-process training on `jax.distributed`: who this process is, and a local launcher.

    spec = process_spec(coordinator="10.0.0.1:7777", num_processes=2, process_id=0)
    initialize(spec)                     # once, before any JAX computation
    launch_local(2, ["train", "-c", "configs/simple_spread.json"])   # P processes here

Training itself needs nothing more: the PPO trainer meshes over every process's devices
(`jax.devices()`) once `jax.process_count() > 1`, and only process 0 writes the run's files.
"""

from marlax.distributed.launch import LocalCluster, launch_local
from marlax.distributed.process import (
    ENV_COORDINATOR,
    ENV_NUM_PROCESSES,
    ENV_PROCESS_ID,
    ProcessSpec,
    initialize,
    is_primary,
    process_spec,
)

__all__ = [
    "ENV_COORDINATOR",
    "ENV_NUM_PROCESSES",
    "ENV_PROCESS_ID",
    "LocalCluster",
    "ProcessSpec",
    "initialize",
    "is_primary",
    "launch_local",
    "process_spec",
]
