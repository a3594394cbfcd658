"""A trained MADDPG / SAC actor as a `MemoryPolicy` (no memory), for `marlax enjoy` and
`marlax eval`; and the run loader `trained.py` registers.

    trained = restore_off_policy_run(folder, config, step=None)
    policy = actor_policy(trained, seed_index=0)              # deterministic
    actions, memory = policy.act(key, obs, env_state, policy.initial_memory(), reset)

Deterministic play is MADDPG's mu(o) or SAC's tanh(mean); `sample=True` plays MADDPG's
actor with Gaussian noise at the run's `noise_std_finish`, or samples SAC's squashed
Gaussian. Actions are returned in the env's box. Discrete MADDPG plays the legal action with
the largest logit (i32[N]; `env.action_mask` of the state it is given), or with `sample=True`
a Gumbel-max sample of its categorical distribution, as in training.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
from flax import struct

from marlax.algorithms.common.checkpointed import restore_checkpoint
from marlax.algorithms.off_policy.gumbel import masked_logits
from marlax.algorithms.off_policy.networks import ActorCriticNetworks
from marlax.algorithms.off_policy.rollout import Exploration, explore_actions
from marlax.algorithms.off_policy.trainer import OffPolicyTrainer
from marlax.algorithms.off_policy.types import OffPolicyTrainState
from marlax.algorithms.ppo.policy import select_task
from marlax.config import TrainConfig
from marlax.envs.base import Env
from marlax.runs.folder import RunFolder
from marlax.validate import require_int

if TYPE_CHECKING:
    from marlax.algorithms.trained import PolicyRequest, RunPolicy


@struct.dataclass
class ActorPolicy:
    """The shared actor of one seed acting for every agent of one env (a pytree)."""

    actor_params: Any
    networks: ActorCriticNetworks = struct.field(pytree_node=False)
    sample: bool = struct.field(pytree_node=False, default=False)
    noise_std: float = struct.field(pytree_node=False, default=0.0)
    env: Env | None = struct.field(pytree_node=False, default=None)
    """Discrete actions: the env whose `action_mask(state)` says what is legal (None: all)."""

    def initial_memory(self) -> tuple:
        """Feed-forward actors keep no memory."""
        return ()

    def _legal(self, obs: jax.Array, state: Any) -> jax.Array:
        """bool[N, A]: the env's mask (discrete with an env), else all True."""
        if self.networks.discrete and self.env is not None:
            return self.env.action_mask(state)
        return self.networks.all_legal(obs)

    def action_scores(
        self, obs: jax.Array, state: Any, memory: tuple, reset: jax.Array
    ) -> tuple[jax.Array, tuple]:
        """(scores f32[N, A], memory): what an ensemble combines. Continuous: the greedy
        actions in the env's box; discrete: log softmax of the legal logits (illegal -1e9)."""
        del reset
        if self.networks.discrete:
            logits = self.networks.actor_output(self.actor_params, obs)
            legal = self._legal(obs, state)
            scores = jax.nn.log_softmax(masked_logits(logits, legal), axis=-1)
            return jnp.where(legal, scores, -1e9), memory
        return self.networks.to_env(self.networks.greedy_actions(self.actor_params, obs)), memory

    def act(
        self, key: jax.Array, obs: jax.Array, state: Any, memory: tuple, reset: jax.Array
    ) -> tuple[jax.Array, tuple]:
        """Actions for observations f32[N, D]: f32[N, A] in the env's box, or i32[N] legal
        indices (discrete)."""
        del reset
        legal = self._legal(obs, state)
        if self.sample:
            exploration = Exploration(jnp.bool_(False), jnp.float32(self.noise_std))
            actions = explore_actions(
                key, self.actor_params, obs, exploration, self.networks, legal
            )
        else:
            actions = self.networks.greedy_actions(self.actor_params, obs, legal)
        return self.networks.to_env(actions), memory


@dataclass(frozen=True)
class TrainedOffPolicyRun:
    """An off-policy run's config, trainer and a saved state (leading seed axis S)."""

    folder: RunFolder
    config: TrainConfig
    trainer: OffPolicyTrainer
    state: OffPolicyTrainState
    update: int
    env_steps: int

    @property
    def num_seeds(self) -> int:
        """S."""
        return int(jax.tree.leaves(self.state.params)[0].shape[0])


def restore_off_policy_run(
    folder: RunFolder, config: TrainConfig, step: int | None
) -> TrainedOffPolicyRun:
    """Checkpoint `step` (None = the latest) of the MADDPG / SAC run in `folder`.

    Raises:
        ConfigError: the run has no checkpoint, or none at `step`.
    """
    trainer = OffPolicyTrainer.from_config(config)
    state, step, env_steps = restore_checkpoint(folder, trainer, step)
    return TrainedOffPolicyRun(folder, config, trainer, state, step, env_steps)


def actor_policy(
    trained: TrainedOffPolicyRun,
    seed_index: int = 0,
    *,
    sample: bool = False,
    env: Env | None = None,
) -> ActorPolicy:
    """The actor of seed `seed_index`, deterministic unless `sample`, masking discrete
    actions with `env`'s action masks (None: the run's env).

    Raises:
        ConfigError: `seed_index` is not in [0, S).
    """
    seed_index = require_int("seed_index", seed_index, 0, trained.num_seeds - 1)
    actor = jax.tree.map(lambda leaf: leaf[seed_index], trained.state.params["actor"])
    setup = trained.trainer.setup
    return ActorPolicy(
        jax.device_put(actor),
        setup.networks,
        sample,
        setup.off_policy.noise_std_finish,
        setup.env if env is None else env,
    )


def load_off_policy_policies(
    folder: RunFolder, config: TrainConfig, request: PolicyRequest
) -> tuple[RunPolicy, ...]:
    """`PolicyLoader` of MADDPG / SAC runs: each requested seed's `ActorPolicy`."""
    # trained.py registers this loader, so importing it at the top would be circular
    from marlax.algorithms.trained import RunPolicy, seed_indices_of, variant_env

    trained = restore_off_policy_run(folder, config, request.checkpoint)
    task = config.envs[0]
    select_task((task.name,), request.selector)
    env = variant_env(task.name, task.params, request.env_overrides, trained.trainer.setup.env)
    return tuple(
        RunPolicy(
            folder=folder,
            algorithm=config.algorithm,
            env=env,
            policy=actor_policy(trained, seed_index, sample=request.sample, env=env),
            task=task.name,
            env_name=task.name,
            update=trained.update,
            env_steps=trained.env_steps,
            seed_index=seed_index,
            num_seeds=trained.num_seeds,
        )
        for seed_index in seed_indices_of(request, trained.num_seeds)
    )
