"""Learning sanity: memory models fit a recall task that a feed-forward model cannot."""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import optax
import pytest

from marlax.models import RecurrentModel, distribution
from tests.models.helpers import OBS_DIM, tiny_model

# about 15-20 s per model on a loaded 2-core CPU, mostly compile time
pytestmark = pytest.mark.slow

BATCH, LENGTH, NUM_UPDATES = 32, 3, 150


def _recall_batch(key: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    """A cue in {0 .. 3} shown at t = 0 as a one-hot, then blanks; recall it at the last step.

    Returns obs f32[T, B, D], reset bool[T, B] (episode starts at t = 0), cue i32[B].
    """
    cue = jax.random.randint(key, (BATCH,), 0, 4)
    obs = jnp.zeros((LENGTH, BATCH, OBS_DIM)).at[0].set(jax.nn.one_hot(cue, OBS_DIM))
    reset = jnp.zeros((LENGTH, BATCH), bool).at[0].set(True)
    return obs, reset, cue


def _fit_recall(model: RecurrentModel, key: jax.Array) -> tuple[float, float]:
    """Adam on the recall loss; returns (final loss, accuracy) on a fresh batch."""
    init_key, train_key, test_key = jax.random.split(key, 3)
    carry = model.initialize_carry((BATCH,))
    obs, reset, _ = _recall_batch(init_key)
    params = model.init(init_key, carry, obs, reset, method="sequence")
    optimizer = optax.adam(1e-2)

    def loss_fn(params, obs, reset, cue):
        _, (logits, _) = model.apply(params, carry, obs, reset, method="sequence")
        return -distribution(logits[-1]).log_prob(cue).mean()

    def _update(state, batch_key):
        """Carries (params, opt_state); stacks the loss."""
        params, opt_state = state
        loss, grads = jax.value_and_grad(loss_fn)(params, *_recall_batch(batch_key))
        updates, opt_state = optimizer.update(grads, opt_state)
        return (optax.apply_updates(params, updates), opt_state), loss

    @jax.jit
    def train(params):
        keys = jax.random.split(train_key, NUM_UPDATES)
        (params, _), losses = jax.lax.scan(_update, (params, optimizer.init(params)), keys)
        obs, reset, cue = _recall_batch(test_key)
        _, (logits, _) = model.apply(params, carry, obs, reset, method="sequence")
        return losses[-1], jnp.mean(distribution(logits[-1]).mode() == cue)

    loss, accuracy = train(params)
    return float(loss), float(accuracy)


@pytest.mark.parametrize("name", ["gru", "transformer", "ssm", "s5"])
def test_memory_models_fit_recall(name: str, key: jax.Array) -> None:
    start = time.perf_counter()
    loss, accuracy = _fit_recall(tiny_model(name), key)
    assert accuracy == 1.0, (loss, accuracy)
    assert loss < 0.1
    print(f"{name}: loss {loss:.4f} in {time.perf_counter() - start:.1f} s")


def test_feed_forward_model_cannot_recall(key: jax.Array) -> None:
    _, accuracy = _fit_recall(tiny_model("mlp"), key)
    assert accuracy < 0.5  # chance is 1/4: the last observation is always blank
