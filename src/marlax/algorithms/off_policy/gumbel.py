"""Discrete actions for MADDPG: Gumbel-max sampling and the Gumbel-softmax relaxation.

    hard = gumbel_max(key, logits, legal)                        # one-hot f32[..., A]
    soft = gumbel_softmax(key, logits, legal, temperature)       # on the simplex, f32[..., A]
    action = relaxed_action(key, logits, legal, temperature, "straight_through")

With g_k ~ Gumbel(0, 1) i.i.d. (Jang et al. 2017; Maddison et al. 2017):

    Gumbel-max        one_hot(argmax_k (l_k + g_k))     a sample of Categorical(softmax(l))
    Gumbel-softmax    softmax((l + g) / temperature)    differentiable in l; one-hot as
                                                        temperature -> 0
    straight-through  hard + soft - stop_gradient(soft) the hard sample forward, the soft
                                                        sample's gradient backward

The hard sample is the argmax of the soft one drawn with the same noise, so a
straight-through action is exactly the Gumbel-max sample. Illegal actions (`legal` False)
get logit -inf before any of these: they are never sampled, carry zero probability in every
relaxed sample and receive no gradient. openai/maddpg's `SoftCategoricalPd.sample`
(maddpg/common/distributions.py:203-205) is `gumbel_softmax` at temperature 1.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def masked_logits(logits: jax.Array, legal: jax.Array) -> jax.Array:
    """f32[..., A]: logits with illegal actions at -inf.

    Args:
        logits: f32[..., A]; legal: bool[..., A] with at least one True per row.
    """
    return jnp.where(legal, logits, -jnp.inf)


def greedy_one_hot(logits: jax.Array, legal: jax.Array) -> jax.Array:
    """f32[..., A]: one-hot of the most probable legal action."""
    best = jnp.argmax(masked_logits(logits, legal), axis=-1)
    return jax.nn.one_hot(best, logits.shape[-1], dtype=jnp.float32)


def gumbel_max(key: jax.Array, logits: jax.Array, legal: jax.Array) -> jax.Array:
    """f32[..., A]: a one-hot sample of Categorical(softmax(masked logits))."""
    noisy = masked_logits(logits, legal) + jax.random.gumbel(key, logits.shape)
    return jax.nn.one_hot(jnp.argmax(noisy, axis=-1), logits.shape[-1], dtype=jnp.float32)


def uniform_legal(key: jax.Array, legal: jax.Array) -> jax.Array:
    """f32[..., A]: a one-hot legal action drawn uniformly (Gumbel-max on zero logits)."""
    return gumbel_max(key, jnp.zeros(legal.shape, jnp.float32), legal)


def gumbel_softmax(
    key: jax.Array, logits: jax.Array, legal: jax.Array, temperature: float
) -> jax.Array:
    """f32[..., A]: softmax((masked logits + g) / temperature), g ~ Gumbel(0, 1).

    Illegal entries are exactly 0 and their logits get zero gradient.
    """
    noisy = masked_logits(logits, legal) + jax.random.gumbel(key, logits.shape)
    return jax.nn.softmax(noisy / temperature, axis=-1)


def straight_through(soft: jax.Array) -> jax.Array:
    """f32[..., A]: one_hot(argmax soft) in value, the gradient of `soft` (Jang et al. 2017,
    section 2.2)."""
    hard = jax.nn.one_hot(jnp.argmax(soft, axis=-1), soft.shape[-1], dtype=soft.dtype)
    return hard + soft - jax.lax.stop_gradient(soft)


def relaxed_action(
    key: jax.Array, logits: jax.Array, legal: jax.Array, temperature: float, estimator: str
) -> jax.Array:
    """f32[..., A]: the action a critic is evaluated on in MADDPG's losses.

    Args:
        estimator: "soft" (the Gumbel-softmax sample itself, as openai/maddpg) or
            "straight_through" (its one-hot argmax forward, its gradient backward).
    """
    soft = gumbel_softmax(key, logits, legal, temperature)
    return straight_through(soft) if estimator == "straight_through" else soft


def logit_penalty(logits: jax.Array) -> jax.Array:
    """f32[]: mean(logits^2) over every entry, legal or not (openai/maddpg's `p_reg`,
    maddpg/trainer/maddpg.py:46): keeps the logits near 0, so the policy keeps sampling more
    than one action and the softmax does not saturate."""
    return jnp.mean(jnp.square(logits))
