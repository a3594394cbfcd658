"""What each coverage agent sees: itself, its k nearest targets and its k nearest agents."""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp

from marlax.envs.neighbours import nearest_of_candidates


@partial(jax.jit, static_argnames=("half_side", "view_radius", "k_agents", "k_targets"))
def observe(
    agent_pos: jax.Array,
    agent_vel: jax.Array,
    target_pos: jax.Array,
    target_capacity: jax.Array,
    covered: jax.Array,
    agent_candidates: jax.Array,
    target_candidates: jax.Array,
    *,
    half_side: float,
    view_radius: float,
    k_agents: int,
    k_targets: int,
) -> jax.Array:
    """Every agent's observation: f32[N, 4 + 5 k_targets + 3 k_agents].

    Per agent, in order: own velocity (2), own position divided by h (2, in [-1, 1]);
    then for each of the `k_targets` nearest targets within `view_radius`, nearest first:
    position relative to the agent (2), capacity (1), covered (1), present (1); then for
    each of the `k_agents` nearest other agents within `view_radius`: relative position
    (2), present (1). Slots past the targets or agents in view are all zero.

    Args:
        agent_pos, agent_vel: f32[N, 2]; target_pos: f32[M, 2]; target_capacity: i32[M];
        covered: bool[M].
        agent_candidates: i32[N, Ka] agent-grid candidates found at `view_radius`.
        target_candidates: i32[N, Kt] target-grid candidates found at `view_radius` or more.
    """
    targets = nearest_of_candidates(
        target_pos, agent_pos, target_candidates, k_targets, view_radius
    )
    target_index = jnp.maximum(targets.indices, 0)
    present = targets.valid.astype(jnp.float32)  # f32[N, kt]
    target_rel = target_pos[target_index] - agent_pos[:, None, :]
    target_block = (
        jnp.concatenate(
            [
                target_rel,
                target_capacity[target_index].astype(jnp.float32)[..., None],
                covered[target_index].astype(jnp.float32)[..., None],
                jnp.ones_like(present)[..., None],
            ],
            axis=-1,
        )
        * present[..., None]
    )
    parts = [agent_vel, agent_pos / half_side, target_block.reshape(agent_pos.shape[0], -1)]
    if k_agents > 0:
        agents = nearest_of_candidates(
            agent_pos, agent_pos, agent_candidates, k_agents, view_radius, exclude_self=True
        )
        seen = agents.valid.astype(jnp.float32)
        agent_rel = agent_pos[jnp.maximum(agents.indices, 0)] - agent_pos[:, None, :]
        agent_block = jnp.concatenate([agent_rel, jnp.ones_like(seen)[..., None]], axis=-1)
        parts.append((agent_block * seen[..., None]).reshape(agent_pos.shape[0], -1))
    return jnp.concatenate(parts, axis=1).astype(jnp.float32)
