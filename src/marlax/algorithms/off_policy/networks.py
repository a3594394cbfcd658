"""The shared actor and critic MLPs of MADDPG and SAC, and the inputs they read.

Every agent runs the same actor (parameter sharing) on its own observation plus a one-hot
agent id. Continuous actions live in the box [-1, 1]^A inside the learner (tanh outputs);
`to_env` maps them affinely onto the env's Box [low, high] at the env boundary only, so the
replay and the critics see [-1, 1] actions. Discrete actions (MADDPG on a `Discrete(A)` env)
live as one-hot vectors f32[A] inside the learner; `to_env` takes their argmax.

- MADDPG (Lowe et al. 2017): a deterministic actor mu(o_i) = tanh(MLP(o_i, id_i)), and one
  centralised critic Q_i(o_1..o_N, a_1..a_N) per agent (one MLP, shared, told apart by id_i).
  On a discrete env the actor's MLP outputs logits over the A actions instead, and the
  actions the critic reads in the losses are Gumbel-softmax samples of them (`gumbel.py`).
- SAC (Haarnoja et al. 2018): a Gaussian actor (mean and log-std, squashed by tanh when
  sampled, `sac.py`), and twin critics Q_1, Q_2(o_i, id_i, a_i) on the agent's own
  observation and action (independent learners).

Parameters: {"actor": ..., "critic": ...}.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from marlax.algorithms.off_policy.gumbel import greedy_one_hot, relaxed_action
from marlax.config.actor_critic import OffPolicyConfig
from marlax.envs.base import Env
from marlax.envs.spaces import Discrete
from marlax.models.base import dense

Params = dict[str, Any]

LOG_STD_MIN = -5.0
LOG_STD_MAX = 2.0
"""The range SAC's actor log-std is squashed into (as cleanrl's SAC): a std in [0.007, 7.4]."""


class MLP(nn.Module):
    """ReLU layers, then a linear output: f32[..., D] -> f32[..., out_size]."""

    hidden_sizes: tuple[int, ...]
    out_size: int

    @nn.compact
    def __call__(self, inputs: jax.Array) -> jax.Array:
        features = inputs
        for size in self.hidden_sizes:
            features = nn.relu(dense(size)(features))
        return dense(self.out_size)(features)


class DeterministicActor(nn.Module):
    """MADDPG's actor: f32[..., D] -> actions f32[..., A] in [-1, 1]."""

    hidden_sizes: tuple[int, ...]
    action_dim: int

    @nn.compact
    def __call__(self, inputs: jax.Array) -> jax.Array:
        return jnp.tanh(MLP(self.hidden_sizes, self.action_dim)(inputs))


class GaussianActor(nn.Module):
    """SAC's actor: f32[..., D] -> (mean f32[..., A], log_std f32[..., A]) of the Gaussian
    before the tanh; log_std is squashed smoothly into [LOG_STD_MIN, LOG_STD_MAX]."""

    hidden_sizes: tuple[int, ...]
    action_dim: int

    @nn.compact
    def __call__(self, inputs: jax.Array) -> tuple[jax.Array, jax.Array]:
        out = MLP(self.hidden_sizes, 2 * self.action_dim)(inputs)
        mean, raw_log_std = jnp.split(out, 2, axis=-1)
        fraction = 0.5 * (jnp.tanh(raw_log_std) + 1.0)
        return mean, LOG_STD_MIN + fraction * (LOG_STD_MAX - LOG_STD_MIN)


class Critics(nn.Module):
    """`num_critics` independent Q-networks: f32[..., D] -> f32[..., num_critics]."""

    hidden_sizes: tuple[int, ...]
    num_critics: int

    @nn.compact
    def __call__(self, inputs: jax.Array) -> jax.Array:
        values = [MLP(self.hidden_sizes, 1)(inputs)[..., 0] for _ in range(self.num_critics)]
        return jnp.stack(values, axis=-1)


def _ids(num_agents: int, batch: tuple[int, ...], enabled: bool) -> jax.Array:
    """f32[*batch, N, N] one-hot agent ids (f32[*batch, N, 0] when disabled)."""
    eye = jnp.eye(num_agents, dtype=jnp.float32) if enabled else jnp.zeros((num_agents, 0))
    return jnp.broadcast_to(eye, (*batch, *eye.shape))


@dataclass(frozen=True)
class ActorCriticNetworks:
    """The actor and critic of one learner for one env (hashable: static under jit).

    Attributes:
        algorithm: "maddpg" or "sac".
        num_agents: N.
        obs_dim: D, one agent's observation length.
        action_dim: A.
        agent_ids: append one-hot ids to the networks' inputs.
        action_low, action_high: the env's Box bounds (scalars; 0 and 1 when discrete).
        actor: `DeterministicActor` (MADDPG), `MLP` logits (discrete MADDPG) or
            `GaussianActor` (SAC).
        critic: `Critics` with 1 (MADDPG) or 2 (SAC) outputs.
        discrete: the env's actions are `Discrete(A)` (MADDPG with Gumbel-softmax).
        gumbel_temperature, gumbel_estimator: how discrete MADDPG relaxes the actor's
            samples in its losses (`gumbel.relaxed_action`).
    """

    algorithm: str
    num_agents: int
    obs_dim: int
    action_dim: int
    agent_ids: bool
    action_low: float
    action_high: float
    actor: nn.Module
    critic: nn.Module
    discrete: bool = False
    gumbel_temperature: float = 1.0
    gumbel_estimator: str = "soft"

    def actor_inputs(self, obs: jax.Array) -> jax.Array:
        """f32[..., N, D] -> f32[..., N, D (+ N)]: each agent's obs with its id."""
        ids = _ids(self.num_agents, obs.shape[:-2], self.agent_ids)
        return jnp.concatenate([obs.astype(jnp.float32), ids], axis=-1)

    def actor_output(self, actor_params: Any, obs: jax.Array) -> Any:
        """MADDPG: actions f32[..., N, A] in [-1, 1] (discrete: logits f32[..., N, A], illegal
        actions not yet masked); SAC: (mean, log_std) f32[..., N, A]."""
        return self.actor.apply(actor_params, self.actor_inputs(obs))

    def all_legal(self, obs: jax.Array) -> jax.Array:
        """bool[..., N, A] all True: the mask of an env without illegal actions."""
        return jnp.ones((*obs.shape[:-1], self.action_dim), bool)

    def greedy_actions(
        self, actor_params: Any, obs: jax.Array, legal: jax.Array | None = None
    ) -> jax.Array:
        """f32[..., N, A]: mu(o) in [-1, 1] for MADDPG, tanh(mean) for SAC; for discrete
        MADDPG the one-hot of the best legal logit (`legal` bool[..., N, A], None = all)."""
        out = self.actor_output(actor_params, obs)
        if self.discrete:
            return greedy_one_hot(out, self.all_legal(obs) if legal is None else legal)
        return out if self.algorithm == "maddpg" else jnp.tanh(out[0])

    def loss_actions(
        self, key: jax.Array, actor_params: Any, obs: jax.Array, legal: jax.Array
    ) -> tuple[jax.Array, jax.Array]:
        """MADDPG's actions in its losses (target actions, the actor loss's own action):
        (actions f32[..., N, A], the actor's raw output f32[..., N, A]).

        Continuous: mu(o) (`key` unused). Discrete: the Gumbel-softmax sample of the legal
        logits, relaxed by `gumbel_estimator` (differentiable in the logits).
        """
        out = self.actor_output(actor_params, obs)
        if not self.discrete:
            return out, out
        temperature, estimator = self.gumbel_temperature, self.gumbel_estimator
        return relaxed_action(key, out, legal, temperature, estimator), out

    def centralised_q(self, critic_params: Any, obs: jax.Array, joint: jax.Array) -> jax.Array:
        """MADDPG's Q_i(o_1..o_N, a_1..a_N) for every agent i.

        Args:
            obs: f32[..., N, D] every agent's observation.
            joint: f32[..., N, N, A]: joint[..., i, :, :] is the joint action agent i's
                critic values (the same for every i in the critic loss; the actor loss puts
                mu_i(o_i) into row i's own slot).

        Returns:
            f32[..., N]: Q_i.
        """
        inputs = self._centralised_inputs(obs, joint)
        return self.critic.apply(critic_params, inputs)[..., 0]

    def own_q(self, critic_params: Any, obs: jax.Array, actions: jax.Array) -> jax.Array:
        """SAC's twin Q_1, Q_2(o_i, a_i): obs f32[..., N, D], actions f32[..., N, A] ->
        f32[..., N, 2]."""
        inputs = jnp.concatenate([self.actor_inputs(obs), actions], axis=-1)
        return self.critic.apply(critic_params, inputs)

    def to_env(self, actions: jax.Array) -> jax.Array:
        """[-1, 1] actions f32[..., A] -> the env's box [low, high] (clipped: a tanh can
        round to exactly +-1); discrete: one-hot f32[..., A] -> i32[...] (the argmax)."""
        if self.discrete:
            return jnp.argmax(actions, axis=-1).astype(jnp.int32)
        scaled = self.action_low + 0.5 * (actions + 1.0) * (self.action_high - self.action_low)
        return jnp.clip(scaled, self.action_low, self.action_high)

    def init(self, key: jax.Array) -> Params:
        """Fresh actor and critic parameters."""
        actor_key, critic_key = jax.random.split(key)
        obs = jnp.zeros((1, self.num_agents, self.obs_dim), jnp.float32)
        actions = jnp.zeros((1, self.num_agents, self.action_dim), jnp.float32)
        actor = self.actor.init(actor_key, self.actor_inputs(obs))
        if self.algorithm == "maddpg":
            joint = jnp.broadcast_to(actions[:, None], (1, self.num_agents, *actions.shape[1:]))
            inputs = self._centralised_inputs(obs, joint)
        else:
            inputs = jnp.concatenate([self.actor_inputs(obs), actions], axis=-1)
        return {"actor": actor, "critic": self.critic.init(critic_key, inputs)}

    def _centralised_inputs(self, obs: jax.Array, joint: jax.Array) -> jax.Array:
        """f32[..., N, N*D + N*A (+ N)]: all observations, row i's joint action, id i."""
        batch = obs.shape[:-2]
        all_obs = obs.reshape(*batch, 1, -1).astype(jnp.float32)
        all_obs = jnp.broadcast_to(all_obs, (*batch, self.num_agents, all_obs.shape[-1]))
        ids = _ids(self.num_agents, batch, self.agent_ids)
        return jnp.concatenate([all_obs, joint.reshape(*batch, self.num_agents, -1), ids], -1)


def make_networks(algorithm: str, off_policy: OffPolicyConfig, env: Env) -> ActorCriticNetworks:
    """The networks of `algorithm` ("maddpg" or "sac") for `env` (vector obs; Box actions,
    or for MADDPG also Discrete ones)."""
    action_space = env.action_space
    discrete = isinstance(action_space, Discrete)
    if discrete:
        action_dim, low, high = action_space.n, 0.0, 1.0
        actor: nn.Module = MLP(off_policy.actor_hidden_sizes, action_dim)  # logits
    else:
        action_dim = action_space.shape[0]
        low, high = float(action_space.low), float(action_space.high)
        actor = DeterministicActor(off_policy.actor_hidden_sizes, action_dim)
    num_critics = 1
    if algorithm == "sac":
        actor = GaussianActor(off_policy.actor_hidden_sizes, action_dim)
        num_critics = 2
    return ActorCriticNetworks(
        algorithm=algorithm,
        num_agents=env.num_agents,
        obs_dim=env.observation_space.shape[0],
        action_dim=action_dim,
        agent_ids=off_policy.agent_ids,
        action_low=low,
        action_high=high,
        actor=actor,
        critic=Critics(off_policy.critic_hidden_sizes, num_critics),
        discrete=discrete,
        gumbel_temperature=off_policy.gumbel_temperature,
        gumbel_estimator=off_policy.gumbel_estimator,
    )
