"""State of the energy-flow world."""

from __future__ import annotations

import jax
from flax import struct


@struct.dataclass
class State:
    """One energy-flow episode (W, H map size; S sources; N agents).

    Sources, pathways and `supply` are fixed for the episode; cell and agent
    energies change every step.
    """

    cell_energy: jax.Array  # f32[W, H] energy held by each cell, in [0, cell_capacity]
    supply: jax.Array  # f32[W, H] energy added to each cell per step (radiation + pathways)
    source_positions: jax.Array  # i32[S, 2] (x, y) of each source
    source_strengths: jax.Array  # f32[S] energy per step each source radiates at its own cell
    pathway_mask: jax.Array  # bool[W, H] cells some pathway runs through
    agent_positions: jax.Array  # i32[N, 2] (x, y) of each agent
    agent_energy: jax.Array  # f32[N] energy stored by each agent, in [0, agent_capacity]
    step: jax.Array  # i32[] steps taken in this episode
