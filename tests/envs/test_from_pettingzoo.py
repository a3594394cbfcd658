"""`from_pettingzoo`: step-by-step equality with the marlax env it wraps (through
`to_pettingzoo`), masks of agents that die or appear, auto-reset, and a magent2 smoke test."""

from __future__ import annotations

from typing import Any

import gymnasium
import jax
import numpy as np
import pytest
from pettingzoo import ParallelEnv

from marlax.envs import make
from marlax.envs.adapters.from_pettingzoo import (
    from_gymnasium_space,
    from_pettingzoo,
    reset_seeds,
)
from marlax.envs.adapters.pettingzoo import to_pettingzoo
from marlax.envs.spaces import Box, Discrete
from marlax.errors import ConfigError

NUM_ENVS = 2


class _Reference:
    """One marlax env stepped with `to_pettingzoo`'s key schedule, auto-reset by hand."""

    def __init__(self, env: Any, seed: int) -> None:
        self.env = env
        self.key, reset_key = jax.random.split(jax.random.key(seed))
        self._reset = jax.jit(env.reset)
        self._step = jax.jit(env.step)
        self.obs, self.state = self._reset(reset_key)

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool, np.ndarray]:
        """(final obs, reward, done, obs after auto-reset) of one step."""
        self.key, step_key = jax.random.split(self.key)
        obs, self.state, reward, done, _ = self._step(step_key, self.state, actions)
        final_obs = np.asarray(obs)
        if bool(done):
            self.key, reset_key = jax.random.split(self.key)
            obs, self.state = self._reset(reset_key)
        self.obs = obs
        return final_obs, np.asarray(reward), bool(done), np.asarray(obs)

    def legal(self) -> np.ndarray:
        return np.asarray(self.env.action_mask(self.state))


def _legal_random_actions(rng: np.random.Generator, legal: np.ndarray) -> np.ndarray:
    """i32[B, N]: a uniformly drawn legal action per agent."""
    scores = rng.random(legal.shape) * legal
    return np.argmax(scores, axis=-1).astype(np.int32)


@pytest.mark.parametrize(
    "name, params, num_steps",
    [
        ("simple_spread", {"max_steps": 5}, 12),
        ("traveling_salesman", {"max_steps": 6, "width": 10, "height": 10}, 14),
    ],
)
def test_round_trip_equals_the_marlax_env_step_by_step(name, params, num_steps):
    """to_pettingzoo -> from_pettingzoo replays the JAX env: obs, rewards, dones, masks."""
    env = make(name, **params)
    seeds = reset_seeds(7, NUM_ENVS)
    made = iter(seeds)
    host = from_pettingzoo(lambda: to_pettingzoo(env, seed=next(made)), NUM_ENVS, seed=7)
    references = [_Reference(env, seed) for seed in seeds]
    batch = host.reset()
    rng = np.random.default_rng(0)
    ended = 0
    for _ in range(num_steps):
        np.testing.assert_array_equal(batch.obs, np.stack([r.obs for r in references]))
        np.testing.assert_array_equal(batch.legal, np.stack([r.legal() for r in references]))
        assert batch.alive.all()
        actions = _legal_random_actions(rng, batch.legal)
        batch = host.step(actions)
        outcomes = [ref.step(actions[index]) for index, ref in enumerate(references)]
        final_obs, reward, done, _ = (np.stack(part) for part in zip(*outcomes, strict=True))
        np.testing.assert_array_equal(batch.final_obs, final_obs)
        np.testing.assert_array_equal(batch.reward, reward)
        np.testing.assert_array_equal(batch.done, done)
        every_agent = np.broadcast_to(done[:, None], (NUM_ENVS, env.num_agents))
        np.testing.assert_array_equal(batch.agent_done, every_agent)
        np.testing.assert_array_equal(batch.started, batch.agent_done)
        ended += int(done.sum())
    assert ended >= NUM_ENVS  # the check crossed an auto-reset in every env


class _Arena(ParallelEnv):
    """3 slots: "a" lives 4 steps, "b" dies at step 2, "c" appears after step 1.

    Observation of each live agent: [step, slot]; reward: 10 * slot + step.
    """

    metadata = {"name": "arena"}

    def __init__(self) -> None:
        self.possible_agents = ["a", "b", "c"]
        self.agents: list[str] = []
        self._step = 0

    def observation_space(self, agent: str) -> gymnasium.spaces.Space:
        return gymnasium.spaces.Box(-np.inf, np.inf, (2,), np.float32)

    def action_space(self, agent: str) -> gymnasium.spaces.Space:
        return gymnasium.spaces.Discrete(2)

    def _obs(self) -> dict[str, np.ndarray]:
        return {
            agent: np.array([self._step, self.possible_agents.index(agent)], np.float32)
            for agent in self.agents
        }

    def reset(self, seed: int | None = None, options: Any = None) -> tuple[dict, dict]:
        self._step = 0
        self.agents = ["a", "b"]
        return self._obs(), {agent: {} for agent in self.agents}

    def step(self, actions: dict) -> tuple[dict, dict, dict, dict, dict]:
        assert set(actions) == set(self.agents)  # only live agents are asked to act
        self._step += 1
        live = list(self.agents)
        rewards = {agent: 10.0 * self.possible_agents.index(agent) + self._step for agent in live}
        terminations = {agent: agent == "b" and self._step == 2 for agent in live}
        truncations = {agent: self._step == 4 for agent in live}
        slots = {agent: self.possible_agents.index(agent) for agent in live}
        obs = {agent: np.array([self._step, slots[agent]], np.float32) for agent in live}
        self.agents = [a for a in live if not (terminations[a] or truncations[a])]
        if self._step == 1:  # "c" appears: it sees, and acts from the next step on
            self.agents.append("c")
            obs["c"] = np.array([1, 2], np.float32)
        return obs, rewards, terminations, truncations, {agent: {} for agent in live}


def test_dying_and_appearing_agents_are_masked():
    host = from_pettingzoo(_Arena, num_envs=1)
    batch = host.reset()
    np.testing.assert_array_equal(batch.alive[0], [True, True, False])
    np.testing.assert_array_equal(batch.started[0], [True, True, False])
    np.testing.assert_array_equal(batch.obs[0], [[0, 0], [0, 1], [0, 0]])
    zeros = np.zeros((1, 3), np.int32)

    batch = host.step(zeros)  # step 1: "c" appears
    np.testing.assert_array_equal(batch.reward[0], [1, 11, 0])
    np.testing.assert_array_equal(batch.alive[0], [True, True, True])
    np.testing.assert_array_equal(batch.started[0], [False, False, True])
    np.testing.assert_array_equal(batch.obs[0], [[1, 0], [1, 1], [1, 2]])
    assert not batch.agent_done.any() and not batch.done.any()

    batch = host.step(zeros)  # step 2: "b" dies; "c" acts for the first time
    np.testing.assert_array_equal(batch.reward[0], [2, 12, 22])
    np.testing.assert_array_equal(batch.agent_done[0], [False, True, False])
    np.testing.assert_array_equal(batch.terminated[0], [False, True, False])
    np.testing.assert_array_equal(batch.final_obs[0, 1], [2, 1])  # what "b" died seeing
    np.testing.assert_array_equal(batch.alive[0], [True, False, True])
    np.testing.assert_array_equal(batch.obs[0, 1], [0, 0])
    assert batch.legal[0, 1].all()  # a dead slot keeps every action legal

    batch = host.step(zeros)  # step 3: "b" stays dead: masked, reward 0
    np.testing.assert_array_equal(batch.reward[0], [3, 0, 23])
    np.testing.assert_array_equal(batch.agent_done[0], [False, False, False])

    batch = host.step(zeros)  # step 4: time limit; auto-reset
    np.testing.assert_array_equal(batch.reward[0], [4, 0, 24])
    np.testing.assert_array_equal(batch.agent_done[0], [True, False, True])
    np.testing.assert_array_equal(batch.terminated[0], [False, False, False])
    assert batch.done[0] and batch.episode_length[0] == 4
    assert batch.episode_return[0] == pytest.approx((10 + 23 + 69) / 3)
    np.testing.assert_array_equal(batch.alive[0], [True, True, False])
    np.testing.assert_array_equal(batch.started[0], [True, True, False])
    np.testing.assert_array_equal(batch.obs[0], [[0, 0], [0, 1], [0, 0]])


def test_unequal_spaces_are_refused():
    class _Unequal(_Arena):
        def observation_space(self, agent: str) -> gymnasium.spaces.Space:
            size = 3 if agent == "c" else 2
            return gymnasium.spaces.Box(-1.0, 1.0, (size,), np.float32)

    with pytest.raises(ConfigError, match=r"observation_space\(c\)"):
        from_pettingzoo(_Unequal, num_envs=1)


def test_gymnasium_spaces_convert():
    assert from_gymnasium_space(gymnasium.spaces.Discrete(5), "x") == Discrete(5)
    box = gymnasium.spaces.Box(0.0, 2.0, (13, 13, 5), np.float32)
    assert from_gymnasium_space(box, "x") == Box(0.0, 2.0, (13, 13, 5), "float32")
    with pytest.raises(ConfigError, match="x"):
        from_gymnasium_space(gymnasium.spaces.MultiDiscrete([2, 2]), "x")


def test_reset_seeds_are_distinct_and_deterministic():
    seeds = reset_seeds(3, 16)
    assert len(set(seeds)) == 16 and seeds == reset_seeds(3, 16)
    assert seeds != reset_seeds(4, 16)


# ---- magent2 ------------------------------------------------------------------------------
def _charge(step: int, agents: tuple[str, ...]) -> np.ndarray:
    """Red moves right 4 steps, blue left 5, then both attack the cell in front (i32[1, N])."""
    red = [7 if step < 4 else 17 for agent in agents if agent.startswith("red")]
    blue = [5 if step < 5 else 16 for agent in agents if agent.startswith("blue")]
    return np.array([red + blue], np.int32)


def test_magent2_battle_masks_dead_agents():
    battle = pytest.importorskip("magent2.environments.battle_v4")
    host = from_pettingzoo(lambda: battle.parallel_env(map_size=16, max_cycles=30), 1)
    assert host.num_agents == 12 and host.action_space == Discrete(21)
    batch = host.reset()
    assert batch.alive.all()
    alive_counts = [int(batch.alive.sum())]
    for step in range(25):
        before = batch.alive.copy()
        batch = host.step(_charge(step, host.agents))
        died = before & batch.agent_done
        assert not (batch.alive & died).any()  # a dead agent stays masked
        alive_counts.append(int(batch.alive.sum()))
        masked = ~batch.alive
        assert not batch.obs[masked].any()
        assert not batch.reward[~before].any()  # no reward for agents already dead
        assert batch.legal[masked].all()
    assert alive_counts[-1] < alive_counts[0]  # agents died...
    assert alive_counts == sorted(alive_counts, reverse=True)  # ...and stay dead
