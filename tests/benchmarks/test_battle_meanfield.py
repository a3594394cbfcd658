"""The battle mean-field benchmark's behaviour counts and env overrides
(`benchmarks/battle_meanfield.py`), on states and numbers worked out by hand."""

from __future__ import annotations

import argparse
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import struct

from marlax.envs.battle import Battle
from marlax.envs.battle.types import BattleState
from marlax.envs.wrappers.mean_field import MeanFieldEnv
from marlax.errors import ConfigError
from tests.benchmarks.loader import load_benchmark

# attack ids (magent2's order, dy outer, dx inner): 13 (-1,-1), 14 (0,-1), 16 (-1,0), 17 (1,0)
ATTACK_UP_LEFT, ATTACK_UP, ATTACK_LEFT, ATTACK_RIGHT = 13, 14, 16, 17


def _duel_state(alive: list[bool]) -> BattleState:
    """2 v 2 on an 8 x 8 map: red 0 at (2, 2) next to blue 2 at (3, 2) (1 HP left); red 1 at
    (5, 5) diagonal to blue 3 at (6, 6)."""
    hp = jnp.asarray([100, 100, 10, 100], jnp.int32)
    return BattleState(
        positions=jnp.asarray([[2, 2], [5, 5], [3, 2], [6, 6]], jnp.int32),
        hp=jnp.where(jnp.asarray(alive), hp, 0),
        alive=jnp.asarray(alive),
        step=jnp.zeros((), jnp.int32),
    )


def _step_counts(alive: list[bool]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(team_counts i32[2, 4], reward f32[4], alive after bool[4]) of one scripted step:
    red 0 hits blue 2 (its death), red 1 attacks an empty cell, blue 2 hits red 0, blue 3
    hits red 1."""
    battle = Battle(agents_per_side=2, map_size=8, max_steps=10)
    state = _duel_state(alive)
    actions = jnp.asarray([ATTACK_RIGHT, ATTACK_UP, ATTACK_LEFT, ATTACK_UP_LEFT], jnp.int32)
    _, after, reward, _, _ = jax.jit(battle.step)(jax.random.key(0), state, actions)
    team_counts = jax.jit(load_benchmark("battle_meanfield").team_counts, static_argnums=0)
    counts = team_counts(battle, state, actions, after.alive)
    return np.asarray(counts), np.asarray(reward), np.asarray(after.alive)


def test_team_counts_of_a_scripted_step() -> None:
    """Red: 2 live agents, 2 attacks, 1 hit, 1 kill (blue 2 had 1 HP); blue: 2, 2, 2 hits,
    no kill (the reds had 10 HP). The env agrees: red 0 gets the kill reward, blue 2 dies."""
    counts, reward, alive_after = _step_counts([True, True, True, True])
    np.testing.assert_array_equal(counts, [[2, 2, 1, 1], [2, 2, 2, 0]])
    np.testing.assert_array_equal(alive_after, [True, True, False, True])
    np.testing.assert_allclose(reward[0], -0.005 - 0.1 + 5.0, rtol=1e-6)


def test_team_counts_skip_the_dead() -> None:
    """Blue 3 is dead: its attack action is no attack, no hit and no live agent-step."""
    counts, _, _ = _step_counts([True, True, True, False])
    np.testing.assert_array_equal(counts, [[2, 2, 1, 1], [1, 1, 1, 0]])


def test_behaviour_by_hand() -> None:
    """Two games: 100 + 60 agent-steps, 20 attacks, 5 hits (2 HP each), 1 kill."""
    result = load_benchmark("battle_meanfield").behaviour(
        np.asarray([[100, 20, 5, 1], [60, 0, 0, 0]])
    )
    assert result["games"] == 2
    assert (result["agent_steps"], result["attacks"], result["hits"]) == (160, 20, 5)
    assert result["attack_rate"] == pytest.approx(20 / 160)
    assert result["hit_rate"] == pytest.approx(0.25)
    assert result["hits_per_game"] == pytest.approx(2.5)
    assert result["damage_hp_per_game"] == pytest.approx(5.0)
    assert result["kills_per_game"] == pytest.approx(0.5)


def test_behaviour_without_attacks_has_no_hit_rate() -> None:
    result = load_benchmark("battle_meanfield").behaviour(np.asarray([[1600, 0, 0, 0]]))
    assert result["attack_rate"] == 0.0
    assert np.isnan(result["hit_rate"])


@struct.dataclass
class _Fixed:
    """A policy that plays one action with every agent."""

    action: int = struct.field(pytree_node=False)

    def initial_memory(self) -> tuple:
        return ()

    def act(self, key, obs, state, memory, reset):  # noqa: ANN001, ANN201 (MemoryPolicy)
        del key, state, reset
        return jnp.full((obs.shape[0],), self.action, jnp.int32), memory


def test_games_count_every_step_of_every_side() -> None:
    """3 v 3, 12 steps. Standing still against standing still: 36 live agent-steps a side
    and nothing else, a draw. Attacking every step against standing still: 36 attacks, no
    hit, no kill (nobody moves, and the teams start 3+ columns apart: out of reach)."""
    bench = load_benchmark("battle_meanfield")
    env = MeanFieldEnv(Battle(agents_per_side=3, map_size=10, max_steps=12))
    outcomes, counts = bench.play(env, _Fixed(6), _Fixed(6), 4, jax.random.key(1), 0)
    np.testing.assert_array_equal(outcomes, [0, 0, 0, 0])
    np.testing.assert_array_equal(
        counts, np.broadcast_to([[36, 0, 0, 0], [36, 0, 0, 0]], (4, 2, 4))
    )
    outcomes, counts = bench.play(env, _Fixed(13), _Fixed(6), 3, jax.random.key(2), 1)
    np.testing.assert_array_equal(
        counts, np.broadcast_to([[36, 36, 0, 0], [36, 0, 0, 0]], (3, 2, 4))
    )


def _args(**changes: Any) -> argparse.Namespace:
    settings = {
        "agents_per_side": 4,
        "map_size": 12,
        "max_steps": 20,
        "num_envs": 2,
        "env_steps": 64,
        "seeds": 1,
        "env_param": [],
        "attack_penalty": None,
    }
    return argparse.Namespace(**(settings | changes))


def test_env_overrides_reach_both_methods() -> None:
    """--env-param and --attack-penalty set env.params for both methods; the later wins."""
    bench = load_benchmark("battle_meanfield")
    args = _args(env_param=["attack_penalty=-0.01", " kill_reward = 3"], attack_penalty=0.0)
    for method in bench.METHODS:
        params = bench.method_config(method, args).envs[0].params
        assert params["attack_penalty"] == 0.0
        assert params["kill_reward"] == 3
        assert params["agents_per_side"] == 4
    independent = bench.method_config("independent", args)
    assert independent.envs[0].mean_field is None
    assert bench.method_config("mean_field", args).envs[0].mean_field is not None


@pytest.mark.parametrize(
    ("setting", "named"),
    [("attack_penalty", "--env-param"), ("=1", "--env-param"), ("attack_penalti=-0.01", "attack")],
)
def test_bad_env_params_are_refused(setting: str, named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        load_benchmark("battle_meanfield").method_config("mean_field", _args(env_param=[setting]))
