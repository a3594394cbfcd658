"""Scoring rules of the coverage world: which targets are covered, which agents collide.

Both read neighbour-grid candidates (O(N) work), never an N x N or N x M matrix.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from marlax.envs.coverage.constants import COLLISION_DISTANCE
from marlax.envs.neighbours import candidate_offsets


def agents_near_targets(
    agent_pos: jax.Array,
    target_pos: jax.Array,
    target_candidates: jax.Array,
    cover_radius: float,
) -> jax.Array:
    """How many agents are within `cover_radius` of each target: i32[M].

    Each agent adds one to every target among its candidates within `cover_radius`
    (a scatter-add over the agents' candidate slots). Targets never overflow a grid cell
    (one per lattice cell), so the count is exact whatever the agents' density.

    Args:
        agent_pos: f32[N, 2]; target_pos: f32[M, 2].
        target_candidates: i32[N, K] target-grid candidates of each agent, found at a
            radius of at least `cover_radius` (-1 = empty slot).
        cover_radius: distance within which an agent counts towards a target.
    """
    offsets = candidate_offsets(target_pos, agent_pos, target_candidates)
    near = offsets.present & (offsets.squared_distance <= cover_radius**2)
    num_targets = target_pos.shape[0]
    # slots that do not count point past the end and are dropped (not -1: that wraps)
    index = jnp.where(near, target_candidates, num_targets).reshape(-1)
    return jnp.zeros((num_targets,), jnp.int32).at[index].add(1, mode="drop")


def collisions_per_agent(agent_pos: jax.Array, agent_candidates: jax.Array) -> jax.Array:
    """Other agents closer than `COLLISION_DISTANCE` to each agent: i32[N].

    Args:
        agent_pos: f32[N, 2].
        agent_candidates: i32[N, K] agent-grid candidates of each agent, found at a radius
            of at least `COLLISION_DISTANCE` (-1 = empty slot).
    """
    offsets = candidate_offsets(agent_pos, agent_pos, agent_candidates)
    own = jnp.arange(agent_pos.shape[0], dtype=jnp.int32)[:, None]
    close = offsets.present & (agent_candidates != own)
    close = close & (offsets.squared_distance < COLLISION_DISTANCE**2)
    return jnp.sum(close, axis=1, dtype=jnp.int32)


def team_reward(
    covered: jax.Array, colliding_pairs: jax.Array, collision_penalty: float, num_agents: int
) -> jax.Array:
    """`covered targets / M - collision_penalty * colliding pairs / N`: f32[].

    Args:
        covered: bool[M]; colliding_pairs: f32[] pairs of agents in collision, each once.
    """
    coverage = jnp.mean(covered.astype(jnp.float32))
    return coverage - collision_penalty * colliding_pairs / num_agents


def needed_covers(
    agent_pos: jax.Array,
    target_pos: jax.Array,
    target_candidates: jax.Array,
    cover_radius: float,
    near: jax.Array,
    capacity: jax.Array,
) -> jax.Array:
    """Covered targets each agent is needed for: i32[N].

    Target j loses its cover without agent i exactly when i is within `cover_radius` of j and
    j has no spare agent (`near[j] == capacity[j]`).

    Args:
        agent_pos: f32[N, 2]; target_pos: f32[M, 2].
        target_candidates: i32[N, K] as in `agents_near_targets` (-1 = empty slot).
        cover_radius: distance within which an agent counts towards a target.
        near: i32[M] agents within `cover_radius` of each target; capacity: i32[M].
    """
    offsets = candidate_offsets(target_pos, agent_pos, target_candidates)
    within = offsets.present & (offsets.squared_distance <= cover_radius**2)
    exactly_full = (near == capacity)[jnp.maximum(target_candidates, 0)]
    return jnp.sum(within & exactly_full, axis=1, dtype=jnp.int32)


def difference_reward(
    needed: jax.Array,
    collisions: jax.Array,
    collision_penalty: float,
    num_agents: int,
    num_targets: int,
) -> jax.Array:
    """Each agent's difference reward `G(z) - G(z without agent i)`: f32[N].

    With the team reward `G = covered / M - penalty * pairs / N` (the same normalisers in both
    terms), removing agent i uncovers the `needed[i]` targets only it keeps covered and
    removes its `collisions[i]` pairs: `needed[i] / M - penalty * collisions[i] / N`. An agent
    then earns only what it changes, not the noise of the N - 1 others (Wolpert & Tumer 2002;
    Agogino & Tumer 2004), while any move that raises it raises G too.

    Args:
        needed: i32[N] from `needed_covers`; collisions: i32[N] from `collisions_per_agent`.
    """
    cover = needed.astype(jnp.float32) / num_targets
    return cover - collision_penalty * collisions.astype(jnp.float32) / num_agents


def colliding_pairs(collisions: jax.Array) -> jax.Array:
    """Pairs in collision, each counted once, from per-agent counts i32[N]: f32[]."""
    # each pair is seen from both of its agents (exact unless an agent grid cell overflowed)
    return jnp.sum(collisions).astype(jnp.float32) / 2.0
