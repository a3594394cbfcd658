"""What a served model accepts and answers, as plain Python values (no JAX, picklable).

The driver builds a `ModelSpec` from the loaded members once; the controller checks every
request against it before any member sees the request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class ModelSpec:
    """The env the members play and the shapes of their memories.

    Attributes:
        env_name: the env's registered name.
        num_agents: N, agents per env.
        obs_shape: one agent's observation shape.
        obs_dtype: numpy dtype name of observations ("float32", "int32", ...).
        obs_low: lower bound of every observation element (may be -inf).
        obs_high: upper bound (may be inf).
        discrete: whether actions are discrete.
        action_size: A, the number of actions (discrete) or the action's length.
        members: member names "RUN:SEED", in the order the rule combines them.
        memory_shapes: per member, the shapes of its memory leaves for one env.
    """

    env_name: str
    num_agents: int
    obs_shape: tuple[int, ...]
    obs_dtype: str
    obs_low: float
    obs_high: float
    discrete: bool
    action_size: int
    members: tuple[str, ...]
    memory_shapes: tuple[tuple[tuple[int, ...], ...], ...]

    @property
    def integer_obs(self) -> bool:
        return bool(np.issubdtype(np.dtype(self.obs_dtype), np.integer))

    def describe(self) -> dict[str, Any]:
        """The JSON answer of `GET /v1/info`."""
        return {
            "env": self.env_name,
            "num_agents": self.num_agents,
            "observation": {
                "shape": list(self.obs_shape),
                "dtype": self.obs_dtype,
                "low": _json_bound(self.obs_low),
                "high": _json_bound(self.obs_high),
            },
            "action": {"discrete": self.discrete, "size": self.action_size},
            "members": list(self.members),
            "memory_shapes": {
                member: [list(shape) for shape in shapes]
                for member, shapes in zip(self.members, self.memory_shapes, strict=True)
            },
        }


def model_spec(
    env_name: str, env: Any, members: tuple[str, ...], memories: tuple[Any, ...]
) -> ModelSpec:
    """The `ModelSpec` of members playing `env` (registered as `env_name`), from their
    initial memories (pytrees)."""
    import jax

    obs_space, action_space = env.observation_space, env.action_space
    discrete = hasattr(action_space, "n")
    return ModelSpec(
        env_name=env_name,
        num_agents=int(env.num_agents),
        obs_shape=tuple(int(size) for size in obs_space.shape),
        obs_dtype=str(np.dtype(obs_space.dtype)),
        obs_low=float(obs_space.low),
        obs_high=float(obs_space.high),
        discrete=discrete,
        action_size=int(action_space.n if discrete else action_space.shape[-1]),
        members=members,
        memory_shapes=tuple(
            tuple(tuple(int(size) for size in np.shape(leaf)) for leaf in jax.tree.leaves(memory))
            for memory in memories
        ),
    )


def _json_bound(value: float) -> float | None:
    """JSON has no infinity: an unbounded side is null."""
    return None if not np.isfinite(value) else value
