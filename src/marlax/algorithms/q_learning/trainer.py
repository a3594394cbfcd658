"""IQL / VDN / QMIX on the one task of a `TrainConfig`: seeds as a vmap axis, jitted calls.

    trainer = QTrainer(config)
    state = trainer.init(jax.random.key(config.run.seed))    # leading seed axis S
    state, metrics = trainer.update(state, 10)               # metrics f32[S, 10] each

An update call is one jitted program (a `lax.scan` over updates of a `vmap` over seeds) that
donates its input state: the replay lives inside the state, so it is updated in place.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import jax
import jax.numpy as jnp

from marlax.algorithms.common import optimizers
from marlax.algorithms.common.seeds import init_seed_by_seed
from marlax.algorithms.q_learning.networks import make_q_networks
from marlax.algorithms.q_learning.replay import Chunk, EpisodeReplay
from marlax.algorithms.q_learning.rollout import collect_chunks
from marlax.algorithms.q_learning.update import QSetup, QTrainState, q_update
from marlax.config import TrainConfig
from marlax.config.q_learning import chunk_length
from marlax.envs.registry import make
from marlax.validate import require_positive_int


def _strong(leaf: jax.Array) -> jax.Array:
    """The leaf without a weak type (keys pass unchanged)."""
    if jnp.issubdtype(leaf.dtype, jax.dtypes.prng_key):
        return leaf
    return jax.lax.convert_element_type(leaf, leaf.dtype)


def build_setup(config: TrainConfig) -> QSetup:
    """The static parts of a Q-learning run (env, networks, replay, optimiser)."""
    task = config.envs[0]
    env = make(task.name, **dict(task.params))
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


class QTrainer:
    """The value-based learners on a `TrainConfig` (see the module docstring)."""

    def __init__(self, config: TrainConfig) -> None:
        self.config = config
        self.setup = build_setup(config)
        self.num_updates = self.setup.total_env_steps // self.setup.env_steps_per_update
        self._init: Callable | None = None
        self._updates: dict[int, Callable] = {}

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

    def _init_one(self, key: jax.Array) -> QTrainState:
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

    def _init_seeds(self, keys: jax.Array) -> QTrainState:
        return jax.vmap(self._init_one)(keys)

    def _updates_seeds(self, state: QTrainState, num_updates: int) -> tuple[QTrainState, dict]:
        """`num_updates` updates of every seed; metrics f32[S, U] each."""

        def _body(carry: QTrainState, _: None) -> tuple[QTrainState, dict]:
            return jax.vmap(partial(q_update, setup=self.setup))(carry)

        state, metrics = jax.lax.scan(_body, state, None, length=num_updates)
        return state, jax.tree.map(lambda metric: jnp.swapaxes(metric, 0, 1), metrics)

    def update_program(self, num_updates: int) -> Callable:
        """The jitted program for `num_updates` updates of every seed (built once per count)."""
        require_positive_int("num_updates", num_updates)
        if num_updates not in self._updates:
            self._updates[num_updates] = jax.jit(
                partial(self._updates_seeds, num_updates=num_updates), donate_argnums=0
            )
        return self._updates[num_updates]

    def init(self, key: jax.Array) -> QTrainState:
        """A fresh state for `run.num_seeds` seeds split from `key` (leading axis S), seed by
        seed (`marlax.algorithms.common.seeds`: a vmapped init deadlocked XLA:CPU; equal to
        `vmap(_init_one)`, tested)."""
        if self._init is None:
            self._init = jax.jit(self._init_one)
        return init_seed_by_seed(self._init, jax.random.split(key, self.config.run.num_seeds))

    def update(self, state: QTrainState, num_updates: int | None = None):
        """Updates of every seed in one jitted call (the input state is donated).

        Returns:
            (state, metrics): each metric f32[S, U], U = num_updates or `run.log_every`.
        """
        count = self.config.run.log_every if num_updates is None else num_updates
        return self.update_program(count)(state)

    def abstract_state(self) -> QTrainState:
        """Shapes and dtypes of the state (for restoring checkpoints)."""
        keys = jax.random.split(jax.random.key(0), self.config.run.num_seeds)
        return jax.eval_shape(self._init_seeds, keys)

    def params_finite(self, state: QTrainState) -> bool:
        """Every online parameter of every seed is finite."""
        leaves = jax.tree.leaves(state.params)
        return bool(jnp.all(jnp.stack([jnp.all(jnp.isfinite(leaf)) for leaf in leaves])))


__all__ = ["QTrainer", "build_setup"]
