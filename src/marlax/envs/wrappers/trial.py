"""TrialEnv: RL²'s trials, k episodes of one task seen as one episode of a learner.

    env = TrialEnv(make("bandit_k"), episodes_per_trial=4)
    obs, state = env.reset(key)            # draws a task; obs f32[N, D + A + 2]
    obs, state, reward, done, info = env.step(key, state, actions)
    info["episode_in_trial"], info["inner_done"]

RL² (Duan et al. 2016) trains a recurrent policy across several episodes of one task: its
memory survives the episode boundaries inside a trial, so it can explore in the first episode
and exploit what it learned in the later ones. A trial is one episode of `TrialEnv`, so any
learner that clears memory at episode ends (PPO's rollout does) keeps it across the inner
episodes and clears it between trials.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from marlax.envs.base import Info
from marlax.envs.meta.family import TaskFamily, is_task_family
from marlax.envs.spaces import Box, Discrete, Space
from marlax.errors import ConfigError
from marlax.validate import require, require_positive_int

TASK_FAMILIES = "a task family (navigation_2d, velocity_point, bandit_k, spread_family)"
"""What `TrialEnv` accepts, as its ConfigError says."""
FEEDBACK_FLAGS = 2
"""The previous reward and the inner-episode-ended flag, after the previous action."""


@struct.dataclass
class TrialState:
    """One trial: the running inner episode and where it stands in the trial."""

    inner: Any  # the family's State of the running (or, at the trial's end, last) episode
    task: Any  # the trial's task (the family's task pytree), the same for every inner episode
    episode_in_trial: jax.Array  # i32[] inner episodes finished so far, 0..k
    step: jax.Array  # i32[] steps taken in this trial


@dataclass(frozen=True)
class TrialEnv(TaskFamily):
    """k = `episodes_per_trial` episodes of one task of `family`, as one episode.

    - **reset**: draws a task (`family.sample_task`) and starts its first episode; every
      later inner episode restarts with `family.reset_to_task(key, same task)`.
    - **obs** `f32[N, D + F + 2]`: per agent, its inner observation (D), then its previous
      action (F: a one-hot of Discrete(n) actions, the flattened vector of Box actions), its
      previous reward and 1.0 when the previous step ended an inner episode; zeros at the
      trial's first step. Inner observations must be vectors: grid observations are refused
      (an id grid has no place for a real-valued reward).
    - **actions**, **action_mask**: the family's, passed through.
    - **reward** `f32[N]`: the family's. The learner's episode return is the trial's return.
    - **termination**: only when the k-th inner episode ends (by termination or by its time
      limit): a trial is a finite-horizon task with nothing to bootstrap after it. Inner
      ends start the next inner episode in the same step. `max_steps` = k x the family's.
    - **info**: the family's extras, plus `episode_in_trial` (i32[]: the inner episode,
      0..k-1, this step's reward belongs to), `inner_done`, `inner_terminated` and
      `inner_truncated` (bool[]).
    - **task**: the family's; a `TrialEnv` is itself a family (`reset_to_task` starts a trial
      of a given task), so held-out tasks can be played as whole trials.
    """

    name: ClassVar[str] = "trial"

    family: TaskFamily
    episodes_per_trial: int = 2
    """k >= 1 episodes of one task per trial."""

    def __post_init__(self) -> None:
        family_name = getattr(self.family, "name", type(self.family).__name__)
        if not is_task_family(self.family):
            raise ConfigError("family", family_name, TASK_FAMILIES)
        require_positive_int("episodes_per_trial", self.episodes_per_trial)
        space = self.family.observation_space
        require(
            isinstance(space, Box) and len(space.shape) == 1,
            "family",
            family_name,
            f"{TASK_FAMILIES} with vector observations (TrialEnv appends the previous action, "
            f"reward and done to them; {space} is not a vector)",
        )

    # ---- spaces and sizes ------------------------------------------------------------
    @property
    def num_agents(self) -> int:
        return self.family.num_agents

    @property
    def max_steps(self) -> int:
        return self.episodes_per_trial * self.family.max_steps

    @property
    def inner_size(self) -> int:
        """D, the length of one agent's inner observation."""
        return self.family.observation_space.shape[0]

    @property
    def action_feature_size(self) -> int:
        """F, the length of the previous action in the observation."""
        space = self.family.action_space
        if isinstance(space, Discrete):
            return space.n
        return int(np.prod(space.shape))

    @property
    def observation_space(self) -> Space:
        size = self.inner_size + self.action_feature_size + FEEDBACK_FLAGS
        return Box(-np.inf, np.inf, (size,), "float32")

    @property
    def action_space(self) -> Space:
        return self.family.action_space

    @property
    def reveal_task(self) -> bool:  # type: ignore[override]
        return self.family.reveal_task

    # ---- the task family ---------------------------------------------------------------
    @property
    def task_size(self) -> int:
        return self.family.task_size

    def sample_task(self, key: jax.Array) -> Any:
        return self.family.sample_task(key)

    def task_features(self, task: Any) -> jax.Array:
        return self.family.task_features(task)

    def reset_to_task(self, key: jax.Array, task: Any) -> tuple[jax.Array, TrialState]:
        """A trial of `task`: its first inner episode, with zero feedback."""
        inner_obs, inner = self.family.reset_to_task(key, task)
        state = TrialState(
            inner=inner,
            task=task,
            episode_in_trial=jnp.zeros((), jnp.int32),
            step=jnp.zeros((), jnp.int32),
        )
        feedback = jnp.zeros((self.num_agents, self.action_feature_size + FEEDBACK_FLAGS))
        return self._observe(inner_obs, feedback), state

    # ---- stepping ------------------------------------------------------------------------
    def _step(
        self, key: jax.Array, state: TrialState, actions: jax.Array
    ) -> tuple[jax.Array, TrialState, jax.Array, jax.Array, Info]:
        step_key, reset_key = jax.random.split(key)
        inner_obs, inner, reward, inner_done, inner_info = self.family.step(
            step_key, state.inner, actions
        )
        finished = state.episode_in_trial + inner_done.astype(jnp.int32)
        ends_trial = inner_done & (finished >= self.episodes_per_trial)
        # the next inner episode starts in this step; the trial's last one stays for render
        inner_obs, inner = jax.lax.cond(
            inner_done & ~ends_trial,
            lambda: self.family.reset_to_task(reset_key, state.task),
            lambda: (inner_obs, inner),
        )
        new_state = TrialState(
            inner=inner, task=state.task, episode_in_trial=finished, step=state.step + 1
        )
        feedback = self._feedback(actions, reward, inner_done)
        extras = {
            name: value
            for name, value in inner_info.items()
            if name not in ("terminated", "truncated")
        }
        info = {
            **extras,
            "episode_in_trial": state.episode_in_trial,
            "inner_done": inner_done,
            "inner_terminated": inner_info["terminated"],
            "inner_truncated": inner_info["truncated"],
        }
        return self._observe(inner_obs, feedback), new_state, reward, ends_trial, info

    def _feedback(self, actions: jax.Array, reward: jax.Array, inner_done: jax.Array) -> jax.Array:
        """f32[N, F + 2]: each agent's action, its reward and the inner-episode-ended flag."""
        agents = self.num_agents
        space = self.family.action_space
        if isinstance(space, Discrete):
            action_part = jax.nn.one_hot(actions.reshape(agents), space.n, dtype=jnp.float32)
        else:
            action_part = actions.reshape(agents, self.action_feature_size).astype(jnp.float32)
        flags = jnp.stack(
            [
                reward.reshape(agents).astype(jnp.float32),
                jnp.broadcast_to(inner_done.astype(jnp.float32), (agents,)),
            ],
            axis=-1,
        )
        return jnp.concatenate([action_part, flags], axis=-1)

    def _observe(self, inner_obs: jax.Array, feedback: jax.Array) -> jax.Array:
        """f32[N, D + F + 2]: inner observations with the feedback appended."""
        return jnp.concatenate([inner_obs.astype(jnp.float32), feedback], axis=-1)

    # ---- pass-through ----------------------------------------------------------------------
    def action_mask(self, state: TrialState) -> jax.Array:
        """The family's legal actions in the running inner episode: bool[N, A]."""
        return self.family.action_mask(state.inner)

    def global_state(self, state: TrialState, obs: jax.Array) -> jax.Array:
        """The family's global state of the inner episode, then every agent's feedback."""
        inner_obs = obs[:, : self.inner_size].astype(self.family.observation_space.dtype)
        inner_global = self.family.global_state(state.inner, inner_obs).reshape(-1)
        feedback = obs[:, self.inner_size :].reshape(-1)
        return jnp.concatenate([inner_global.astype(jnp.float32), feedback])

    def render(self, state: TrialState) -> jax.Array:
        """The family's picture of the running inner episode."""
        return self.family.render(state.inner)
