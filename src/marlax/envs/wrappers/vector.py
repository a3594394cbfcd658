"""VectorEnv: B environments stepped as one, with exact auto-reset and an optional reset pool."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jax

from marlax.envs.base import StepResult
from marlax.envs.wrappers.autoreset import AutoReset
from marlax.envs.wrappers.base import Wrapper
from marlax.envs.wrappers.reset_pool import reset_finished
from marlax.validate import require, require_positive_int


@dataclass(frozen=True)
class VectorEnv(Wrapper):
    """`num_envs` copies of `env` on a leading batch axis, auto-reset on `done`.

    A step equals `vmap(AutoReset(env).step)` over `jax.random.split(key, num_envs)`:
    env i steps with its own key and, when it finishes, starts the episode drawn from its
    own reset key. Resetting every env every step costs a full `reset` per env-step;
    with `num_resets=R < num_envs` no reset is computed on a step where no env finishes,
    R where at most R finish, and all B where more finish (`reset_pool.py`). The results
    are the same for every R: it changes speed only.

    Shapes: obs [B, N, ...], actions [B, N] or [B, N, A], reward f32[B, N],
    done bool[B]; `info["final_obs"]` and `info["final_state"]` hold the observation
    and state each env stepped into, before any reset (as `AutoReset` gives them).
    """

    num_envs: int = 1
    """B: environments stepped together (>= 1)."""
    num_resets: int | None = None
    """R: reset pool size, 1..num_envs; None resets every env every step."""

    def __post_init__(self) -> None:
        require_positive_int("num_envs", self.num_envs)
        if self.num_resets is not None:
            require_positive_int("num_resets", self.num_resets)
            require(
                self.num_resets <= self.num_envs,
                "num_resets",
                self.num_resets,
                f"at most num_envs={self.num_envs}",
            )

    def reset(self, key: jax.Array) -> tuple[jax.Array, Any]:
        return jax.vmap(self.env.reset)(jax.random.split(key, self.num_envs))

    def step(self, key: jax.Array, state: Any, actions: jax.Array) -> StepResult:
        env_keys = jax.random.split(key, self.num_envs)
        if self.num_resets is None:
            return jax.vmap(AutoReset(self.env).step)(env_keys, state, actions)
        # the same (step key, reset key) per env as AutoReset, so both give equal episodes
        step_keys, reset_keys = jax.vmap(jax.random.split, out_axes=1)(env_keys)
        obs, state, reward, done, info = jax.vmap(self.env.step)(step_keys, state, actions)
        info = {**info, "final_obs": obs, "final_state": state}
        obs, state = reset_finished(self.env, self.num_resets)(reset_keys, done, obs, state)
        return obs, state, reward, done, info
