"""Point-mass physics of the coverage world: simple_spread's, with grid contacts and walls.

Forces and constants are mpe2's (`World.step`, as in `marlax.envs.simple_spread.physics`):
the action force `5 * direction` and soft contact forces between agents, with
`p' = p + v dt` (old velocity) and `v' = v (1 - damping) + F dt`. Three differences:

- the contact force is evaluated at the new positions `p'` (mpe2: at `p`), so one
  neighbour grid per step serves contacts, collisions and observations;
- contacts come only from each agent's grid candidates closer than `CONTACT_RANGE`
  (past it the force is below 1e-14): O(N), not O(N^2);
- walls keep every agent in the arena: a move past a wall ends on it and the velocity
  loses its outward component, so the density (and a neighbour query's cost) stays bounded.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from marlax.envs.coverage.constants import (
    ACCEL,
    AGENT_SIZE,
    CONTACT_FORCE,
    CONTACT_MARGIN,
    CONTACT_RANGE,
    DAMPING,
    DT,
    MOVES,
)
from marlax.envs.neighbours import candidate_offsets


def action_force(actions: jax.Array) -> jax.Array:
    """Force of each discrete action (0 no-op, 1 left, 2 right, 3 down, 4 up).

    Args:
        actions: i32[N] in 0..4; any other value exerts no force.

    Returns:
        f32[N, 2] `ACCEL * direction`.
    """
    one_hot = (actions[:, None] == jnp.arange(MOVES.shape[0])[None, :]).astype(jnp.float32)
    return ACCEL * (one_hot @ jnp.asarray(MOVES))


def contact_forces(agent_pos: jax.Array, candidates: jax.Array) -> jax.Array:
    """Soft contact force on each agent from its neighbours (mpe2 `get_collision_force`).

    `F_ij = c k log(1 + exp(-(d_ij - 2r) / k)) (p_i - p_j) / d_ij`, summed over the
    candidates j != i closer than `CONTACT_RANGE`.

    Args:
        agent_pos: f32[N, 2].
        candidates: i32[N, K] grid candidates of each agent (-1 = empty slot), found at a
            radius of at least `CONTACT_RANGE`.

    Returns:
        f32[N, 2].
    """
    offsets = candidate_offsets(agent_pos, agent_pos, candidates)  # p_j - p_i
    own = jnp.arange(agent_pos.shape[0], dtype=jnp.int32)[:, None]
    distance = jnp.sqrt(offsets.squared_distance)  # f32[N, K]
    touching = offsets.present & (candidates != own) & (distance < CONTACT_RANGE)
    # an agent on top of another (d = 0) gets no direction: divide by 1 and mask it out
    safe_distance = jnp.where(touching & (distance > 0), distance, 1.0)
    penetration = _softplus(-(safe_distance - 2 * AGENT_SIZE) / CONTACT_MARGIN)
    magnitude = jnp.where(
        touching, CONTACT_FORCE * CONTACT_MARGIN * penetration / safe_distance, 0.0
    )
    push = [-jnp.sum(delta * magnitude, axis=1) for delta in (offsets.dx, offsets.dy)]
    return jnp.stack(push, axis=-1)


def _softplus(x: jax.Array) -> jax.Array:
    """`log(1 + exp(x))`, 2x faster than `jnp.logaddexp(0, x)` on XLA:CPU.

    Exact to float32 for x > -17; below, it gives 0 instead of ~exp(x) < 4e-8, a contact
    force under 1e-8 (mpe2's `logaddexp` keeps it).
    """
    return jnp.where(x > 30.0, x, jnp.log(1.0 + jnp.exp(jnp.minimum(x, 30.0))))


def move(pos: jax.Array, vel: jax.Array, half_side: float) -> tuple[jax.Array, jax.Array]:
    """Positions after one step with the old velocity, clamped onto the walls of `[-h, h]^2`.

    Args:
        pos: f32[N, 2]; vel: f32[N, 2]; half_side: h.

    Returns:
        (pos f32[N, 2] = clip(p + v dt, -h, h), wall i32[N, 2]: -1 / +1 where the move hit
        the low / high wall on that axis, else 0).
    """
    moved = pos + vel * DT
    wall = (moved >= half_side).astype(jnp.int32) - (moved <= -half_side).astype(jnp.int32)
    return jnp.clip(moved, -half_side, half_side), wall


def accelerate(vel: jax.Array, force: jax.Array, wall: jax.Array) -> jax.Array:
    """`v (1 - damping) + F dt` (mass 1), without the component pushing into a wall.

    Args:
        vel: f32[N, 2]; force: f32[N, 2]; wall: i32[N, 2] from `move`.

    Returns:
        f32[N, 2].
    """
    new_vel = vel * (1 - DAMPING) + force * DT
    outward = new_vel * wall.astype(jnp.float32) > 0
    return jnp.where(outward, 0.0, new_vel)
