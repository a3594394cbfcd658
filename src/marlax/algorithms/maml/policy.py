"""A trained MAML run: its meta-learned (unadapted) policy for `marlax enjoy`/`eval`, and the
run itself for test-time adaptation.

    trained = load_maml_run(Path("runs"), "bold-otter-07")      # latest checkpoint
    theta = trained.actor_params(seed_index=0)                  # no seed axis
    policy = maml_policy(trained, seed_index=0)                 # a MemoryPolicy
    actions, memory = policy.act(key, obs, env_state, policy.initial_memory(), reset)

The policy is PPO's `TrainedPolicy` on the same actor network, with the continuous actions
scaled from the policy's [-1, 1] units to the env's box when the run trained that way
(`maml.normalize_actions`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jax
from flax import struct

from marlax.algorithms.common.checkpointed import restore_checkpoint
from marlax.algorithms.maml.meta import InnerLoop
from marlax.algorithms.maml.rollout import ActionScale
from marlax.algorithms.maml.trainer import MAMLTrainer, MAMLTrainState
from marlax.algorithms.ppo.policy import TrainedPolicy, select_task
from marlax.algorithms.ppo.tasks import TaskLayout
from marlax.config import TrainConfig, load_from_dict
from marlax.runs.folder import RunFolder
from marlax.validate import require, require_bool, require_int

if TYPE_CHECKING:
    from marlax.algorithms.trained import PolicyRequest, RunPolicy


@struct.dataclass
class MAMLPolicy:
    """`TrainedPolicy` whose actions are mapped to the env's units (`ActionScale`)."""

    policy: TrainedPolicy
    action_scale: ActionScale = struct.field(pytree_node=False)

    def initial_memory(self) -> Any:
        return self.policy.initial_memory()

    def act(
        self, key: jax.Array, obs: jax.Array, state: Any, memory: Any, reset: jax.Array
    ) -> tuple[jax.Array, Any]:
        """Actions f32[N, A] in env units (or i32[N]) and the memory (see `MemoryPolicy`)."""
        actions, memory = self.policy.act(key, obs, state, memory, reset)
        return self.action_scale.env_actions(actions), memory

    def action_scores(
        self, obs: jax.Array, state: Any, memory: Any, reset: jax.Array
    ) -> tuple[jax.Array, Any]:
        """Log-probabilities f32[N, A], or the Gaussian mean in env units (`ScoredPolicy`)."""
        scores, memory = self.policy.action_scores(obs, state, memory, reset)
        if hasattr(self.policy.layout.action_space, "n"):
            return scores, memory
        return self.action_scale.env_actions(scores), memory


@dataclass(frozen=True)
class TrainedMAMLRun:
    """A MAML run's config, trainer and a saved state (leading seed axis S)."""

    folder: RunFolder
    config: TrainConfig
    trainer: MAMLTrainer
    state: MAMLTrainState
    update: int
    env_steps: int

    @property
    def num_seeds(self) -> int:
        return int(self.state.update.shape[0])

    @property
    def env(self) -> Any:
        """The task family it was meta-trained on."""
        return self.trainer.setup.env

    @property
    def inner(self) -> InnerLoop:
        """The inner loop it was meta-trained with (K, inner_lr, baseline, ...)."""
        return self.trainer.setup.inner

    def actor_params(self, seed_index: int = 0) -> Any:
        """Seed `seed_index`'s meta-learned parameters theta (ConfigError out of range)."""
        seed_index = require_int("seed_index", seed_index, 0, self.num_seeds - 1)
        return jax.tree.map(lambda leaf: leaf[seed_index], self.state.params)


def restore_maml_run(folder: RunFolder, config: TrainConfig, step: int | None) -> TrainedMAMLRun:
    """Checkpoint `step` (None = the latest) of the MAML run in `folder` (ConfigError if none)."""
    trainer = MAMLTrainer(config)
    state, step, env_steps = restore_checkpoint(folder, trainer, step)
    return TrainedMAMLRun(folder, config, trainer, state, step, env_steps)


def load_maml_run(runs_dir: Path, name: str, checkpoint: int | None = None) -> TrainedMAMLRun:
    """Run `name` under `runs_dir` (its checkpoint `checkpoint`, None = the latest).

    Raises:
        ConfigError: no such run or checkpoint, or a run of another learner.
    """
    folder = RunFolder.open(Path(runs_dir), name)
    config = load_from_dict(folder.read_config())
    require(config.algorithm == "maml", "run", name, f"a maml run, not {config.algorithm}")
    return restore_maml_run(folder, config, checkpoint)


def maml_policy(trained: TrainedMAMLRun, seed_index: int = 0, *, sample: bool = False):
    """Seed `seed_index`'s meta-learned policy (before any adaptation) as a `MAMLPolicy`."""
    require_bool("sample", sample)
    setup = trained.trainer.setup
    actor_params = jax.device_put(trained.actor_params(seed_index))
    policy = TrainedPolicy(actor_params, setup.networks, setup.layout, 0, sample)
    return MAMLPolicy(policy, setup.inner.sampler.action_scale)


def load_maml_policies(
    folder: RunFolder, config: TrainConfig, request: PolicyRequest
) -> tuple[RunPolicy, ...]:
    """`PolicyLoader` of MAML runs: each requested seed's unadapted meta-policy."""
    # trained.py registers this loader, so importing it at the top would be circular
    from marlax.algorithms.trained import RunPolicy, seed_indices_of, variant_env

    trained = restore_maml_run(folder, config, request.checkpoint)
    task_config = config.envs[0]
    select_task((task_config.name,), request.selector)
    layout = trained.trainer.setup.layout
    task = layout.tasks[0]
    env = variant_env(task_config.name, task_config.params, request.env_overrides, task.env)
    variant_layout = TaskLayout((dataclasses.replace(task, env=env),))
    policies = []
    for seed_index in seed_indices_of(request, trained.num_seeds):
        policy = maml_policy(trained, seed_index, sample=request.sample)
        policy = policy.replace(policy=policy.policy.replace(layout=variant_layout))
        policies.append(
            RunPolicy(
                folder=folder,
                algorithm="maml",
                env=env,
                policy=policy,
                task=task_config.name,
                env_name=task_config.name,
                update=trained.update,
                env_steps=trained.env_steps,
                seed_index=seed_index,
                num_seeds=trained.num_seeds,
            )
        )
    return tuple(policies)
