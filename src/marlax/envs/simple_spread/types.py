"""State of MPE cooperative navigation."""

from __future__ import annotations

import jax
from flax import struct


@struct.dataclass
class State:
    """Positions and velocities of N agents and N landmarks.

    Agents are silent (their communication state is always zero), so it is not stored.
    """

    agent_pos: jax.Array  # f32[N, 2] agent positions
    agent_vel: jax.Array  # f32[N, 2] agent velocities
    landmark_pos: jax.Array  # f32[N, 2] landmark positions (landmarks never move)
    step: jax.Array  # i32[] steps taken in this episode
