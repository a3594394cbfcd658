"""The shared optimiser: Adam exactly as before, Muon on matrices, Adam on everything else."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from marlax.algorithms.common.optimizers import make_optimizer, muon_labels
from marlax.algorithms.ppo.trainer import Trainer
from marlax.config import load_from_dict
from marlax.config.schema import OptimizerConfig

FAN_IN, FAN_OUT = 8, 32


def _params() -> dict:
    return {
        "kernel": jnp.zeros((FAN_IN, FAN_OUT)),
        "bias": jnp.zeros((FAN_OUT,)),
        "log_std": jnp.zeros((3,)),
    }


def _gradients(seed: int) -> dict:
    keys = jax.random.split(jax.random.key(seed), 3)
    return {
        name: jax.random.normal(key, leaf.shape)
        for key, (name, leaf) in zip(keys, _params().items(), strict=True)
    }


def _run(optimizer: optax.GradientTransformation, gradients: list[dict], params: dict) -> list:
    """The updates of consecutive steps from a fresh state (params held fixed)."""
    state = optimizer.init(params)
    updates = []
    for grads in gradients:
        update, state = optimizer.update(grads, state, params)
        updates.append(update)
    return updates


def _wide_spectrum_gradient() -> tuple[jax.Array, np.ndarray, np.ndarray]:
    """f32[8, 32] = U diag(s) V^T with singular values s from 10 down to 0.1 (100x spread)."""
    rng = np.random.default_rng(0)
    left, _ = np.linalg.qr(rng.normal(size=(FAN_IN, FAN_IN)))
    right, _ = np.linalg.qr(rng.normal(size=(FAN_OUT, FAN_IN)))
    singular_values = np.logspace(1.0, -1.0, FAN_IN)
    return jnp.asarray((left * singular_values) @ right.T, jnp.float32), left, right


def test_muon_updates_orthogonalised_matrices_as_documented():
    """One Muon step from a fresh state on a gradient whose singular values span 100x gives
    -lr * 0.2 * sqrt(32) * U f(S) V^T: the gradient's own singular vectors, and values that
    the 5-step Newton-Schulz quintic (optax's coefficients 3.4445, -4.7750, 2.0315) maps into
    [0.70, 1.14] here (measured; optax documents "roughly Uniform(0.5, 1.5)")."""
    gradient, left, right = _wide_spectrum_gradient()
    learning_rate = 0.5
    optimizer = make_optimizer(OptimizerConfig(name="muon"), learning_rate, max_grad_norm=1e6)
    grads = {**_gradients(0), "kernel": gradient}
    (update,) = _run(optimizer, [grads], _params())
    scale = learning_rate * 0.2 * np.sqrt(max(FAN_IN, FAN_OUT))  # consistent_rms = 0.2
    in_gradient_basis = left.T @ np.asarray(-update["kernel"], np.float64) @ right / scale
    diagonal = np.diag(in_gradient_basis)
    np.testing.assert_allclose(in_gradient_basis - np.diag(diagonal), 0.0, atol=1e-4)
    assert diagonal.min() >= 0.68 and diagonal.max() <= 1.2, diagonal
    # orthogonalisation: a 100x spread of the gradient's singular values shrinks below 1.7x
    assert diagonal.max() / diagonal.min() < 1.7


@pytest.mark.parametrize(
    "settings",
    [{}, {"ns_steps": 3, "muon_beta": 0.8, "nesterov": False, "consistent_rms": None}],
)
def test_muon_matrices_step_exactly_as_optax_contrib_muon(settings):
    """Three steps: the kernel's updates equal `optax.contrib.muon` applied to it alone, with
    the config's ns_steps, beta, nesterov and consistent_rms (gradients below the clip)."""
    config = OptimizerConfig(name="muon", **settings)
    ours = make_optimizer(config, 0.01, max_grad_norm=1e6)
    reference = optax.contrib.muon(
        0.01,
        ns_steps=config.ns_steps,
        beta=config.muon_beta,
        nesterov=config.nesterov,
        consistent_rms=config.consistent_rms,
    )
    gradients = [_gradients(seed) for seed in range(3)]
    kernel_only = {"kernel": _params()["kernel"]}
    expected = _run(reference, [{"kernel": g["kernel"]} for g in gradients], kernel_only)
    for got, want in zip(_run(ours, gradients, _params()), expected, strict=True):
        np.testing.assert_allclose(got["kernel"], want["kernel"], rtol=1e-6, atol=1e-8)


def test_muon_gives_vectors_exactly_optax_adam_with_the_configured_moments():
    """Biases and log-std (1-D) take optax.adam's updates with the config's b1, b2, eps,
    unchanged by the matrix part; optax.contrib.muon's own fallback (Nesterov AdamW) differs."""
    config = OptimizerConfig(name="muon", b1=0.8, b2=0.99, eps=1e-3)
    ours = make_optimizer(config, 0.01, max_grad_norm=1e6)
    adam = optax.adam(0.01, b1=0.8, b2=0.99, eps=1e-3)
    gradients = [_gradients(seed) for seed in range(3)]
    vectors = [{"bias": g["bias"], "log_std": g["log_std"]} for g in gradients]
    expected = _run(adam, vectors, {"bias": _params()["bias"], "log_std": _params()["log_std"]})
    got = _run(ours, gradients, _params())
    for step_got, step_want in zip(got, expected, strict=True):
        for name in ("bias", "log_std"):
            np.testing.assert_array_equal(step_got[name], step_want[name])


def test_only_dense_kernels_are_muon_parameters():
    """Matrices named "kernel" go to Muon; vectors, 2-D embedding tables and SSM decay rates,
    and 4-D conv kernels go to Adam (names as the marlax models give them)."""
    params = {
        "encoder": {"embed_0": jnp.zeros((5, 8)), "Conv_0": {"kernel": jnp.zeros((3, 3, 8, 4))}},
        "core": {"Dense_0": {"kernel": jnp.zeros((8, 16)), "bias": jnp.zeros(16)}},
        "ssm": {"a_log": jnp.zeros((16, 4)), "skip": jnp.zeros(16)},
        "head": {"log_std": jnp.zeros(2)},
    }
    assert muon_labels(params) == {
        "encoder": {"embed_0": "adam", "Conv_0": {"kernel": "adam"}},
        "core": {"Dense_0": {"kernel": "muon", "bias": "adam"}},
        "ssm": {"a_log": "adam", "skip": "adam"},
        "head": {"log_std": "adam"},
    }


@pytest.mark.parametrize("name", ["adam", "muon"])
def test_gradient_clipping_applies_before_either_step(name):
    """A second gradient 1000x past the clip moves the state as its clipped copy does: the
    step equals the one fed the clipped gradient, and differs from the unclipped one (the
    first step alone cannot show it: Adam's and Muon's first steps ignore the gradient's scale)."""
    max_grad_norm = 0.5
    config = OptimizerConfig(name=name)
    first = jax.tree.map(lambda g: 1e-3 * g, _gradients(0))
    huge = jax.tree.map(lambda g: 1e3 * g, _gradients(1))
    norm = optax.tree.norm(huge)
    clipped = jax.tree.map(lambda g: g * max_grad_norm / norm, huge)
    ours = _run(make_optimizer(config, 0.01, max_grad_norm), [first, huge], _params())[1]
    unclipped_step = make_optimizer(config, 0.01, max_grad_norm=1e9)
    by_hand = _run(unclipped_step, [first, clipped], _params())[1]
    never_clipped = _run(unclipped_step, [first, huge], _params())[1]
    for leaf in ("kernel", "bias"):
        np.testing.assert_allclose(ours[leaf], by_hand[leaf], rtol=1e-5, atol=1e-7)
        assert not np.allclose(ours[leaf], never_clipped[leaf], rtol=1e-3)


def test_adam_is_bitwise_the_previous_optimiser():
    """name "adam" with default settings == optax.chain(clip, adam(lr schedule, eps=1e-5)),
    the optimiser PPO used before this section existed, over several steps."""

    def _schedule(count: jax.Array) -> jax.Array:
        return 3e-4 * (1.0 - (count // 4) / 10)

    ours = make_optimizer(OptimizerConfig(), _schedule, max_grad_norm=0.5)
    before = optax.chain(optax.clip_by_global_norm(0.5), optax.adam(_schedule, eps=1e-5))
    gradients = [_gradients(seed) for seed in range(5)]
    for got, want in zip(
        _run(ours, gradients, _params()), _run(before, gradients, _params()), strict=True
    ):
        for name in got:
            np.testing.assert_array_equal(got[name], want[name])


def _unused_head(path: str) -> bool:
    """The actor's value head and the critic's policy head get no gradient in PPO's loss."""
    return ("'actor'" in path and "'value'" in path) or ("'critic'" in path and "'policy'" in path)


def test_one_ppo_update_with_muon_gives_finite_metrics_and_moves_the_weights():
    """A tiny nback PPO run, one update with Muon: every loss and parameter stays finite,
    every dense kernel (the Muon part) that gets a gradient moved, and the unused heads'
    kernels (a zero gradient: Newton-Schulz divides by its norm + eps) stay exactly put."""
    raw = {
        "env": {"name": "nback", "num_envs": 4, "params": {"max_n": 2, "max_steps": 8}},
        "model": {"name": "mlp", "core": {"hidden_sizes": [16]}},
        "ppo": {"total_env_steps": 32, "rollout_length": 8, "num_epochs": 2},
        "optimizer": {"name": "muon"},
        "run": {"log_every": 1, "checkpoint_every": 1},
    }
    trainer = Trainer(load_from_dict(raw))
    start = trainer.init(jax.random.key(0))
    before = jax.tree_util.tree_flatten_with_path(jax.tree.map(np.asarray, start.params))[0]
    state, metrics = trainer.update(start)
    for name in [name for name in metrics if name.startswith("loss/")]:
        assert np.isfinite(np.asarray(metrics[name])).all(), name
    after = jax.tree.leaves(jax.tree.map(np.asarray, state.params))
    assert all(np.isfinite(leaf).all() for leaf in after)
    kernels = {
        jax.tree_util.keystr(path): np.array_equal(old, new)
        for (path, old), new in zip(before, after, strict=True)
        if old.ndim == 3  # [S, fan_in, fan_out]: 2-D per seed
    }
    assert len(kernels) == 8
    assert all(unchanged == _unused_head(path) for path, unchanged in kernels.items()), kernels


def test_radam_is_optax_radam_after_clipping():
    params = {"w": jnp.arange(6.0).reshape(2, 3)}
    grads = {"w": jnp.full((2, 3), 4.0)}
    ours = make_optimizer(OptimizerConfig(name="radam"), 1e-2, 1.0)
    reference = optax.chain(optax.clip_by_global_norm(1.0), optax.radam(1e-2, eps=1e-5))
    state_a, state_b = ours.init(params), reference.init(params)
    for _ in range(8):  # past RAdam's warm-up, where the rectified step starts
        update_a, state_a = ours.update(grads, state_a, params)
        update_b, state_b = reference.update(grads, state_b, params)
        np.testing.assert_array_equal(update_a["w"], update_b["w"])
