"""The agent Q-network (any marlax model, shared by all agents) and the team mixer.

The agent network is a `RecurrentModel` from the model registry whose policy outputs serve as
Q-values f32[..., A] (its value output is unused), so every core (MLP, GRU, Transformer, SSM)
and encoder works here as in PPO. Parameters: {"agent": ..., "mixer": ...} ("mixer" is
empty for IQL, VDN and MF-Q). MF-Q needs nothing here: its env is a `MeanFieldEnv`, whose
observations already hold each agent's neighbours' mean previous action
(`marlax.envs.wrappers.mean_field`), so acting, the replay and learning all read it alike.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp

from marlax.algorithms.q_learning.inputs import network_observation_space, with_agent_ids
from marlax.algorithms.q_learning.mixers import QMixer, vdn_mix
from marlax.config.q_learning import QLearningConfig
from marlax.config.schema import ModelConfig
from marlax.envs.base import Env
from marlax.envs.spaces import Box
from marlax.models.base import RecurrentModel
from marlax.models.registry import make_model_for_spaces

Params = dict[str, Any]


@dataclass(frozen=True)
class QNetworks:
    """Agent Q-network, ids and mixer for one env (hashable: static under jit).

    Attributes:
        agent: the shared agent network.
        obs_space: one agent's env observation space (before ids).
        num_agents: N.
        agent_ids: append agent ids to observations.
        mixer: the algorithm: "iql" and "mfq" (no mixer), "vdn" or "qmix".
        qmix: the QMIX mixer module (None otherwise).
        state_size: S, the flattened global state's size (0 unless QMIX).
        num_actions: A.
    """

    agent: RecurrentModel
    obs_space: Box
    num_agents: int
    agent_ids: bool
    mixer: str
    qmix: QMixer | None
    state_size: int
    num_actions: int

    def inputs(self, obs: jax.Array) -> jax.Array:
        """What the agent network reads: obs [*batch, N, *obs_shape] with ids."""
        return with_agent_ids(obs, self.obs_space, self.agent_ids)

    def initialize_carry(self, batch_shape: tuple[int, ...]) -> Any:
        """Empty agent memories for `batch_shape` (e.g. (B, N))."""
        return self.agent.initialize_carry(batch_shape)

    def step(self, params: Params, carry: Any, obs: jax.Array, reset: jax.Array):
        """One step of every agent.

        Args:
            obs: [*batch, N, *obs_shape] env observations; reset: bool[*batch, N].

        Returns:
            (carry, Q-values f32[*batch, N, A]).
        """
        inputs = self.inputs(obs)
        carry, (q, _) = self.agent.apply(params["agent"], carry, inputs, reset)
        return carry, q

    def sequence(self, params: Params, obs_seq: jax.Array, reset_seq: jax.Array) -> jax.Array:
        """Q-values over a sequence that starts with empty memories.

        Args:
            obs_seq: [T, *batch, N, *obs_shape]; reset_seq: bool[T, *batch, N].

        Returns:
            f32[T, *batch, N, A].
        """
        inputs = self.inputs(obs_seq)
        carry = self.initialize_carry(reset_seq.shape[1:])
        _, (q, _) = self.agent.apply(params["agent"], carry, inputs, reset_seq, method="sequence")
        return q

    def mix(self, params: Params, agent_q: jax.Array, state: jax.Array) -> jax.Array:
        """Q_tot f32[...] from agent_q f32[..., N] and the global state f32[..., S]."""
        if self.mixer in ("iql", "mfq"):
            raise ValueError(f"{self.mixer} has no mixer: each agent learns its own Q")
        if self.mixer == "vdn":
            return vdn_mix(agent_q)
        return self.qmix.apply(params["mixer"], agent_q, state)

    def init(self, key: jax.Array) -> Params:
        """Fresh parameters (agent network, and the QMIX mixer when there is one)."""
        agent_key, mixer_key = jax.random.split(key)
        shape = (1, self.num_agents)
        obs = jnp.zeros((*shape, *self.obs_space.shape), self.obs_space.dtype)
        inputs = self.inputs(obs)
        carry = self.initialize_carry(shape)
        params = {"agent": self.agent.init(agent_key, carry, inputs, jnp.ones(shape, bool))}
        mixer_params = {}
        if self.qmix is not None:
            agent_q = jnp.zeros((1, self.num_agents))
            mixer_params = self.qmix.init(mixer_key, agent_q, jnp.zeros((1, self.state_size)))
        return {**params, "mixer": mixer_params}


def global_state_size(env: Env) -> int:
    """S: the size of `env.global_state` flattened (traced for shapes only)."""
    obs_shape = (env.num_agents, *env.observation_space.shape)
    obs = jax.ShapeDtypeStruct(obs_shape, env.observation_space.dtype)
    _, state = jax.eval_shape(env.reset, jax.random.key(0))
    return math.prod(jax.eval_shape(env.global_state, state, obs).shape)


def make_q_networks(
    algorithm: str, model: ModelConfig, q_learning: QLearningConfig, env: Env
) -> QNetworks:
    """The networks of `algorithm` ("iql", "vdn", "qmix" or "mfq") for `env` (for "mfq" a
    `MeanFieldEnv`: `TrainConfig` gives it one)."""
    space = network_observation_space(env.observation_space, env.num_agents, q_learning.agent_ids)
    agent = make_model_for_spaces(
        model.name,
        space,
        env.action_space,
        encoder_settings=dict(model.encoder),
        dtype=model.dtype,
        policy_init_scale=q_learning.head_init_scale,
        **dict(model.core),
    )
    qmix = None
    state_size = 0
    if algorithm == "qmix":
        qmix = QMixer(q_learning.mixer_embed_dim, q_learning.mixer_hypernet_dim)
        state_size = global_state_size(env)
    return QNetworks(
        agent=agent,
        obs_space=env.observation_space,
        num_agents=env.num_agents,
        agent_ids=q_learning.agent_ids,
        mixer=algorithm,
        qmix=qmix,
        state_size=state_size,
        num_actions=env.action_space.n,
    )
