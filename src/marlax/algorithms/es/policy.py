"""A trained ES run's policy as PPO's `TrainedPolicy` (the same actor network), and the run
loader `trained.py` registers for `marlax enjoy` and `marlax eval`.

    trained = restore_es_run(folder, config, step=None)
    policy = es_policy(trained, seed_index=0)          # plays es.deploy: the mean or the best
    actions, memory = policy.act(key, obs, env_state, policy.initial_memory(), reset)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

import jax

from marlax.algorithms.common.checkpointed import restore_checkpoint
from marlax.algorithms.es.trainer import ESTrainer, ESTrainState
from marlax.algorithms.ppo.policy import TrainedPolicy, select_task
from marlax.algorithms.ppo.tasks import TaskLayout
from marlax.config import TrainConfig
from marlax.runs.folder import RunFolder
from marlax.validate import require_bool, require_int

if TYPE_CHECKING:
    from marlax.algorithms.trained import PolicyRequest, RunPolicy


@dataclass(frozen=True)
class TrainedESRun:
    """An ES run's config, trainer and a saved state (leading seed axis S)."""

    folder: RunFolder
    config: TrainConfig
    trainer: ESTrainer
    state: ESTrainState
    update: int
    env_steps: int

    @property
    def num_seeds(self) -> int:
        return int(self.state.generation.shape[0])


def restore_es_run(folder: RunFolder, config: TrainConfig, step: int | None) -> TrainedESRun:
    """Checkpoint `step` (None = the latest) of the ES run in `folder`.

    Raises:
        ConfigError: the run has no checkpoint, or none at `step`.
    """
    trainer = ESTrainer(config)
    state, step, env_steps = restore_checkpoint(folder, trainer, step)
    return TrainedESRun(folder, config, trainer, state, step, env_steps)


def es_policy(trained: TrainedESRun, seed_index: int = 0, *, sample: bool = False) -> TrainedPolicy:
    """Seed `seed_index`'s deployed parameters (`es.deploy`) as a `TrainedPolicy`.

    Args:
        sample: sample actions instead of playing the mode (ES trained on the mode).

    Raises:
        ConfigError: `seed_index` is not in [0, S).
    """
    seed_index = require_int("seed_index", seed_index, 0, trained.num_seeds - 1)
    require_bool("sample", sample)
    setup = trained.trainer.setup
    flat = trained.trainer.deployed(trained.state)[seed_index]
    actor_params = jax.device_put(setup.player.solution.actor_params(flat))
    return TrainedPolicy(actor_params, setup.networks, setup.player.layout, 0, sample)


def load_es_policies(
    folder: RunFolder, config: TrainConfig, request: PolicyRequest
) -> tuple[RunPolicy, ...]:
    """`PolicyLoader` of ES runs: each requested seed's deployed policy."""
    # trained.py registers this loader, so importing it at the top would be circular
    from marlax.algorithms.trained import RunPolicy, seed_indices_of, variant_env

    trained = restore_es_run(folder, config, request.checkpoint)
    task_config = config.envs[0]
    select_task((task_config.name,), request.selector)
    layout = trained.trainer.setup.player.layout
    task = layout.tasks[0]
    env = variant_env(task_config.name, task_config.params, request.env_overrides, task.env)
    # the policy masks actions and reads obs through the layout: give it the variant env
    variant_layout = TaskLayout((dataclasses.replace(task, env=env),))
    return tuple(
        RunPolicy(
            folder=folder,
            algorithm="es",
            env=env,
            policy=es_policy(trained, seed_index, sample=request.sample).replace(
                layout=variant_layout
            ),
            task=task_config.name,
            env_name=task_config.name,
            update=trained.update,
            env_steps=trained.env_steps,
            seed_index=seed_index,
            num_seeds=trained.num_seeds,
        )
        for seed_index in seed_indices_of(request, trained.num_seeds)
    )
