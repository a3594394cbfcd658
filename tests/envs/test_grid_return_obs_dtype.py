"""grid_return's uint8 observations: the same ids as int32, bytes end to end (env -> encoder),
the same policy features, and a bad dtype refused in one line."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from marlax.algorithms.ppo.trainer import Trainer
from marlax.config import load_from_dict
from marlax.envs import make
from marlax.envs.grid_return import GridReturn
from marlax.errors import ConfigError
from marlax.models.encoders import GridEncoder
from marlax.models.registry import encoder_for_space
from tests.cli_process import assert_refused, run_marlax
from tests.envs.helpers import random_actions

SETTINGS = {"width": 12, "height": 10, "num_agents": 5, "view_size": 7, "max_steps": 40}


def _rollout(env: GridReturn, steps: int) -> tuple[jax.Array, jax.Array]:
    """(obs [T + 1, N, V, V, 2], rewards f32[T, N]) of one episode with fixed random actions."""
    obs, state = env.reset(jax.random.key(0))
    seen, rewards = [obs], []
    for t in range(steps):
        key = jax.random.fold_in(jax.random.key(1), t)
        obs, state, reward, _, _ = env.step(key, state, random_actions(key, env, state))
        seen.append(obs)
        rewards.append(reward)
    return jnp.stack(seen), jnp.stack(rewards)


def test_uint8_observations_hold_the_int32_ids_step_by_step():
    wide, narrow = GridReturn(**SETTINGS), GridReturn(**SETTINGS, obs_dtype="uint8")
    obs_wide, rewards_wide = _rollout(wide, 30)
    obs_narrow, rewards_narrow = _rollout(narrow, 30)
    assert obs_wide.dtype == jnp.int32 and obs_narrow.dtype == jnp.uint8
    np.testing.assert_array_equal(np.asarray(obs_narrow, np.int32), np.asarray(obs_wide))
    np.testing.assert_array_equal(rewards_narrow, rewards_wide)
    assert narrow.observation_space.contains(np.asarray(obs_narrow[-1]))
    # the ids actually vary: walls, empty cells and agents are all in view
    assert len(np.unique(np.asarray(obs_wide[..., 0]))) >= 3
    assert set(np.unique(np.asarray(obs_wide[..., 1]))) >= {0, 1}


def test_both_dtypes_get_the_grid_encoder_and_equal_features():
    wide, narrow = GridReturn(**SETTINGS), GridReturn(**SETTINGS, obs_dtype="uint8")
    assert encoder_for_space(narrow.observation_space) == "grid"  # ids, not byte intensities
    obs_wide, _ = wide.reset(jax.random.key(3))
    obs_narrow, _ = narrow.reset(jax.random.key(3))
    encoder = GridEncoder(vocab_sizes=(10, 7), conv_channels=(8,), output_size=16)
    params = encoder.init(jax.random.key(4), obs_wide)
    np.testing.assert_array_equal(
        encoder.apply(params, obs_narrow), encoder.apply(params, obs_wide)
    )


def _one_update(obs_dtype: str) -> dict[str, np.ndarray]:
    raw = {
        "env": {
            "name": "grid_return",
            "num_envs": 2,
            "params": {**SETTINGS, "obs_dtype": obs_dtype},
        },
        "model": {"name": "mlp", "core": {"hidden_sizes": [16]}},
        "ppo": {"total_env_steps": 16, "rollout_length": 8, "num_minibatches": 1},
    }
    trainer = Trainer(load_from_dict(raw))
    assert trainer.layout.tasks[0].env.observation_space.dtype == obs_dtype
    _, metrics = trainer.update(trainer.init(jax.random.key(0)))
    return {name: np.asarray(value) for name, value in metrics.items()}


def test_a_uint8_config_trains_exactly_like_int32():
    """Same key, same ids: one PPO update gives the same losses (returns are NaN until an
    episode ends, in both)."""
    wide, narrow = _one_update("int32"), _one_update("uint8")
    assert wide.keys() == narrow.keys()
    for name in wide:
        np.testing.assert_allclose(narrow[name], wide[name], rtol=1e-6, err_msg=name)
    losses = [name for name in wide if "loss" in name]
    assert losses and all(np.isfinite(wide[name]).all() for name in losses)


def test_a_bad_dtype_is_refused_naming_the_field(tmp_path):
    with pytest.raises(ConfigError, match="obs_dtype"):
        make("grid_return", obs_dtype="int8")
    config = tmp_path / "grid.json"
    config.write_text(
        '{"env": {"name": "grid_return", "num_envs": 2}, "model": {"name": "mlp"},'
        ' "ppo": {"total_env_steps": 16, "rollout_length": 8}}'
    )
    result = run_marlax(
        "train", "-c", str(config), "--set", "env.params.obs_dtype=int8", cwd=tmp_path
    )
    assert "uint8" in assert_refused(result, "obs_dtype")
    assert not (tmp_path / "runs").exists()
