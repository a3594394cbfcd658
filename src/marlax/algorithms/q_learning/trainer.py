"""IQL / VDN / QMIX / MF-Q on the one task of a `TrainConfig`: seeds as a vmap axis, jitted calls.

    trainer = QTrainer(config)
    state = trainer.init(jax.random.key(config.run.seed))    # leading seed axis S
    state, metrics = trainer.update(state, 10)               # metrics f32[S, 10] each

An update call is one jitted program (a `lax.scan` over updates of a `vmap` over seeds) that
donates its input state: the replay lives inside the state, so it is updated in place.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from marlax.algorithms.common import optimizers
from marlax.algorithms.common.checkpointed import all_finite
from marlax.algorithms.common.seed_axis import ConfigSeedAxisTrainer
from marlax.algorithms.q_learning.networks import make_q_networks
from marlax.algorithms.q_learning.replay import Chunk, EpisodeReplay
from marlax.algorithms.q_learning.rollout import collect_chunks
from marlax.algorithms.q_learning.update import QSetup, QTrainState, q_update
from marlax.config import TrainConfig
from marlax.config.q_learning import chunk_length


def _strong(leaf: jax.Array) -> jax.Array:
    """The leaf without a weak type (keys pass unchanged)."""
    if jnp.issubdtype(leaf.dtype, jax.dtypes.prng_key):
        return leaf
    return jax.lax.convert_element_type(leaf, leaf.dtype)


def build_setup(config: TrainConfig) -> QSetup:
    """The static parts of a Q-learning run (env, networks, replay, optimiser)."""
    task = config.envs[0]
    env = task.make_env()  # under MF-Q (model.mean_field) a MeanFieldEnv
    q_learning = config.q_learning
    length = chunk_length(q_learning, env)
    per_update = length * task.num_envs
    num_updates = q_learning.total_env_steps // per_update
    steps_per_update = q_learning.gradient_steps

    def _annealed(count: jax.Array) -> jax.Array:
        return q_learning.learning_rate * (1.0 - (count // steps_per_update) / num_updates)

    learning_rate = _annealed if q_learning.anneal_lr else q_learning.learning_rate
    return QSetup(
        env=env,
        num_envs=task.num_envs,
        chunk_length=length,
        total_env_steps=num_updates * per_update,
        networks=make_q_networks(config.algorithm, config.model, q_learning, env),
        replay=EpisodeReplay(q_learning.buffer_size, q_learning.batch_size),
        optimizer=optimizers.make_optimizer(
            config.optimizer, learning_rate, q_learning.max_grad_norm
        ),
        q_learning=q_learning,
    )


class QTrainer(ConfigSeedAxisTrainer):
    """The value-based learners on a `TrainConfig` (see the module docstring)."""

    def __init__(self, config: TrainConfig) -> None:
        self.config = config
        self.setup = build_setup(config)
        self.num_updates = self.setup.total_env_steps // self.setup.env_steps_per_update
        ConfigSeedAxisTrainer.__init__(self)

    @property
    def env_steps_per_update(self) -> int:
        """T * B: environment steps one update collects (per seed)."""
        return self.setup.env_steps_per_update

    def _example_chunk(self) -> Chunk:
        """One chunk's shapes (a zero chunk), to size the replay."""
        setup = self.setup

        def _collect(key: jax.Array) -> Chunk:
            params = setup.networks.init(key)
            chunks, _ = collect_chunks(
                key, setup.env, 1, setup.networks, params, jnp.float32(1.0), setup.chunk_length
            )
            return chunks

        shapes = jax.eval_shape(_collect, jax.random.key(0))
        return jax.tree.map(lambda s: jnp.zeros(s.shape[1:], s.dtype), shapes)

    def init_one(self, key: jax.Array) -> QTrainState:
        init_key, key = jax.random.split(key)
        params = self.setup.networks.init(init_key)
        state = QTrainState(
            params=params,
            target_params=params,
            opt_state=self.setup.optimizer.init(params),
            buffer=self.setup.replay.init(self._example_chunk()),
            key=key,
            update=jnp.zeros((), jnp.int32),
        )
        # a weak-typed leaf would change type after one update and force a second compile
        return jax.tree.map(_strong, state)

    def update_one(self, state: QTrainState) -> tuple[QTrainState, dict]:
        """One update of one seed (traced)."""
        return q_update(state, setup=self.setup)

    def params_finite(self, state: QTrainState) -> bool:
        """Every online parameter of every seed is finite."""
        return all_finite(state.params)


__all__ = ["QTrainer", "build_setup"]
