"""State of the variable n-back task."""

from __future__ import annotations

import jax
from flax import struct


@struct.dataclass
class State:
    """One n-back episode (T = max_steps).

    `values[t]` is shown at step t; the value shown after the last step (`values[T]`)
    is never judged, it only fills the final observation.
    """

    values: jax.Array  # i32[T + 1] the value sequence, each in [0, max_value)
    n: jax.Array  # i32[] the hidden lag, in [0, max_n)
    last_action: jax.Array  # i32[] the previous action, -1 before the first step
    last_reward: jax.Array  # f32[] the previous reward, 0 before the first step
    step: jax.Array  # i32[] steps taken in this episode = index of the value shown now
