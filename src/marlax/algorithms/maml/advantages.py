"""Returns-to-go, rllab's linear feature baseline, and the advantages of one task's batch.

    returns = returns_to_go(reward_t, valid_t, gamma)             # f32[T, ...]
    weights = fit_linear_baseline(features, returns, valid)       # ridge least squares
    advantages = task_advantages(trajectories, gamma, "linear", normalize=True)

As in the MAML reference code (cbfinn/maml_rl on rllab): the baseline is `LinearFeatureBaseline`
(features obs, obs^2, t/100, (t/100)^2, (t/100)^3, 1 with obs clipped to [-10, 10], ridge
coefficient 1e-5), fitted on the task's own trajectories, and the advantages returns - baseline
are standardised over the batch (`center_adv`). Advantages are data, not functions of the
policy: the reference computes them outside its graph, so here they carry no gradient.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from marlax.algorithms.maml.rollout import Trajectories

RIDGE = 1e-5
"""rllab's `reg_coeff`: the ridge term added to the normal equations' diagonal."""
OBS_CLIP = 10.0
"""rllab clips observations to [-10, 10] before building the features."""
TIME_SCALE = 100.0
"""rllab's time feature is the step index / 100."""


def returns_to_go(reward_t: jax.Array, valid_t: jax.Array, gamma: float) -> jax.Array:
    """G_t = r_t + gamma * G_{t+1}, with G = 0 after the episode ends.

    Args:
        reward_t: f32[T, ...] rewards.
        valid_t: bool[T, ...] the step belongs to the episode (broadcastable to reward_t).
        gamma: the discount.

    Returns:
        f32[T, ...] the discounted return from each step (0 on invalid steps).
    """
    masked = jnp.where(valid_t, reward_t, 0.0)

    def _body(future: jax.Array, reward: jax.Array) -> tuple[jax.Array, jax.Array]:
        """Carries G_{t+1}; stacks G_t (time runs backwards)."""
        value = reward + gamma * future
        return value, value

    _, returns = jax.lax.scan(_body, jnp.zeros_like(masked[0]), masked, reverse=True)
    return jnp.where(valid_t, returns, 0.0)


def baseline_features(obs: jax.Array) -> jax.Array:
    """rllab's LinearFeatureBaseline features of every step.

    Args:
        obs: f32[T, ..., D] observations, time leading.

    Returns:
        f32[T, ..., 2 D + 4]: obs, obs^2, t/100, (t/100)^2, (t/100)^3, 1.
    """
    clipped = jnp.clip(obs.astype(jnp.float32), -OBS_CLIP, OBS_CLIP)
    time = jnp.arange(obs.shape[0], dtype=jnp.float32) / TIME_SCALE
    time = jnp.broadcast_to(time.reshape((-1,) + (1,) * (obs.ndim - 1)), (*obs.shape[:-1], 1))
    ones = jnp.ones_like(time)
    return jnp.concatenate([clipped, clipped**2, time, time**2, time**3, ones], axis=-1)


def fit_linear_baseline(
    features: jax.Array, returns: jax.Array, valid: jax.Array, ridge: float = RIDGE
) -> jax.Array:
    """Ridge least squares: w = (F^T F + ridge I)^+ F^T G over the valid rows.

    As rllab, the normal equations are solved by least squares (a pseudo-inverse), so
    collinear features (e.g. a goal shown in the observation, constant over a task's
    batch, next to the constant feature) give the minimum-norm fit instead of NaN.

    Args:
        features: f32[R, F]; returns: f32[R]; valid: bool[R] (invalid rows are left out).

    Returns:
        f32[F] the weights.
    """
    weight = valid.astype(jnp.float32)[:, None]
    gram = (features * weight).T @ features
    target = (features * weight).T @ returns
    size = features.shape[-1]
    regularised = gram + ridge * jnp.eye(size, dtype=gram.dtype)
    return jnp.linalg.lstsq(regularised, target)[0]


def standardize(values: jax.Array, valid: jax.Array) -> jax.Array:
    """(values - mean) / (std + 1e-8) over the valid entries (rllab's `center_adv`)."""
    weight = valid.astype(jnp.float32)
    count = jnp.maximum(weight.sum(), 1.0)
    mean = jnp.sum(values * weight) / count
    variance = jnp.sum(jnp.square(values - mean) * weight) / count
    return jnp.where(valid, (values - mean) / (jnp.sqrt(variance) + 1e-8), 0.0)


def task_advantages(
    trajectories: Trajectories, gamma: float, baseline: str, normalize: bool
) -> jax.Array:
    """The advantages of one task's K trajectories (no gradient flows through them).

    Args:
        trajectories: obs [T, K, N, D], rewards f32[T, K, N], valid bool[T, K].
        gamma: discount of the returns-to-go.
        baseline: "linear" (fitted on these trajectories) or "none".
        normalize: standardise over the batch's valid steps.

    Returns:
        f32[T, K, N], 0 on steps after an episode ended.
    """
    valid = jnp.broadcast_to(trajectories.valid[..., None], trajectories.rewards.shape)
    returns = returns_to_go(trajectories.rewards, valid, gamma)
    advantages = returns
    if baseline == "linear":
        obs = trajectories.obs.reshape(*trajectories.obs.shape[:3], -1)
        features = baseline_features(obs)
        flat = features.reshape(-1, features.shape[-1])
        weights = fit_linear_baseline(flat, returns.reshape(-1), valid.reshape(-1))
        advantages = returns - (flat @ weights).reshape(returns.shape)
    if normalize:
        advantages = standardize(advantages, valid)
    return jax.lax.stop_gradient(jnp.where(valid, advantages, 0.0))
