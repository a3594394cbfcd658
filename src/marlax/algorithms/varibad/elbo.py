"""VariBAD's ELBO on whole trials (Zintgraf et al. 2020, eq. (9); the reference's `vae.py`).

For one trajectory of T steps the encoder gives beliefs q_0 (before any step) .. q_T. Each
belief is one ELBO term: a latent z_t ~ q_t decodes every reward of the trial,
r_j ~ p(r | s_{j+1}[, a_j], z_t) for j = 0..T-1 (past and future alike), and, with
`decode_state`, every transition s_{j+1} ~ p(s' | s_j, a_j, z_t). As the reference, the
reconstruction errors are summed over the decoded steps and over the ELBO terms, the KL terms
KL(q_t || q_{t-1}) (q_{-1} = N(0, I)) summed over t, and both averaged over trajectories.

Left out: steps after the trial's end (`alive` = 0) and, as decoding targets, steps that
ended an inner episode before the trial's end: `TrialEnv` shows the next inner episode's first
observation there, not the state the reward was paid in.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from marlax.algorithms.varibad.belief import sample_latent, sequential_kl
from marlax.algorithms.varibad.networks import VariBADNetworks
from marlax.algorithms.varibad.rollout import Trials
from marlax.config.varibad import VariBADConfig


class ElboTerms(NamedTuple):
    """Per trajectory: reward and state reconstruction sums and the KL sum (f32[] each)."""

    reward: jax.Array
    state: jax.Array
    kl: jax.Array


class Trajectory(NamedTuple):
    """One agent's trial as the VAE reads it (leaves lead with [T])."""

    obs: jax.Array  # f32[T, O] before each step
    next_obs: jax.Array  # f32[T, O] after each step
    alive: jax.Array  # f32[T]
    target: jax.Array  # f32[T] 1 where the step's reward and s_{t+1} are decoding targets


def trajectories(trials: Trials) -> Trajectory:
    """Every (env, agent) trial as one trajectory: leaves [K = B * N, T, ...]."""
    num_steps, num_envs, num_agents = trials.reward.shape

    def _per_agent(leaf: jax.Array) -> jax.Array:
        flat = leaf.reshape(num_steps, num_envs * num_agents, *leaf.shape[3:])
        return jnp.swapaxes(flat, 0, 1)

    def _per_env(leaf: jax.Array) -> jax.Array:
        spread = jnp.broadcast_to(leaf[:, :, None], (num_steps, num_envs, num_agents))
        return _per_agent(spread)

    target = trials.alive * (~trials.inner_done | trials.done).astype(jnp.float32)
    return Trajectory(
        obs=_per_agent(trials.obs),
        next_obs=_per_agent(trials.next_obs),
        alive=_per_env(trials.alive),
        target=_per_env(target),
    )


def encode_trajectory(
    networks: VariBADNetworks, vae_params: Any, next_obs: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """The beliefs q_0 .. q_T of one trajectory: (mean, logvar) f32[T + 1, L]."""
    hidden, prior_mean, prior_logvar = networks.prior(vae_params, ())

    def _body(hidden: jax.Array, obs: jax.Array) -> tuple[jax.Array, tuple]:
        """Carries the GRU state; stacks the belief after each step."""
        hidden, mean, logvar = networks.encode_step(vae_params, hidden, obs)
        return hidden, (mean, logvar)

    _, (mean_t, logvar_t) = jax.lax.scan(_body, hidden, next_obs)
    mean_t = jnp.concatenate([prior_mean[None], mean_t])
    logvar_t = jnp.concatenate([prior_logvar[None], logvar_t])
    return mean_t, logvar_t


def _elbo_indices(key: jax.Array, num_beliefs: int, decode_elbos: int | None) -> jax.Array:
    """Which beliefs decode: all, or `decode_elbos` of them drawn without replacement."""
    if decode_elbos is None or decode_elbos >= num_beliefs:
        return jnp.arange(num_beliefs)
    return jax.random.choice(key, num_beliefs, (decode_elbos,), replace=False)


def _reward_errors(
    networks: VariBADNetworks, vae_params: Any, latents: jax.Array, path: Trajectory, bce: bool
) -> jax.Array:
    """f32[E, T]: the error of decoding reward j from latent e."""
    layout = networks.layout
    num_latents, num_steps = latents.shape[0], path.next_obs.shape[0]
    grid = (num_latents, num_steps)
    state = jnp.broadcast_to(layout.inner(path.next_obs), (*grid, layout.inner_size))
    action = jnp.broadcast_to(layout.action(path.next_obs), (*grid, layout.action_size))
    extra = action if networks.decode_action else action[..., :0]
    latent = jnp.broadcast_to(latents[:, None, :], (*grid, latents.shape[-1]))
    predicted = networks.reward_decoder.apply(vae_params["reward_decoder"], latent, state, extra)
    reward = jnp.broadcast_to(layout.reward(path.next_obs), grid)
    if bce:
        return optax.sigmoid_binary_cross_entropy(predicted[..., 0], reward)
    return jnp.square(predicted[..., 0] - reward)


def _state_errors(
    networks: VariBADNetworks, vae_params: Any, latents: jax.Array, path: Trajectory
) -> jax.Array:
    """f32[E, T]: mean squared error of decoding s_{j+1} from (z_e, s_j, a_j)."""
    layout = networks.layout
    num_latents, num_steps = latents.shape[0], path.next_obs.shape[0]
    grid = (num_latents, num_steps)
    before = jnp.broadcast_to(layout.inner(path.obs), (*grid, layout.inner_size))
    after = jnp.broadcast_to(layout.inner(path.next_obs), (*grid, layout.inner_size))
    action = jnp.broadcast_to(layout.action(path.next_obs), (*grid, layout.action_size))
    latent = jnp.broadcast_to(latents[:, None, :], (*grid, latents.shape[-1]))
    inputs = jnp.concatenate([before, action], axis=-1)
    predicted = networks.state_decoder.apply(vae_params["state_decoder"], latent, before, inputs)
    return jnp.mean(jnp.square(predicted - after), axis=-1)


def trajectory_elbo(
    key: jax.Array,
    networks: VariBADNetworks,
    settings: VariBADConfig,
    vae_params: Any,
    path: Trajectory,
) -> ElboTerms:
    """The ELBO's terms of one trajectory (to be minimised: errors and KL, not log-likelihoods).

    Returns:
        `ElboTerms` of f32[]: reconstruction sums over decoded steps and ELBO terms (scaled by
        (T + 1) / decode_elbos when subsampled), and the KL sum over t.
    """
    mean_t, logvar_t = encode_trajectory(networks, vae_params, path.next_obs)
    num_beliefs = mean_t.shape[0]
    # belief t has seen t live steps; the prior always counts
    belief_live = jnp.concatenate([jnp.ones(1, jnp.float32), path.alive])
    kl = jnp.sum(sequential_kl(mean_t, logvar_t) * belief_live)
    index_key, sample_key = jax.random.split(key)
    chosen = _elbo_indices(index_key, num_beliefs, settings.decode_elbos)
    latents = sample_latent(sample_key, mean_t[chosen], logvar_t[chosen])
    scale = num_beliefs / chosen.shape[0]

    def _total(errors: jax.Array) -> jax.Array:
        per_belief = jnp.sum(errors * path.target[None, :], axis=1)
        return scale * jnp.sum(per_belief * belief_live[chosen])

    bce = settings.reward_loss == "bce"
    reward = _total(_reward_errors(networks, vae_params, latents, path, bce))
    state = jnp.zeros((), jnp.float32)
    if networks.state_decoder is not None:
        state = _total(_state_errors(networks, vae_params, latents, path))
    return ElboTerms(reward=reward, state=state, kl=kl)


def vae_loss(
    vae_params: Any,
    key: jax.Array,
    networks: VariBADNetworks,
    settings: VariBADConfig,
    paths: Trajectory,
) -> tuple[jax.Array, ElboTerms]:
    """mean over trajectories of reward + state reconstruction + kl_weight * KL.

    Args:
        paths: `Trajectory` with leaves [K, T, ...].

    Returns:
        (loss f32[], the terms' means over trajectories).
    """
    num_paths = paths.alive.shape[0]
    keys = jax.random.split(key, num_paths)
    terms = jax.vmap(
        lambda path_key, path: trajectory_elbo(path_key, networks, settings, vae_params, path)
    )(keys, paths)
    means = ElboTerms(*(jnp.mean(term) for term in terms))
    loss = means.reward + means.state + settings.kl_weight * means.kl
    return loss, means
