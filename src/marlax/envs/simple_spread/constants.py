"""Physical and reward constants of MPE cooperative navigation (mpe2 `simple_spread_v3`)."""

from __future__ import annotations

import numpy as np

DT = 0.1
"""Simulation time step (mpe2 `World.dt`)."""
DAMPING = 0.25
"""Fraction of velocity lost per step (mpe2 `World.damping`)."""
CONTACT_FORCE = 100.0
"""Stiffness of the soft contact between agents (mpe2 `World.contact_force`)."""
CONTACT_MARGIN = 1e-3
"""Softness of the contact, in distance units (mpe2 `World.contact_margin`)."""
ACCEL = 5.0
"""Action sensitivity: force per unit of action (mpe2 `sensitivity`)."""
AGENT_SIZE = 0.15
"""Agent radius; two agents collide when closer than twice this."""
LANDMARK_SIZE = 0.05
"""Landmark radius (landmarks never collide; only drawn)."""
DIM_C = 2
"""Communication channel size; agents are silent, so it is always zero in observations."""
NUM_MOVES = 5
"""Discrete actions: no-op, left, right, down, up."""

MOVES = np.array([[0.0, 0.0], [-1.0, 0.0], [1.0, 0.0], [0.0, -1.0], [0.0, 1.0]], dtype=np.float32)
"""f32[5, 2] unit force direction of each discrete action (mpe2 `_set_action`)."""

AGENT_COLOUR = (70, 70, 170)
"""mpe2 agent colour [0.35, 0.35, 0.85] * 200."""
LANDMARK_COLOUR = (50, 50, 50)
"""mpe2 landmark colour [0.25, 0.25, 0.25] * 200."""
