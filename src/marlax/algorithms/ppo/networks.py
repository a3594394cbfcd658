"""The actor (policy, and value for IPPO) and the optional centralised critic (MAPPO)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp

from marlax.algorithms.ppo.tasks import TaskLayout
from marlax.config.schema import ModelConfig
from marlax.envs.spaces import Box, Discrete
from marlax.models.base import RecurrentModel
from marlax.models.registry import has_memory, make_model, make_model_for_spaces

Params = dict[str, Any]
"""`{"actor": actor params, "critic": critic params}` (the critic only for MAPPO)."""


@dataclass(frozen=True)
class Networks:
    """The models PPO trains and how their batches are laid out.

    Attributes:
        actor: the policy (and the value when the critic is "shared").
        critic: a separate value network, on the agent's own observation ("independent")
            or on the global state ("centralised"); None when "shared".
        centralised: the critic reads the centralised input (`TaskLayout.critic_obs`).
    """

    actor: RecurrentModel
    critic: RecurrentModel | None
    centralised: bool = False

    @property
    def feed_forward(self) -> bool:
        """The actor has no memory ("mlp"): learning then shuffles single steps instead of
        whole sequences."""
        return not has_memory(self.actor)

    def evaluate(
        self,
        params: Params,
        actor_carry: Any,
        critic_carry: Any,
        model_obs: jax.Array,
        critic_obs: jax.Array,
        reset: jax.Array,
        *,
        sequence: bool = False,
    ) -> tuple[Any, Any, Any, jax.Array]:
        """The actor (and critic) on one step, or on a whole sequence: what acting and the
        loss both read.

        Args:
            actor_carry, critic_carry: memories [*batch, ...] before the step (sequence).
            model_obs: [*batch, *obs_shape] ([T, *batch, ...] for a sequence).
            critic_obs: f32[*batch, S] centralised-critic input (S = 0 unless centralised).
            reset: bool[*batch] ([T, *batch]) an episode starts here: the memory is cleared.
            sequence: run the models' `sequence` method over a leading time axis.

        Returns:
            (actor carry, critic carry, policy output, value f32[*batch] or f32[T, *batch]).
        """
        method = "sequence" if sequence else "__call__"
        actor_carry, (policy_output, value) = self.actor.apply(
            params["actor"], actor_carry, model_obs, reset, method=method
        )
        if self.critic is not None:
            critic_input = critic_obs if self.centralised else model_obs
            critic_carry, (_, value) = self.critic.apply(
                params["critic"], critic_carry, critic_input, reset, method=method
            )
        return actor_carry, critic_carry, policy_output, value

    def initialize_carry(self, batch_shape: tuple[int, ...]) -> tuple[Any, Any]:
        """(actor carry, critic carry) for fresh episodes; the critic's is () when "shared"."""
        actor_carry = self.actor.initialize_carry(batch_shape)
        critic_carry = self.critic.initialize_carry(batch_shape) if self.critic is not None else ()
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
        if self.centralised:
            critic_obs = jnp.zeros((*batch, layout.critic_size()), jnp.float32)
            params["critic"] = self.critic.init(critic_key, critic_carry, critic_obs, reset)
        elif self.critic is not None:
            params["critic"] = self.critic.init(critic_key, critic_carry, obs, reset)
        return params


def make_networks(model_config: ModelConfig, layout: TaskLayout, critic: str) -> Networks:
    """Build the actor (and critic) from a `ModelConfig` and the joint task layout.

    Args:
        critic: "shared", "independent" or "centralised" (see `PPOConfig.critic`).

    A separate critic uses the same memory core and settings as the actor; an "independent"
    one also the same encoder, a "centralised" one a vector encoder over the critic input
    (global state, agent one-hot, task one-hot). Its policy output is unused.
    """
    encoder = dict(model_config.encoder)
    core = dict(model_config.core)

    def _own_obs_model(num_actions_space: Any) -> RecurrentModel:
        return make_model_for_spaces(
            model_config.name,
            layout.observation_space,
            num_actions_space,
            encoder_settings=encoder,
            log_std_init=model_config.log_std_init,
            **core,
        )

    actor = _own_obs_model(layout.action_space)
    critic_model = None
    if critic == "independent":
        critic_model = _own_obs_model(Discrete(1))
    elif critic == "centralised":
        space = layout.observation_space
        vector_obs = isinstance(space, Box) and len(space.shape) == 1
        critic_model = make_model(
            model_config.name,
            num_actions=1,
            encoder="vector",
            encoder_settings=encoder if vector_obs else {},
            **core,
        )
    return Networks(
        actor=actor,
        critic=critic_model,
        centralised=critic == "centralised",
    )
