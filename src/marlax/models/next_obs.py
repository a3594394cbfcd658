"""A self-supervised head that predicts the next observation, and what test time may adapt.

A policy built with `next_obs_head=True` (`model.next_obs_head` in a config) carries a
`NextObsHead` beside its policy/value head: from the memory's output h_t and the action a_t
it predicts the observation o_{t+1}. PPO trains it with `ppo.next_obs_coef` times its squared
error (`marlax.algorithms.ppo.learn`); at test time (`marlax adapt` on such a run,
`marlax.algorithms.ppo.test_time`) the same loss on the new task's own trajectories updates
only `adaptable_mask`'s parameters: this head and every normalisation layer of the trunk.
The policy head itself never changes; the policy changes only through the shared
normalisation layers (test-time training, Sun et al. 2020).
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from marlax.models.base import dense
from marlax.validate import require_bool, require_positive_int

HEAD_NAME = "next_obs"
"""The head's module name in a `RecurrentModel`'s parameters."""


class NextObsHead(nn.Module):
    """(h_t f32[..., H], a_t i32[...] or f32[..., A]) -> predicted o_{t+1} f32[..., D].

    Attributes:
        obs_size: D, the length of one agent's (vector) observation.
        num_actions: A (discrete actions are one-hot encoded, continuous ones used as they are).
        continuous: whether actions are f32[..., A] vectors.
        hidden_size: width of the one hidden layer (LayerNorm, tanh).
    """

    obs_size: int
    num_actions: int
    continuous: bool = False
    hidden_size: int = 64

    def __post_init__(self) -> None:
        require_positive_int("next_obs_head.obs_size", self.obs_size)
        require_positive_int("next_obs_head.num_actions", self.num_actions)
        require_bool("next_obs_head.continuous", self.continuous)
        require_positive_int("next_obs_head.hidden_size", self.hidden_size)
        super().__post_init__()

    @nn.nowrap
    def dummy_action(self, batch_shape: tuple[int, ...]) -> jax.Array:
        """Zero actions i32[*batch] (f32[*batch, A] when continuous), to create parameters."""
        if self.continuous:
            return jnp.zeros((*batch_shape, self.num_actions), jnp.float32)
        return jnp.zeros(batch_shape, jnp.int32)

    @nn.compact
    def __call__(self, hidden: jax.Array, action: jax.Array) -> jax.Array:
        if self.continuous:
            action_features = action.astype(hidden.dtype)
        else:
            action_features = jax.nn.one_hot(action, self.num_actions, dtype=hidden.dtype)
        features = jnp.concatenate([hidden, action_features], axis=-1)
        features = nn.tanh(nn.LayerNorm(name="norm")(dense(self.hidden_size)(features)))
        return dense(self.obs_size)(features)


def _is_adaptable(path: tuple[Any, ...]) -> bool:
    """A parameter of the next-observation head, or of any normalisation layer (a module
    whose name holds "norm": LayerNorm/RMSNorm in encoders and cores)."""
    names = [str(getattr(part, "key", part)) for part in path]
    return HEAD_NAME in names or any("norm" in name.lower() for name in names[:-1])


def adaptable_mask(params: Any) -> Any:
    """A pytree of bools like `params`: True where test-time adaptation may change a leaf."""
    return jax.tree_util.tree_map_with_path(lambda path, _: _is_adaptable(path), params)


def count_adaptable(params: Any) -> tuple[int, int]:
    """(adaptable parameters in the trunk, in the head): both must be > 0 for adaptation to
    change the policy (the head alone changes only its predictions)."""
    trunk = head = 0
    for path, leaf in jax.tree_util.tree_flatten_with_path(params)[0]:
        names = [str(getattr(part, "key", part)) for part in path]
        if HEAD_NAME in names:
            head += leaf.size
        elif _is_adaptable(path):
            trunk += leaf.size
    return trunk, head
