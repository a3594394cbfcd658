"""A `MemoryPolicy` played from one reset until the first `done`, with tallies of what happened:
the scan under evaluation episodes (`marlax.evaluation.episodes`) and RL² trials
(`marlax.algorithms.rl2.trials`).

    def _tally(returns, step):                    # returns f32[N] so far
        return returns + jnp.where(step.live, step.reward, 0.0)

    returns = play_tallied(key, env, policy, env.reset, _tally, jnp.zeros(env.num_agents))

The episode is scanned for `env.max_steps` steps. The policy's memory is cleared at the first
step only. After the first `done` the episode is over: later steps act on the frozen last state
and observation, and `tally` sees them with `live` False, so no auto-reset is involved.
Keys: `reset_key, loop_key = split(key)`; step t uses `split(loop_key, max_steps)[t]`, split
into `policy_key, env_key` (as `marlax.play.record.rollout` does).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from flax import struct

from marlax.algorithms.common.policy import MemoryPolicy
from marlax.envs.base import Env


class PlayedStep(NamedTuple):
    """What one step of the scan gave, for a tally."""

    live: jax.Array  # bool[] the episode had not ended before this step
    reward: jax.Array  # f32[N]
    done: jax.Array  # bool[]
    state: Any  # the env state after the step (not frozen)
    info: dict  # the step's info


Tally = Callable[[Any, PlayedStep], Any]
"""(tallies so far, one step) -> tallies: counts a step (only where `step.live`, by contract)."""


@struct.dataclass
class _Carry:
    """Scan carry of one episode: what the next step acts on, and the tallies so far."""

    obs: jax.Array  # [N, ...]
    state: Any  # env State (frozen once the episode is over)
    memory: Any  # the policy's memory
    first: jax.Array  # bool[] the next step is the episode's first
    over: jax.Array  # bool[] the episode has ended
    tallies: Any  # the caller's tallies


def play_tallied(
    key: jax.Array,
    env: Env,
    policy: MemoryPolicy,
    reset: Callable[[jax.Array], tuple[jax.Array, Any]],
    tally: Tally,
    tallies: Any,
) -> Any:
    """One episode from `reset(reset_key)`, scanned for `env.max_steps` steps.

    Args:
        key: PRNG key (see the module docstring for how it is split).
        env: the environment stepped (its `max_steps` is the scan's length).
        policy: a `MemoryPolicy` (traced).
        reset: reset_key -> (obs [N, ...], state), e.g. `env.reset`.
        tally: counts one step into the tallies (see `Tally`).
        tallies: the tallies before the first step (a pytree).

    Returns:
        The tallies after the last step.
    """
    reset_key, loop_key = jax.random.split(key)
    obs, state = reset(reset_key)

    def _body(carry: _Carry, step_key: jax.Array) -> tuple[_Carry, None]:
        """Carries the episode's state and tallies; stacks nothing."""
        policy_key, env_key = jax.random.split(step_key)
        actions, memory = policy.act(policy_key, carry.obs, carry.state, carry.memory, carry.first)
        obs, state, reward, done, info = env.step(env_key, carry.state, actions)
        live = ~carry.over
        tallies = tally(carry.tallies, PlayedStep(live, reward, done, state, info))
        # after the first done the episode is over: keep its last state, count nothing more
        state = jax.tree.map(lambda old, new: jnp.where(live, new, old), carry.state, state)
        obs = jnp.where(live, obs, carry.obs)
        first = jnp.zeros((), bool)
        return _Carry(obs, state, memory, first, carry.over | done, tallies), None

    start = _Carry(
        obs=obs,
        state=state,
        memory=policy.initial_memory(),
        first=jnp.ones((), bool),
        over=jnp.zeros((), bool),
        tallies=tallies,
    )
    end, _ = jax.lax.scan(_body, start, jax.random.split(loop_key, env.max_steps))
    return end.tallies
