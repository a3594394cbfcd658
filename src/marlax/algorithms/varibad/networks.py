"""VariBAD's models: the belief encoder, the reward and state decoders, the actor and critic.

The encoder reads what `TrialEnv` shows after each step, one agent at a time:
`obs f32[D + F + 2]` = [inner observation s_{t+1} (D), action a_t (F), reward r_t, 1.0 if the
step ended an inner episode]. As the reference's `RNNEncoder`, it embeds the state, the action
and the reward (here with the inner-episode flag) apart (Dense + ReLU each), runs a GRU over
the concatenation and reads the belief's mean and log-variance off the GRU state by two Dense
layers. The belief before any step (q_0) is those layers on the zero GRU state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from marlax.config.schema import TrainConfig
from marlax.envs.spaces import Box, Discrete
from marlax.envs.wrappers.trial import TrialEnv
from marlax.models.base import RecurrentModel, dense
from marlax.models.registry import make_model_for_spaces


@dataclass(frozen=True)
class ObsLayout:
    """Where the parts of one agent's `TrialEnv` observation sit: [D | F | reward | done]."""

    inner_size: int
    action_size: int

    def inner(self, obs: jax.Array) -> jax.Array:
        """f32[..., D] the inner observation."""
        return obs[..., : self.inner_size]

    def action(self, obs: jax.Array) -> jax.Array:
        """f32[..., F] the previous action (one-hot, or the flat continuous vector)."""
        return obs[..., self.inner_size : self.inner_size + self.action_size]

    def reward(self, obs: jax.Array) -> jax.Array:
        """f32[...] the previous reward."""
        return obs[..., self.inner_size + self.action_size]

    def feedback(self, obs: jax.Array) -> jax.Array:
        """f32[..., 2] the previous reward and the inner-episode-ended flag."""
        return obs[..., self.inner_size + self.action_size :]


class BeliefEncoder(nn.Module):
    """GRU over (s_{t+1}, a_t, r_t, inner done) -> Gaussian belief (mean, logvar) f32[..., L]."""

    layout: ObsLayout
    latent_dim: int
    hidden_size: int
    state_embedding_size: int
    action_embedding_size: int
    reward_embedding_size: int

    def setup(self) -> None:
        self.embed_state = dense(self.state_embedding_size)
        self.embed_action = dense(self.action_embedding_size)
        self.embed_reward = dense(self.reward_embedding_size)
        self.cell = nn.GRUCell(self.hidden_size)
        self.to_mean = dense(self.latent_dim)
        self.to_logvar = dense(self.latent_dim)

    def initial_hidden(self, batch_shape: tuple[int, ...]) -> jax.Array:
        """f32[*batch, H]: the GRU state at a trial's start (zeros)."""
        return jnp.zeros((*batch_shape, self.hidden_size), jnp.float32)

    def belief(self, hidden: jax.Array) -> tuple[jax.Array, jax.Array]:
        """(mean, logvar) f32[*batch, L] read off a GRU state f32[*batch, H]."""
        return self.to_mean(hidden), self.to_logvar(hidden)

    def __call__(
        self, hidden: jax.Array, obs: jax.Array
    ) -> tuple[jax.Array, tuple[jax.Array, jax.Array]]:
        """One step: GRU state f32[*batch, H] and obs f32[*batch, D + F + 2] -> (new state,
        (mean, logvar) f32[*batch, L])."""
        layout = self.layout
        features = jnp.concatenate(
            [
                nn.relu(self.embed_state(layout.inner(obs))),
                nn.relu(self.embed_action(layout.action(obs))),
                nn.relu(self.embed_reward(layout.feedback(obs))),
            ],
            axis=-1,
        )
        hidden, _ = self.cell(hidden, features)
        return hidden, self.belief(hidden)


class Decoder(nn.Module):
    """An MLP from [latent, inputs...] to `outputs` numbers (ReLU hidden layers), as the
    reference's `RewardDecoder` / `StateTransitionDecoder`: the state input is embedded first."""

    layers: tuple[int, ...]
    state_embedding_size: int
    outputs: int

    @nn.compact
    def __call__(self, latent: jax.Array, state: jax.Array, extra: jax.Array) -> jax.Array:
        """latent f32[..., L], state f32[..., D], extra f32[..., E] (E may be 0) -> f32[..., O]."""
        embedded = nn.relu(dense(self.state_embedding_size, name="embed_state")(state))
        hidden = jnp.concatenate([latent, embedded, extra], axis=-1)
        for size in self.layers:
            hidden = nn.relu(dense(size)(hidden))
        return dense(self.outputs, name="out")(hidden)


@dataclass(frozen=True)
class VariBADNetworks:
    """Everything VariBAD trains, built from a config and its trial env.

    Parameters: `{"actor", "critic"}` (the policy's, trained by PPO) and
    `{"encoder", "reward_decoder"[, "state_decoder"]}` (the VAE's, trained by the ELBO).
    """

    layout: ObsLayout
    encoder: BeliefEncoder
    reward_decoder: Decoder
    state_decoder: Decoder | None
    actor: RecurrentModel
    critic: RecurrentModel
    latent_dim: int
    decode_action: bool

    @property
    def policy_input_size(self) -> int:
        """D + 2L: the inner observation, the belief mean and log-variance."""
        return self.layout.inner_size + 2 * self.latent_dim

    def policy_input(self, obs: jax.Array, mean: jax.Array, logvar: jax.Array) -> jax.Array:
        """f32[..., D + 2L]: [s_t, mean, logvar], the belief stop-gradiented (the policy's
        loss does not train the encoder, the reference's default)."""
        belief = jax.lax.stop_gradient(jnp.concatenate([mean, logvar], axis=-1))
        return jnp.concatenate([self.layout.inner(obs), belief], axis=-1)

    def actor_critic(self, params: Any, policy_input: jax.Array) -> tuple[Any, jax.Array]:
        """(policy output, value f32[...]) for policy inputs f32[..., D + 2L]."""
        batch = policy_input.shape[:-1]
        reset = jnp.ones(batch, bool)
        _, (policy_output, _) = self.actor.apply(
            params["actor"], self.actor.initialize_carry(batch), policy_input, reset
        )
        _, (_, value) = self.critic.apply(
            params["critic"], self.critic.initialize_carry(batch), policy_input, reset
        )
        return policy_output, value

    def init_policy(self, key: jax.Array) -> dict[str, Any]:
        """Actor and critic parameters."""
        actor_key, critic_key = jax.random.split(key)
        policy_input = jnp.zeros((1, self.policy_input_size), jnp.float32)
        reset = jnp.ones((1,), bool)
        return {
            "actor": self.actor.init(
                actor_key, self.actor.initialize_carry((1,)), policy_input, reset
            ),
            "critic": self.critic.init(
                critic_key, self.critic.initialize_carry((1,)), policy_input, reset
            ),
        }

    def init_vae(self, key: jax.Array) -> dict[str, Any]:
        """Encoder and decoder parameters."""
        encoder_key, reward_key, state_key = jax.random.split(key, 3)
        obs = jnp.zeros((1, self.layout.inner_size + self.layout.action_size + 2), jnp.float32)
        hidden = jnp.zeros((1, self.encoder.hidden_size), jnp.float32)
        latent = jnp.zeros((1, self.latent_dim), jnp.float32)
        state = jnp.zeros((1, self.layout.inner_size), jnp.float32)
        action = jnp.zeros((1, self.layout.action_size), jnp.float32)
        reward_extra = action if self.decode_action else action[:, :0]
        params = {
            "encoder": self.encoder.init(encoder_key, hidden, obs),
            "reward_decoder": self.reward_decoder.init(reward_key, latent, state, reward_extra),
        }
        if self.state_decoder is not None:
            state_extra = jnp.concatenate([state, action], axis=-1)
            params["state_decoder"] = self.state_decoder.init(state_key, latent, state, state_extra)
        return params

    def prior(self, vae_params: Any, batch_shape: tuple[int, ...]) -> tuple[jax.Array, ...]:
        """(GRU state, mean, logvar) at a trial's start for every element of `batch_shape`."""
        hidden = jnp.zeros((*batch_shape, self.encoder.hidden_size), jnp.float32)
        mean, logvar = self.encoder.apply(
            vae_params["encoder"], hidden, method=BeliefEncoder.belief
        )
        return hidden, mean, logvar

    def encode_step(
        self, vae_params: Any, hidden: jax.Array, obs: jax.Array
    ) -> tuple[jax.Array, jax.Array, jax.Array]:
        """(GRU state, mean, logvar) after the step whose `TrialEnv` observation is `obs`."""
        hidden, (mean, logvar) = self.encoder.apply(vae_params["encoder"], hidden, obs)
        return hidden, mean, logvar


def make_varibad_networks(config: TrainConfig, env: TrialEnv) -> VariBADNetworks:
    """The encoder, decoders, actor and critic for `config` on the trial env `env`."""
    settings = config.varibad
    layout = ObsLayout(env.inner_size, env.action_feature_size)
    encoder = BeliefEncoder(
        layout=layout,
        latent_dim=settings.latent_dim,
        hidden_size=settings.encoder_hidden_size,
        state_embedding_size=settings.state_embedding_size,
        action_embedding_size=settings.action_embedding_size,
        reward_embedding_size=settings.reward_embedding_size,
    )
    reward_decoder = Decoder(settings.decoder_layers, settings.state_embedding_size, 1)
    state_decoder = None
    if settings.decode_state:
        state_decoder = Decoder(
            settings.decoder_layers, settings.state_embedding_size, layout.inner_size
        )
    policy_space = Box(-np.inf, np.inf, (layout.inner_size + 2 * settings.latent_dim,))
    model = config.model

    def _model(action_space: Any) -> RecurrentModel:
        return make_model_for_spaces(
            model.name,
            policy_space,
            action_space,
            encoder_settings=model.encoder,
            log_std_init=model.log_std_init,
            dtype=model.dtype,
            **model.core,
        )

    return VariBADNetworks(
        layout=layout,
        encoder=encoder,
        reward_decoder=reward_decoder,
        state_decoder=state_decoder,
        actor=_model(env.action_space),
        critic=_model(Discrete(1)),
        latent_dim=settings.latent_dim,
        decode_action=settings.decode_action,
    )
