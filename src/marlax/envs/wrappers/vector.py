"""VectorEnv: B environments stepped as one, with (optionally optimistic) auto-reset."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp

from marlax.envs.base import StepResult
from marlax.envs.wrappers.autoreset import select_tree
from marlax.envs.wrappers.base import Wrapper


@dataclass(frozen=True)
class VectorEnv(Wrapper):
    """`num_envs` copies of `env` on a leading batch axis, auto-reset on `done`.

    Resetting every env every step (what `vmap(AutoReset(env))` does) costs a
    full `reset` per env-step. With `num_resets < num_envs` only that many fresh
    episodes are drawn per step, and the k-th env that finishes this step takes
    fresh episode `k mod num_resets` (gymnax's "optimistic reset"): exact while
    at most `num_resets` envs finish in one step, mildly correlated beyond.

    Shapes: obs [B, N, ...], actions [B, N] or [B, N, A], reward f32[B, N],
    done bool[B]; `info["final_obs"]` and `info["final_state"]` hold the pre-reset
    observation and state.
    """

    num_envs: int = 1
    num_resets: int | None = None

    def __post_init__(self) -> None:
        from marlax.validate import require, require_positive_int

        require_positive_int("num_envs", self.num_envs)
        if self.num_resets is not None:
            require_positive_int("num_resets", self.num_resets)
            require(
                self.num_resets <= self.num_envs,
                "num_resets",
                self.num_resets,
                f"at most num_envs={self.num_envs}",
            )

    @property
    def _resets_per_step(self) -> int:
        return self.num_envs if self.num_resets is None else self.num_resets

    def reset(self, key: jax.Array) -> tuple[jax.Array, Any]:
        return jax.vmap(self.env.reset)(jax.random.split(key, self.num_envs))

    def step(self, key: jax.Array, state: Any, actions: jax.Array) -> StepResult:
        step_key, reset_key = jax.random.split(key)
        step_keys = jax.random.split(step_key, self.num_envs)
        obs, state, reward, done, info = jax.vmap(self.env.step)(step_keys, state, actions)
        reset_obs, reset_state = jax.vmap(self.env.reset)(
            jax.random.split(reset_key, self._resets_per_step)
        )
        if self._resets_per_step < self.num_envs:
            # the k-th finished env takes fresh episode k (mod the pool size)
            pick = (jnp.cumsum(done) - 1) % self._resets_per_step
            reset_obs, reset_state = jax.tree.map(lambda x: x[pick], (reset_obs, reset_state))
        # the pre-reset state too: a centralised critic bootstraps from its global state
        info = {**info, "final_obs": obs, "final_state": state}
        state = select_tree(done, reset_state, state)
        obs = select_tree(done, reset_obs, obs)
        return obs, state, reward, done, info
