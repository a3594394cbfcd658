"""A trained Q-learner's agents as a `MemoryPolicy`: greedy in the legal actions (or
epsilon-greedy with `epsilon` > 0), one env, one seed.

    trained = load_trained_q(Path("runs"), "bold-otter-07")
    policy = q_policy(trained, seed_index=0)
    actions, memory = policy.act(key, obs, env_state, policy.initial_memory(), reset)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from marlax.algorithms.common.checkpointed import restore_checkpoint
from marlax.algorithms.q_learning.explore import epsilon_greedy, greedy
from marlax.algorithms.q_learning.networks import QNetworks
from marlax.algorithms.q_learning.trainer import QTrainer
from marlax.algorithms.q_learning.update import QTrainState
from marlax.config import TrainConfig, load_from_dict
from marlax.envs.base import Env
from marlax.models.heads import MASKED_LOGIT
from marlax.runs.folder import RunFolder
from marlax.validate import require_int, require_number


@struct.dataclass
class QPolicy:
    """The agent Q-network of one seed acting in one env (a pytree: parameters are leaves)."""

    params: Any  # {"agent": ..., "mixer": ...} of one seed
    networks: QNetworks = struct.field(pytree_node=False)
    env: Env = struct.field(pytree_node=False)
    epsilon: float = struct.field(pytree_node=False, default=0.0)

    def initial_memory(self) -> Any:
        """The agents' carry, leaves [1, N, ...]."""
        return self.networks.initialize_carry((1, self.networks.num_agents))

    def q_values(self, obs: jax.Array, memory: Any, reset: jax.Array) -> tuple[jax.Array, Any]:
        """(Q f32[N, A], the network's carry) for one env's observations [N, *obs_shape]
        (under MF-Q the `MeanFieldEnv`'s, mean action included)."""
        reset_batch = jnp.broadcast_to(reset, (1, self.networks.num_agents))
        carry, q = self.networks.step(self.params, memory, obs[None], reset_batch)
        return q[0], carry

    def action_scores(
        self, obs: jax.Array, state: Any, memory: Any, reset: jax.Array
    ) -> tuple[jax.Array, Any]:
        """(log-probabilities f32[N, A] of the greedy policy: 0 on the best legal action,
        MASKED_LOGIT elsewhere; the new memory)."""
        q, carry = self.q_values(obs, memory, reset)
        actions = greedy(q, self.env.action_mask(state))
        chosen = jax.nn.one_hot(actions, q.shape[-1], dtype=bool)
        return jnp.where(chosen, 0.0, MASKED_LOGIT), carry

    def act(
        self, key: jax.Array, obs: jax.Array, state: Any, memory: Any, reset: jax.Array
    ) -> tuple[jax.Array, Any]:
        """Actions i32[N] (the best legal, or epsilon-greedy) and the new memory."""
        q, carry = self.q_values(obs, memory, reset)
        legal = self.env.action_mask(state)
        if self.epsilon > 0.0:
            actions = epsilon_greedy(key, q, legal, jnp.float32(self.epsilon))
        else:
            actions = greedy(q, legal)
        return actions, carry


@dataclass(frozen=True)
class TrainedQRun:
    """A Q-learning run's config, trainer and a saved state (leading seed axis S)."""

    folder: RunFolder
    config: TrainConfig
    trainer: QTrainer
    state: QTrainState
    update: int
    env_steps: int


def restore_q_run(folder: RunFolder, config: TrainConfig, step: int | None) -> TrainedQRun:
    """Checkpoint `step` (None = the latest) of the Q-learning run in `folder`.

    Raises:
        ConfigError: the run has no checkpoint, or none at `step`.
    """
    trainer = QTrainer(config)
    state, step, env_steps = restore_checkpoint(folder, trainer, step)
    return TrainedQRun(folder, config, trainer, state, step, env_steps)


def load_trained_q(runs_dir: Path, name: str, step: int | None = None) -> TrainedQRun:
    """Checkpoint `step` (None = the latest) of Q-learning run `name` in `runs_dir`."""
    folder = RunFolder.open(Path(runs_dir), name)
    return restore_q_run(folder, load_from_dict(folder.read_config()), step)


def q_policy(trained: TrainedQRun, seed_index: int = 0, *, epsilon: float = 0.0) -> QPolicy:
    """The greedy (or epsilon-greedy) policy of seed `seed_index`.

    Raises:
        ConfigError: `seed_index` is not in [0, S), or `epsilon` not in [0, 1].
    """
    num_seeds = int(jax.tree.leaves(trained.state.params)[0].shape[0])
    seed_index = require_int("seed_index", seed_index, 0, num_seeds - 1)
    epsilon = require_number("epsilon", epsilon, 0.0, 1.0)
    params = jax.device_put(jax.tree.map(lambda leaf: leaf[seed_index], trained.state.params))
    setup = trained.trainer.setup
    return QPolicy(params, setup.networks, setup.env, float(epsilon))
