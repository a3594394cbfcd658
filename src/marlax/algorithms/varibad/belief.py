"""Gaussian beliefs over the task latent: sampling and the ELBO's KL terms.

A belief is a diagonal Gaussian N(mu, exp(logvar)) over a latent of size L. VariBAD's ELBO
at time t regularises the belief q_t after t steps towards the previous one q_{t-1}, and the
first (q_0, before any step) towards the prior N(0, I) (Zintgraf et al. 2020, eq. (9); the
reference's `compute_kl_loss` without `kl_to_gauss_prior`).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def kl_diagonal_gaussians(
    mean: jax.Array, logvar: jax.Array, prior_mean: jax.Array, prior_logvar: jax.Array
) -> jax.Array:
    """KL(N(mean, e^logvar) || N(prior_mean, e^prior_logvar)), summed over the latent.

    KL = 0.5 * sum_i [ prior_logvar_i - logvar_i - 1 + e^(logvar_i - prior_logvar_i)
                       + (mean_i - prior_mean_i)^2 / e^prior_logvar_i ].

    Args:
        mean, logvar, prior_mean, prior_logvar: f32[..., L] of one shape.

    Returns:
        f32[...].
    """
    terms = (
        prior_logvar
        - logvar
        - 1.0
        + jnp.exp(logvar - prior_logvar)
        + jnp.square(mean - prior_mean) * jnp.exp(-prior_logvar)
    )
    return 0.5 * jnp.sum(terms, axis=-1)


def sequential_kl(mean_t: jax.Array, logvar_t: jax.Array) -> jax.Array:
    """The KL term of every ELBO_t of one trajectory: KL(q_0 || N(0, I)), KL(q_t || q_{t-1}).

    Gradients reach both beliefs of each pair (the reference does not stop them).

    Args:
        mean_t, logvar_t: f32[T + 1, L] the beliefs q_0 (the prior belief) .. q_T.

    Returns:
        f32[T + 1].
    """
    previous_mean = jnp.concatenate([jnp.zeros_like(mean_t[:1]), mean_t[:-1]])
    previous_logvar = jnp.concatenate([jnp.zeros_like(logvar_t[:1]), logvar_t[:-1]])
    return kl_diagonal_gaussians(mean_t, logvar_t, previous_mean, previous_logvar)


def sample_latent(key: jax.Array, mean: jax.Array, logvar: jax.Array) -> jax.Array:
    """z = mean + exp(logvar / 2) * eps, eps ~ N(0, I) (reparameterised). f32[..., L]."""
    noise = jax.random.normal(key, mean.shape, mean.dtype)
    return mean + jnp.exp(0.5 * logvar) * noise
