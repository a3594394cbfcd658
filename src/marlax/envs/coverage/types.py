"""State of the coverage world."""

from __future__ import annotations

import jax
from flax import struct


@struct.dataclass
class State:
    """N agents (point masses) and M fixed targets in the square arena `[-h, h]^2`.

    `covered` is derived from the rest (targets with at least `capacity` agents within
    `cover_radius`); it is kept so that observations, `tasks` and pictures need no recount.
    Build hand-made states with `Coverage.make_state`, which fills it in.
    """

    agent_pos: jax.Array  # f32[N, 2] agent positions
    agent_vel: jax.Array  # f32[N, 2] agent velocities
    target_pos: jax.Array  # f32[M, 2] target positions (targets never move)
    target_capacity: jax.Array  # i32[M] agents needed within cover_radius to cover a target
    covered: jax.Array  # bool[M] target covered in this state
    step: jax.Array  # i32[] steps taken in this episode
