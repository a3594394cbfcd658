"""Epochs of minibatch gradient steps on one rollout.

Every (env, agent) pair of the rollout is one sequence of T steps. Recurrent models learn on
whole sequences, replayed from the memory they had when the rollout began (episode starts inside
a sequence reset the memory, as when acting). Feed-forward models learn on shuffled single steps
(the T * B * N samples are laid out as 1-step sequences). Minibatches split the sequence axis.
A team-coupled model (`model.coordination`) learns on whole teams instead: every leaf keeps the
agent axis after the sequence axis, [T, K, N, ...], and minibatches split teams
(`marlax.algorithms.ppo.teams`).

A centralised critic's states stay one per env step: the batch holds the rollout's table
f32[T * B, C] whole (never shuffled, split or copied per agent) and each sample's row and agent
index, laid out and shuffled like every other leaf (`marlax.algorithms.ppo.centralised`).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from flax import struct

from marlax.algorithms.common.gae import gae, next_values
from marlax.algorithms.common.losses import (
    clipped_surrogate,
    masked_mean,
    normalize,
    value_loss,
)
from marlax.algorithms.common.shuffle import permutation
from marlax.algorithms.ppo.centralised import CentralisedInput, per_env_input
from marlax.algorithms.ppo.networks import Networks, Params
from marlax.algorithms.ppo.teams import team_layout, team_weight
from marlax.algorithms.ppo.types import HyperparamOverrides, RunnerState, Transition
from marlax.config.schema import PPOConfig
from marlax.models.heads import distribution


class LossMetrics(NamedTuple):
    """Means over one minibatch (f32[] each)."""

    policy: jax.Array
    value: jax.Array
    entropy: jax.Array
    approx_kl: jax.Array
    clip_fraction: jax.Array
    total: jax.Array
    next_obs: jax.Array  # the next-observation head's squared error (0 without the head)


@struct.dataclass
class Batch:
    """Learning data laid out as K sequences of length T: every leaf leads with [T, K], except
    the carries ([K, ...]) and the centralised critic's state table."""

    transition: Transition  # its critic_state is None: the states are in `critic`
    advantages: jax.Array  # f32[T, K]
    targets: jax.Array  # f32[T, K]
    weight: jax.Array  # f32[T, K] 1 for real agents, 0 for padding
    actor_carry: Any  # [K, ...] memory before the first step
    critic_carry: Any  # [K, ...]
    # with a next-observation head (else None): the observation after each step, and
    # weight x (that observation belongs to the same episode and lies inside the rollout)
    next_obs: Any = None  # [T, K, *model_obs_shape]
    next_obs_weight: Any = None  # f32[T, K]
    # with a centralised critic (else None): state f32[T * B, C] the rollout's per-env states,
    # whole in every minibatch; row, agent i32[T, K] which state and agent each sample reads
    critic: CentralisedInput | None = None


def next_observations(transitions: Transition) -> tuple[jax.Array, jax.Array]:
    """The target of the next-observation head at every step of a rollout [T, B, N, ...].

    Returns:
        (next_obs [T, B, N, *obs_shape]: model_obs of step t + 1 (zeros at the last step),
        has_next bool[T, B, N]: step t + 1 continues step t's episode inside the rollout).
    """
    obs, done = transitions.model_obs, transitions.done
    next_obs = jnp.concatenate([obs[1:], jnp.zeros_like(obs[:1])])
    has_next = jnp.concatenate([~done[:-1], jnp.zeros_like(done[:1])])
    return next_obs, has_next


def advantages_and_targets(
    transitions: Transition, last_value: jax.Array, gamma: float, gae_lambda: float
) -> tuple[jax.Array, jax.Array]:
    """GAE for every (env, agent) trajectory.

    Args:
        transitions: [T, B, N, ...].
        last_value: f32[B, N].

    Returns:
        (advantages f32[T, B, N], targets f32[T, B, N]).
    """

    def _one(value_t, last, final_value_t, done_t, terminated_t, reward_t):
        next_value_t = next_values(value_t, last, final_value_t, done_t, terminated_t)
        return gae(reward_t, value_t, next_value_t, done_t, gamma, gae_lambda)

    per_agent = jax.vmap(_one, in_axes=(1, 0, 1, 1, 1, 1), out_axes=1)
    per_env = jax.vmap(per_agent, in_axes=(1, 0, 1, 1, 1, 1), out_axes=1)
    t = transitions
    return per_env(t.value, last_value, t.final_value, t.done, t.terminated, t.reward)


def make_batch(
    networks: Networks,
    transitions: Transition,
    advantages: jax.Array,
    targets: jax.Array,
    agent_valid: jax.Array,
    actor_carry: Any,
    critic_carry: Any,
    *,
    teams: bool | None = None,
) -> Batch:
    """Flatten [T, B, N] to [T, K]: K = B * N sequences, or K = T * B * N single steps (mlp);
    or, for a team-coupled model, keep the teams whole (`marlax.algorithms.ppo.teams`): leaves
    [T, K, N, ...] with K = B team sequences, or K = T * B team-steps (mlp).

    Args:
        agent_valid: bool[B, N] (or bool[T, B, N]); actor_carry, critic_carry: [B, N, ...]
            memory at rollout start.
        teams: force the team layout (True) or the flat one (False); None = the team layout
            exactly when `networks.team_coupled`.
    """
    steps, envs, agents = advantages.shape
    if networks.team_coupled if teams is None else teams:
        return _team_batch(
            networks, transitions, advantages, targets, agent_valid, actor_carry, critic_carry
        )
    weight = jnp.broadcast_to(agent_valid.astype(jnp.float32), advantages.shape)
    data, table = _rollout_batch(networks, transitions, advantages, targets, weight)
    if networks.feed_forward:
        count = steps * envs * agents
        data = jax.tree.map(lambda x: x.reshape(1, count, *x.shape[3:]), data)
        actor_carry, critic_carry = networks.initialize_carry((count,))
    else:
        count = envs * agents
        data = jax.tree.map(lambda x: x.reshape(steps, count, *x.shape[3:]), data)
        actor_carry, critic_carry = jax.tree.map(
            lambda x: x.reshape(count, *x.shape[2:]), (actor_carry, critic_carry)
        )
    data = data.replace(actor_carry=actor_carry, critic_carry=critic_carry)
    return with_critic_table(data, table)


def _rollout_batch(
    networks: Networks,
    transitions: Transition,
    advantages: jax.Array,
    targets: jax.Array,
    weight: jax.Array,
) -> tuple[Batch, jax.Array | None]:
    """(the rollout's [T, B, N, ...] fields as a Batch without carries and without the
    centralised critic's state table, that table f32[T * B, C] or None): both layouts start
    here; the carries and the table are set after the leaves are laid out."""
    next_obs = next_obs_weight = None
    if networks.next_obs_head:
        next_obs, has_next = next_observations(transitions)
        next_obs_weight = weight * has_next
    table, index = _critic_index(networks, transitions)
    data = Batch(
        transitions.replace(critic_state=None),
        advantages,
        targets,
        weight,
        None,
        None,
        next_obs,
        next_obs_weight,
        index,
    )
    return data, table


def _critic_index(
    networks: Networks, transitions: Transition
) -> tuple[jax.Array | None, CentralisedInput | None]:
    """(the centralised critic's state table f32[T * B, C], each sample's row and agent
    i32[T, B, N] without the table), or (None, None) without a centralised critic.

    Args:
        transitions: [T, B, N, ...] with `critic_state` f32[T, B, C].
    """
    if not networks.centralised:
        return None, None
    num_agents = transitions.value.shape[2]
    full = per_env_input(transitions.critic_state, num_agents)
    return full.state, full._replace(state=None)


def with_critic_table(batch: Batch, table: jax.Array | None) -> Batch:
    """`batch` with the centralised critic's state table f32[R, C] put back (None: none)."""
    if table is None:
        return batch
    return batch.replace(critic=batch.critic._replace(state=table))


def without_critic_table(batch: Batch) -> tuple[Batch, jax.Array | None]:
    """(`batch` whose leaves all lead with [T, K] (or [K] for carries), the state table or
    None): what may be shuffled and split, and what every minibatch reads whole."""
    if batch.critic is None:
        return batch, None
    return batch.replace(critic=batch.critic._replace(state=None)), batch.critic.state


def _team_batch(
    networks: Networks,
    transitions: Transition,
    advantages: jax.Array,
    targets: jax.Array,
    agent_valid: jax.Array,
    actor_carry: Any,
    critic_carry: Any,
) -> Batch:
    """`make_batch`'s team layout: leaves [T, K, N, ...], carries [K, N, ...]."""
    steps, envs, agents = advantages.shape
    weight = team_weight(agent_valid, getattr(transitions, "team", None), advantages.shape)
    data, table = _rollout_batch(networks, transitions, advantages, targets, weight)
    data = team_layout(data, networks.feed_forward)
    if networks.feed_forward:
        actor_carry, critic_carry = networks.initialize_carry((steps * envs, agents))
    data = data.replace(actor_carry=actor_carry, critic_carry=critic_carry)
    return with_critic_table(data, table)


def _critic_loss(
    networks: Networks,
    value: jax.Array,
    old_value: jax.Array,
    batch: Batch,
    clip_eps: float | None,
) -> jax.Array:
    """The value loss on one minibatch: HL-Gauss cross-entropy or (clipped) squared error.

    Args:
        value: f32[T, K] values, or f32[T, K, bins] logits under `networks.value_histogram`.
        old_value: f32[T, K] the values seen when acting (for clipping).

    Returns:
        f32[].
    """
    if networks.value_histogram is not None:
        return networks.value_histogram.loss(value, batch.targets, batch.weight)
    return value_loss(value, old_value, batch.targets, batch.weight, clip_eps)


def rollout_batch(
    networks: Networks,
    agent_valid: jax.Array,
    transitions: Transition,
    last_value: jax.Array,
    start: RunnerState,
    ppo: PPOConfig,
) -> Batch:
    """GAE on a rollout [T, B, N, ...], then its learning layout (`make_batch`).

    Args:
        agent_valid: bool[B, N] (`TaskLayout.agent_valid`); last_value: f32[B, N];
        start: the runner at rollout start (its memories are where replay begins).
    """
    advantages, targets = advantages_and_targets(transitions, last_value, ppo.gamma, ppo.gae_lambda)
    return make_batch(
        networks,
        transitions,
        advantages,
        targets,
        agent_valid,
        start.actor_carry,
        start.critic_carry,
    )


def ppo_loss(
    params: Params,
    networks: Networks,
    batch: Batch,
    ppo: PPOConfig,
    overrides: HyperparamOverrides | None = None,
) -> tuple[jax.Array, LossMetrics]:
    """Clipped surrogate + value_coef * value loss - entropy_coef * entropy on one minibatch,
    + next_obs_coef * the next-observation head's squared error when the actor has one.

    The value loss is the HL-Gauss cross-entropy when the networks' value is a histogram
    (`ppo.value_head = "hl_gauss"`), else the (clipped) squared error. `overrides` (f32[]
    each, population-based training) replace `ppo.entropy_coef` and `ppo.clip_eps`.
    """
    entropy_coef = ppo.entropy_coef if overrides is None else overrides.entropy_coef
    clip_eps = ppo.clip_eps if overrides is None else overrides.clip_eps
    t = batch.transition
    policy_output, value, predicted = networks.replay(
        params,
        batch.actor_carry,
        batch.critic_carry,
        t.model_obs,
        batch.critic,  # None unless centralised: the state table, each sample's row and agent
        t.reset,
        t.action,
        team=getattr(t, "team", None),  # recorded by the rollout of team-coupled networks
    )
    next_obs_loss = jnp.zeros((), jnp.float32)
    if predicted is not None:
        next_obs_loss = next_obs_error(predicted, batch.next_obs, batch.next_obs_weight)
    legal = None if t.legal_mask.shape[-1] == 0 else t.legal_mask
    policy = distribution(policy_output, legal)
    log_prob = policy.log_prob(t.action)
    advantages = batch.advantages
    if ppo.normalize_advantages:
        advantages = normalize(advantages, batch.weight)
    policy_loss, approx_kl, clip_fraction = clipped_surrogate(
        log_prob, t.log_prob, advantages, batch.weight, clip_eps
    )
    critic_loss = _critic_loss(networks, value, t.value, batch, ppo.value_clip_eps)
    entropy = masked_mean(policy.entropy(), batch.weight)
    total = policy_loss + ppo.value_coef * critic_loss - entropy_coef * entropy
    total = total + ppo.next_obs_coef * next_obs_loss
    metrics = LossMetrics(
        policy_loss, critic_loss, entropy, approx_kl, clip_fraction, total, next_obs_loss
    )
    return total, metrics


def next_obs_error(predicted: jax.Array, target: jax.Array, weight: jax.Array) -> jax.Array:
    """Weighted mean over steps of the squared error summed over observation features.

    Args:
        predicted, target: f32[..., D]; weight: f32[...] (0 where there is no next step).

    Returns:
        f32[].
    """
    squared = jnp.sum(jnp.square(predicted - target.astype(predicted.dtype)), axis=-1)
    return masked_mean(squared, weight)


def _minibatches(key: jax.Array, batch: Batch, num_minibatches: int) -> Batch:
    """Shuffle the K sequences and split them: leaves [T, K, ...] -> [M, T, K / M, ...] (carries
    [M, K / M, ...]); in the team layout the K are teams, so each minibatch holds whole teams.
    `batch` holds no centralised state table (`without_critic_table`): it is not split."""
    count = batch.advantages.shape[1]
    order = permutation(key, count)  # jax.random.permutation's sort is ~5x slower on XLA:CPU
    size = count // num_minibatches

    def _split_time_major(x: jax.Array) -> jax.Array:
        x = jnp.take(x, order, axis=1)
        x = x.reshape(x.shape[0], num_minibatches, size, *x.shape[2:])
        return jnp.swapaxes(x, 0, 1)

    def _split_carry(x: jax.Array) -> jax.Array:
        return jnp.take(x, order, axis=0).reshape(num_minibatches, size, *x.shape[1:])

    time_major = jax.tree.map(_split_time_major, batch.replace(actor_carry=None, critic_carry=None))
    actor_carry, critic_carry = jax.tree.map(_split_carry, (batch.actor_carry, batch.critic_carry))
    return time_major.replace(actor_carry=actor_carry, critic_carry=critic_carry)


def learn(
    key: jax.Array,
    networks: Networks,
    optimizer: optax.GradientTransformation,
    params: Params,
    opt_state: Any,
    batch: Batch,
    ppo: PPOConfig,
    overrides: HyperparamOverrides | None = None,
) -> tuple[Params, Any, LossMetrics]:
    """`ppo.num_epochs` passes of `ppo.num_minibatches` gradient steps.

    Args:
        optimizer: the member's optimiser; population-based training builds each member's
            with its own learning rate (`update.make_optimizer`'s `learning_rate_scale`).
        overrides: None (plain PPO: the config's values), or traced per-member entropy
            coefficient and clip (`ppo_loss`).

    Returns:
        (params, opt_state, metrics: each f32[] the mean over all minibatch steps).
    """
    grad_fn = jax.value_and_grad(ppo_loss, has_aux=True)
    batch, table = without_critic_table(batch)

    def _minibatch_step(carry: tuple, minibatch: Batch) -> tuple:
        """Carries (params, opt_state); stacks the minibatch's LossMetrics."""
        params, opt_state = carry
        minibatch = with_critic_table(minibatch, table)  # every minibatch reads the whole table
        (_, metrics), grads = grad_fn(params, networks, minibatch, ppo, overrides)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return (optax.apply_updates(params, updates), opt_state), metrics

    def _epoch(carry: tuple, epoch_key: jax.Array) -> tuple:
        """Carries (params, opt_state); stacks the epoch's LossMetrics [M]."""
        minibatches = _minibatches(epoch_key, batch, ppo.num_minibatches)
        return jax.lax.scan(_minibatch_step, carry, minibatches)

    epoch_keys = jax.random.split(key, ppo.num_epochs)
    (params, opt_state), metrics = jax.lax.scan(_epoch, (params, opt_state), epoch_keys)
    return params, opt_state, jax.tree.map(jnp.mean, metrics)
