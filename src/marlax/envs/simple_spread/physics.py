"""MPE physics for one agent (vmapped over agents by the env): forces and integration.

Follows mpe2 `_mpe_utils/core.py` (`World.step`): the action force plus soft
contact forces between agents, then a semi-implicit Euler step that moves with
the *old* velocity and damps before adding the force.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from marlax.envs.simple_spread.constants import (
    ACCEL,
    AGENT_SIZE,
    CONTACT_FORCE,
    CONTACT_MARGIN,
    DAMPING,
    DT,
    MOVES,
)


def discrete_action_force(action: jax.Array) -> jax.Array:
    """Force of one discrete action (0 no-op, 1 left, 2 right, 3 down, 4 up).

    Args:
        action: i32[] in 0..4; any other value exerts no force.

    Returns:
        f32[2] force `ACCEL * direction`.
    """
    one_hot = (action == jnp.arange(MOVES.shape[0])).astype(jnp.float32)
    return ACCEL * (one_hot @ jnp.asarray(MOVES))


def continuous_action_force(action: jax.Array) -> jax.Array:
    """Force of one continuous action `[no-op, left, right, down, up]` (mpe2 order).

    Args:
        action: f32[5]; clipped to [0, 1] first, as mpe2's `ClipOutOfBoundsWrapper` does.

    Returns:
        f32[2] force `ACCEL * (a2 - a1, a4 - a3)`.
    """
    action = jnp.clip(action, 0.0, 1.0)
    return ACCEL * jnp.stack([action[2] - action[1], action[4] - action[3]])


def contact_force(agent_index: jax.Array, agent_pos: jax.Array) -> jax.Array:
    """Sum of soft contact forces on one agent from every other agent.

    `F_ij = c * (p_i - p_j) / d_ij * k * log(1 + exp(-(d_ij - 2r) / k))` with
    `c = CONTACT_FORCE`, `k = CONTACT_MARGIN`, `r = AGENT_SIZE` (mpe2
    `get_collision_force`). Landmarks do not collide.

    Args:
        agent_index: i32[] index of the agent.
        agent_pos: f32[N, 2] all agent positions.

    Returns:
        f32[2] total contact force on the agent.
    """
    delta = agent_pos[agent_index][None, :] - agent_pos  # f32[N, 2]
    is_other = jnp.arange(agent_pos.shape[0]) != agent_index
    dist = jnp.sqrt(jnp.sum(jnp.square(delta), axis=-1))  # f32[N]
    # the agent's own row has dist 0: divide by 1 there and mask it out
    safe_dist = jnp.where(is_other, dist, 1.0)
    penetration = jnp.logaddexp(0.0, -(safe_dist - 2 * AGENT_SIZE) / CONTACT_MARGIN)
    magnitude = jnp.where(is_other, CONTACT_FORCE * CONTACT_MARGIN * penetration / safe_dist, 0.0)
    return jnp.sum(delta * magnitude[:, None], axis=0)


def integrate(pos: jax.Array, vel: jax.Array, force: jax.Array) -> tuple[jax.Array, jax.Array]:
    """One Euler step of one agent (mass 1, no speed limit, as in simple_spread).

    Args:
        pos: f32[2]; vel: f32[2]; force: f32[2].

    Returns:
        (new pos f32[2], new vel f32[2]): `p + v dt`, `v (1 - damping) + F dt`.
    """
    return pos + vel * DT, vel * (1 - DAMPING) + force * DT
