"""Cart-pole dynamics exactly as gymnasium's `CartPoleEnv.step` (CartPole-v1, Euler steps).

The arithmetic follows gymnasium's expression order, so run in float64 (`jax_enable_x64`)
it agrees with gymnasium to rounding; marlax's default float32 drifts from gymnasium's
float64 by rounding errors that the unstable pole amplifies over long episodes.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

GRAVITY = 9.8
MASS_CART = 1.0
MASS_POLE = 0.1
TOTAL_MASS = MASS_POLE + MASS_CART
HALF_LENGTH = 0.5  # gymnasium's `length`: half the pole's length
POLE_MASS_LENGTH = MASS_POLE * HALF_LENGTH
FORCE_MAG = 10.0
TAU = 0.02  # seconds per step
THETA_THRESHOLD = 12 * 2 * math.pi / 360  # radians: termination beyond +-12 degrees
X_THRESHOLD = 2.4  # metres: termination beyond the track's ends
RESET_BOUND = 0.05  # every state variable starts uniform in (-0.05, 0.05)


def initial_physics(key: jax.Array) -> jax.Array:
    """gymnasium's reset draw: f[4] uniform in [-0.05, 0.05) (f = the default float)."""
    return jax.random.uniform(key, (4,), minval=-RESET_BOUND, maxval=RESET_BOUND)


def cartpole_step(physics: jax.Array, action: jax.Array) -> tuple[jax.Array, jax.Array]:
    """One Euler step of the cart-pole.

    Args:
        physics: f[4] (x, x_dot, theta, theta_dot), float32 or float64.
        action: i32[]: 1 pushes right, anything else left (gymnasium's `action == 1`).

    Returns:
        physics f[4] after the step (same dtype); terminated bool[] (cart or pole past
        its threshold).
    """
    x, x_dot, theta, theta_dot = physics[0], physics[1], physics[2], physics[3]
    force = jnp.where(action == 1, FORCE_MAG, -FORCE_MAG).astype(physics.dtype)
    costheta = jnp.cos(theta)
    sintheta = jnp.sin(theta)
    temp = (force + POLE_MASS_LENGTH * jnp.square(theta_dot) * sintheta) / TOTAL_MASS
    thetaacc = (GRAVITY * sintheta - costheta * temp) / (
        HALF_LENGTH * (4.0 / 3.0 - MASS_POLE * jnp.square(costheta) / TOTAL_MASS)
    )
    xacc = temp - POLE_MASS_LENGTH * thetaacc * costheta / TOTAL_MASS
    new_physics = jnp.stack(
        [
            x + TAU * x_dot,
            x_dot + TAU * xacc,
            theta + TAU * theta_dot,
            theta_dot + TAU * thetaacc,
        ]
    )
    new_x, new_theta = new_physics[0], new_physics[2]
    terminated = (
        (new_x < -X_THRESHOLD)
        | (new_x > X_THRESHOLD)
        | (new_theta < -THETA_THRESHOLD)
        | (new_theta > THETA_THRESHOLD)
    )
    return new_physics, terminated
