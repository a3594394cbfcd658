"""A parameter vector's fitness: the mean team return of whole episodes, played in one scan.

    returns = episode_returns(key, actor_params, player)          # f32[B]
    fitness = population_returns(key, population, player)        # f32[P], same episodes each

Every env starts at a reset and is stepped `max_steps` times (the longest an episode can
last), so every episode ends inside the scan; rewards after an env's episode ends are not
counted. The policy plays the mode of its action distribution (argmax of the masked logits,
or the Gaussian mean), as `TrainedPolicy` does when deployed, and sees its observations and
legal actions through the same `TaskLayout`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from marlax.algorithms.es.solution import PolicySolution
from marlax.algorithms.ppo.tasks import TaskLayout
from marlax.models.base import RecurrentModel
from marlax.models.heads import distribution


@dataclass(frozen=True)
class Player:
    """What plays the episodes: the actor, its task (one, index 0) and the env batch B."""

    actor: RecurrentModel
    layout: TaskLayout
    solution: PolicySolution
    num_envs: int

    @property
    def env(self) -> Any:
        return self.layout.tasks[0].env

    @property
    def steps_per_evaluation(self) -> int:
        """B x max_steps: env steps one parameter vector's evaluation takes."""
        return self.num_envs * self.env.max_steps


@struct.dataclass
class EpisodeCarry:
    """The scan carry of `episode_returns` ([B] = the env batch)."""

    obs: jax.Array  # [B, N, *obs_shape]
    env_state: Any  # the env State, batched [B]
    memory: Any  # the actor's carry, leaves [B, N, ...]
    reset: jax.Array  # bool[] the memory is cleared at this step (the first)
    alive: jax.Array  # bool[B] the env's episode has not ended
    team_return: jax.Array  # f32[B] reward summed over steps, mean over agents
    key: jax.Array


def _step(player: Player, actor_params: Any, carry: EpisodeCarry) -> EpisodeCarry:
    """One step of every env (the `lax.scan` body of `episode_returns`)."""
    env, layout = player.env, player.layout
    key, step_key = jax.random.split(carry.key)
    batch = (player.num_envs, layout.max_agents)
    model_obs = layout.model_obs(0, carry.obs)
    reset = jnp.broadcast_to(carry.reset, batch)
    memory, (output, _) = player.actor.apply(actor_params, carry.memory, model_obs, reset)
    actions = distribution(output, layout.legal_mask(0, carry.env_state)).mode()
    step_keys = jax.random.split(step_key, player.num_envs)
    obs, env_state, reward, done, _ = jax.vmap(env.step)(
        step_keys, carry.env_state, layout.env_actions(0, actions)
    )
    # an ended episode's env keeps stepping (no auto-reset) but adds nothing
    team_reward = jnp.where(carry.alive, reward.mean(axis=-1), 0.0)
    return EpisodeCarry(
        obs=obs,
        env_state=env_state,
        memory=memory,
        reset=jnp.zeros((), bool),
        alive=carry.alive & ~done,
        team_return=carry.team_return + team_reward,
        key=key,
    )


def episode_returns(key: jax.Array, actor_params: Any, player: Player) -> jax.Array:
    """f32[B]: each env's episode return (team mean) under `actor_params` from a reset."""
    reset_key, key = jax.random.split(key)
    obs, env_state = jax.vmap(player.env.reset)(jax.random.split(reset_key, player.num_envs))
    carry = EpisodeCarry(
        obs=obs,
        env_state=env_state,
        memory=player.actor.initialize_carry((player.num_envs, player.layout.max_agents)),
        reset=jnp.ones((), bool),
        alive=jnp.ones((player.num_envs,), bool),
        team_return=jnp.zeros((player.num_envs,), jnp.float32),
        key=key,
    )

    def _body(carry: EpisodeCarry, _: None) -> tuple[EpisodeCarry, None]:
        """Carries the envs and returns so far; stacks nothing."""
        return _step(player, actor_params, carry), None

    carry, _ = jax.lax.scan(_body, carry, None, length=player.env.max_steps)
    return carry.team_return


def mean_return(key: jax.Array, flat: jax.Array, player: Player) -> jax.Array:
    """f32[]: the mean episode return of the flat parameters `flat` f32[D]."""
    return episode_returns(key, player.solution.actor_params(flat), player).mean()


def population_returns(key: jax.Array, population: jax.Array, player: Player) -> jax.Array:
    """f32[P]: `mean_return` of each member of `population` f32[P, D], all on the same
    episodes (one key: common random numbers, so members are ranked on equal terms)."""
    return jax.vmap(lambda flat: mean_return(key, flat, player), in_axes=0)(population)
