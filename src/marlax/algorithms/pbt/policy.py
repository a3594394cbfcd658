"""A PBT run's members as PPO policies, best first (`POLICY_LOADERS["pbt"]`).

    run_policy = load_run_policy(Path("runs"), "bold-otter-07")      # the best member
    every_member = load_run_policies(Path("runs"), "bold-otter-07", seed_indices=None)

Seed index k of a PBT run is its k-th best member at the checkpoint: members ranked by the
fitness of their last whole interval (mean return), NaN last, ties by member index. So
`marlax enjoy` and `marlax eval` play the best member by default; `RunPolicy.seed_index`
is that rank.
"""

from __future__ import annotations

import jax
import numpy as np

from marlax.algorithms.common.checkpointed import restore_checkpoint
from marlax.algorithms.pbt.trainer import PBTTrainer
from marlax.algorithms.ppo.restore import TrainedRun
from marlax.config import TrainConfig
from marlax.runs.folder import RunFolder


def best_first(fitness: np.ndarray) -> np.ndarray:
    """i64[S]: member indices from the highest fitness to the lowest (NaN last, ties by index)."""
    ranked = np.where(np.isnan(fitness), -np.inf, fitness)
    return np.lexsort((np.arange(len(fitness)), -ranked))


def restore_pbt_run(folder: RunFolder, config: TrainConfig, step: int | None) -> TrainedRun:
    """Checkpoint `step` (None = the latest) of a PBT run as a PPO `TrainedRun` whose seed
    axis holds the members best first.

    Raises:
        ConfigError: the run has no checkpoint, or none at `step`.
    """
    trainer = PBTTrainer(config, devices=jax.local_devices()[:1])
    state, step, env_steps = restore_checkpoint(folder, trainer, step)
    order = best_first(np.asarray(state.fitness))
    members = jax.tree.map(lambda leaf: leaf[order], state.train)
    return TrainedRun(folder, config, trainer.ppo, members, step, env_steps)


def load_pbt_policies(folder: RunFolder, config: TrainConfig, request: object) -> tuple:
    """`PolicyLoader` of PBT runs: PPO's, on the members best first (module docstring)."""
    # imported here: marlax.algorithms.trained imports this module for its registry
    from marlax.algorithms.trained import ppo_run_policies

    return ppo_run_policies(restore_pbt_run(folder, config, request.checkpoint), request, "pbt")
