"""Google Research Football through the PettingZoo adapter (needs the `football` extra, which
builds from source; skipped where gfootball is not installed, as in CI)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

pytest.importorskip("gfootball")

from pettingzoo.test import parallel_api_test  # noqa: E402

from marlax.envs.adapters.football import NUM_ACTIONS, parallel_env  # noqa: E402
from marlax.envs.adapters.from_pettingzoo import from_pettingzoo  # noqa: E402

SCENARIO = {"env_name": "academy_3_vs_1_with_keeper", "players": 3}


@pytest.fixture(autouse=True)
def _quiet_gym():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # gfootball runs on the old gym, which warns on import
        yield


def _observations(seed: int, steps: int) -> np.ndarray:
    env = parallel_env(**SCENARIO)
    observations, _ = env.reset(seed=seed)
    rng = np.random.default_rng(0)
    seen = [np.stack(list(observations.values()))]
    for _ in range(steps):
        if not env.agents:
            break
        actions = {agent: int(rng.integers(NUM_ACTIONS)) for agent in env.agents}
        observations, *_ = env.step(actions)
        seen.append(np.stack(list(observations.values())))
    env.close()
    return np.stack(seen)


def test_the_adapter_passes_pettingzoo_s_parallel_api_test():
    env = parallel_env(**SCENARIO)
    parallel_api_test(env, num_cycles=50)
    env.close()


def test_a_seed_replays_the_game_and_another_seed_does_not():
    first, again, other = _observations(1, 30), _observations(1, 30), _observations(2, 30)
    assert first.shape[1:] == (3, 115)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_from_pettingzoo_steps_a_batch_of_games_to_their_end():
    batch = from_pettingzoo(lambda: parallel_env(**SCENARIO), num_envs=2, seed=0)
    step = batch.reset()
    assert step.obs.shape == (2, 3, 115) and step.alive.all()
    rng = np.random.default_rng(0)
    ended = 0
    for _ in range(400):  # academy episodes end at a goal, a lost ball or 400 steps
        step = batch.step(rng.integers(0, NUM_ACTIONS, size=(2, 3)))
        assert np.isfinite(step.reward).all()
        ended += int(step.done.sum())
    batch.close()
    assert ended >= 2
