"""AutoReset: start a new episode in the same step that ends one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp

from marlax.envs.base import StepResult
from marlax.envs.wrappers.base import Wrapper


def select_tree(condition: jax.Array, on_true: Any, on_false: Any) -> Any:
    """Leafwise `where(condition, on_true, on_false)`; `condition` is bool[] or bool[B].

    A batched condition broadcasts over each leaf's trailing axes.
    """

    def _select(true_leaf: jax.Array, false_leaf: jax.Array) -> jax.Array:
        cond = jnp.reshape(condition, condition.shape + (1,) * (true_leaf.ndim - condition.ndim))
        return jnp.where(cond, true_leaf, false_leaf)

    return jax.tree.map(_select, on_true, on_false)


@dataclass(frozen=True)
class AutoReset(Wrapper):
    """Resets the episode when `done`; the finished episode's end goes to `info`.

    The returned `obs`/`state` are those of the new episode when `done`, so a rollout
    never steps a finished episode. `info["final_obs"]` and `info["final_state"]` hold
    the observation and state the env stepped into, before any reset: PPO bootstraps
    through truncation from `final_obs`, a centralised critic from `final_state`, and
    a recording shows the last frame of every episode. `VectorEnv` gives the same keys.

    The key of a step splits into (step key, reset key); the fresh episode is
    `env.reset(reset key)`. The reset is a `lax.cond`: one env skips it on the steps
    that do not end an episode, and under `vmap` the cond becomes a select over the
    whole state pytree (no Python branch on `done`).
    """

    def reset(self, key: jax.Array) -> tuple[jax.Array, Any]:
        return self.env.reset(key)

    def step(self, key: jax.Array, state: Any, actions: jax.Array) -> StepResult:
        step_key, reset_key = jax.random.split(key)
        obs, state, reward, done, info = self.env.step(step_key, state, actions)
        info = {**info, "final_obs": obs, "final_state": state}
        obs, state = jax.lax.cond(done, lambda: self.env.reset(reset_key), lambda: (obs, state))
        return obs, state, reward, done, info
