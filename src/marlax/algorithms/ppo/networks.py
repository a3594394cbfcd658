"""The actor (policy, and value for IPPO) and the optional centralised critic (MAPPO)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp

from marlax.envs.spaces import Box
from marlax.models.base import RecurrentModel
from marlax.models.registry import make_model, make_model_for_spaces
from marlax.algorithms.ppo.tasks import TaskLayout

Params = dict[str, Any]
"""`{"actor": actor params, "critic": critic params}` (the critic only for MAPPO)."""


@dataclass(frozen=True)
class Networks:
    """The models PPO trains and how their batches are laid out.

    Attributes:
        actor: policy and (for IPPO) value from each agent's own observation.
        critic: value from the global state (MAPPO), or None (IPPO).
        feed_forward: True when the actor has no memory ("mlp"): learning then shuffles single
            steps instead of whole sequences.
    """

    actor: RecurrentModel
    critic: RecurrentModel | None
    feed_forward: bool

    @property
    def centralised(self) -> bool:
        return self.critic is not None

    def initialize_carry(self, batch_shape: tuple[int, ...]) -> tuple[Any, Any]:
        """(actor carry, critic carry) for a batch of fresh episodes; the critic's is () for IPPO."""
        actor_carry = self.actor.initialize_carry(batch_shape)
        critic_carry = self.critic.initialize_carry(batch_shape) if self.critic else ()
        return actor_carry, critic_carry

    def init(self, key: jax.Array, layout: TaskLayout) -> Params:
        """Initial parameters for one agent batch of shape [1, N_max]."""
        actor_key, critic_key = jax.random.split(key)
        batch = (1, layout.max_agents)
        space = layout.observation_space
        obs = jnp.zeros((*batch, *space.shape), space.dtype)
        reset = jnp.ones(batch, bool)
        actor_carry, critic_carry = self.initialize_carry(batch)
        params = {"actor": self.actor.init(actor_key, actor_carry, obs, reset)}
        if self.critic is not None:
            critic_obs = jnp.zeros((*batch, layout.critic_size()), jnp.float32)
            params["critic"] = self.critic.init(critic_key, critic_carry, critic_obs, reset)
        return params


def make_networks(model_config: Any, layout: TaskLayout, centralised: bool) -> Networks:
    """Build the actor (and critic) from a `ModelConfig` and the joint task layout.

    The critic uses the same memory core as the actor, on a vector encoder over the critic
    input (global state, agent one-hot, task one-hot); its policy output is unused.
    """
    encoder = dict(model_config.encoder)
    core = dict(model_config.core)
    actor = make_model_for_spaces(
        model_config.name,
        layout.observation_space,
        layout.action_space,
        encoder_settings=encoder,
        log_std_init=model_config.log_std_init,
        **core,
    )
    critic = None
    if centralised:
        vector_settings = encoder if isinstance(layout.observation_space, Box) and len(
            layout.observation_space.shape
        ) == 1 else {}
        critic = make_model(
            model_config.name,
            num_actions=1,
            encoder="vector",
            encoder_settings=vector_settings,
            **core,
        )
    return Networks(actor=actor, critic=critic, feed_forward=model_config.name == "mlp")
