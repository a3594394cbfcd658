"""Per-agent SAC's losses (Haarnoja et al. 2018a, b), pure functions of a sampled batch.

Each agent learns on its own observation o_i, action a_i and reward r_i (independent
learners sharing one actor and one pair of critics, told apart by an agent id). The actor is
a Gaussian over u, squashed to a = tanh(u) in (-1, 1); its log-density by the change of
variables (2018a, appendix C) is

    log pi(a | o) = log N(u; mu(o), sigma(o)) - sum_k log(1 - tanh(u_k)^2)

and with twin critics Q_1, Q_2, targets Q'_1, Q'_2 and temperature alpha:

    y_i         = r_i + gamma (1 - terminated) (min_j Q'_j(o'_i, a'_i) - alpha log pi(a'_i|o'_i))
                  with a'_i ~ pi(. | o'_i)
    critic loss = mean of sum_j (Q_j(o_i, a_i) - y_i)^2
    actor loss  = mean of alpha log pi(a~_i | o_i) - min_j Q_j(o_i, a~_i),   a~_i ~ pi(. | o_i)
    alpha loss  = -mean of log(alpha) * (log pi(a~_i | o_i) + target_entropy)

so alpha rises while the policy's entropy -log pi is below the target and falls above it.

PEARL (Rakelly et al. 2019, meta-RL, a later issue) builds on this module. It will need: a
task latent z as an extra input to the actor and both critics (concatenated with o_i and the
agent id: `ActorCriticNetworks.actor_inputs` is the one place the inputs are assembled); a
context encoder q(z | c) over recent transitions (o, a, r, o') whose parameters are trained
through `critic_loss` (the gradient flows from the critics into z, not from the actor loss:
z is held fixed there) plus a KL term to a unit Gaussian prior; and a replay per task (one
`TransitionReplay` per task, a task axis on the buffer state) so context and training batches
are drawn from the same task.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from marlax.algorithms.off_policy.maddpg import CriticParts
from marlax.algorithms.off_policy.networks import ActorCriticNetworks
from marlax.algorithms.off_policy.replay import Transition
from marlax.algorithms.off_policy.targets import td_target
from marlax.models.heads import DiagGaussian

_LOG_2 = math.log(2.0)


def tanh_log_det(pre_tanh: jax.Array) -> jax.Array:
    """f32[...]: sum_k log(1 - tanh(u_k)^2) over the last axis, in a form that stays finite
    for large |u|: log(1 - tanh(u)^2) = 2 (log 2 - u - softplus(-2u))."""
    return jnp.sum(2.0 * (_LOG_2 - pre_tanh - jax.nn.softplus(-2.0 * pre_tanh)), axis=-1)


def squashed_log_prob(pre_tanh: jax.Array, mean: jax.Array, log_std: jax.Array) -> jax.Array:
    """f32[...]: log pi(tanh(u)) for u f32[..., A] under N(mean, exp(log_std)) (A summed)."""
    return DiagGaussian(mean, log_std).log_prob(pre_tanh) - tanh_log_det(pre_tanh)


def sample_squashed(
    key: jax.Array, mean: jax.Array, log_std: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """A reparameterised sample a = tanh(mean + std * eps) and its log-density.

    Returns:
        (actions f32[..., A] in (-1, 1), log pi(a) f32[...]).
    """
    pre_tanh = DiagGaussian(mean, log_std).sample(key)
    return jnp.tanh(pre_tanh), squashed_log_prob(pre_tanh, mean, log_std)


def _policy_sample(
    key: jax.Array, actor_params: Any, obs: jax.Array, networks: ActorCriticNetworks
) -> tuple[jax.Array, jax.Array]:
    mean, log_std = networks.actor_output(actor_params, obs)
    return sample_squashed(key, mean, log_std)


def soft_td_targets(
    target_critic_params: Any,
    actor_params: Any,
    alpha: jax.Array,
    batch: Transition,
    key: jax.Array,
    networks: ActorCriticNetworks,
    gamma: float,
) -> jax.Array:
    """f32[K, N]: y_i = r_i + gamma (1 - terminated) (min_j Q'_j(o'_i, a'_i) - alpha log pi),
    with a'_i drawn from the current actor by `key`."""
    next_actions, next_log_prob = _policy_sample(key, actor_params, batch.next_obs, networks)
    next_q = networks.own_q(target_critic_params, batch.next_obs, next_actions).min(axis=-1)
    soft_value = next_q - alpha * next_log_prob
    return td_target(batch.reward, batch.terminated, soft_value, gamma)


def critic_loss(
    critic_params: Any,
    target_critic_params: Any,
    actor_params: Any,
    alpha: jax.Array,
    batch: Transition,
    key: jax.Array,
    networks: ActorCriticNetworks,
    gamma: float,
) -> CriticParts:
    """The twin critics' soft TD loss on K transitions (targets: min of the target twins)."""
    target = soft_td_targets(target_critic_params, actor_params, alpha, batch, key, networks, gamma)
    target = jax.lax.stop_gradient(target)
    q = networks.own_q(critic_params, batch.obs, batch.actions)  # f32[K, N, 2]
    loss = jnp.mean(jnp.sum(jnp.square(q - target[..., None]), axis=-1))
    return CriticParts(loss, q.mean(), target.mean())


class ActorParts(NamedTuple):
    """The actor loss and the log-density of its samples (the temperature's input)."""

    loss: jax.Array  # f32[]
    log_prob: jax.Array  # f32[K, N] log pi(a~ | o), gradient stopped


def actor_loss(
    actor_params: Any,
    critic_params: Any,
    alpha: jax.Array,
    batch: Transition,
    key: jax.Array,
    networks: ActorCriticNetworks,
) -> ActorParts:
    """mean(alpha log pi(a~|o) - min_j Q_j(o, a~)) with a reparameterised a~."""
    actions, log_prob = _policy_sample(key, actor_params, batch.obs, networks)
    q = networks.own_q(critic_params, batch.obs, actions).min(axis=-1)
    loss = jnp.mean(alpha * log_prob - q)
    return ActorParts(loss, jax.lax.stop_gradient(log_prob))


def alpha_loss(log_alpha: jax.Array, log_prob: jax.Array, target_entropy: float) -> jax.Array:
    """f32[]: -mean(log_alpha * (log pi + target_entropy)) (log pi held fixed)."""
    return -jnp.mean(log_alpha * jax.lax.stop_gradient(log_prob + target_entropy))
