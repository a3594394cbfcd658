"""Google Research Football as a PettingZoo `ParallelEnv`, for `from_pettingzoo` and Sebulba.

    {"algorithm": "sebulba",
     "sebulba": {"host_env": "pettingzoo:marlax.envs.adapters.football",
                 "host_env_params": {"env_name": "academy_3_vs_1_with_keeper", "players": 3}}}

`parallel_env(**params)` builds one `FootballParallelEnv`: the left team's first `players`
players are the agents `left_0 ... left_{players-1}`, each seeing the scenario's observation
for it (`representation`, "simple115v2" by default: f32[115]) and choosing one of the 19
actions of the default action set; the right team is the scenario's built-in AI. Rewards are
per player (`rewards`, e.g. "scoring" or "scoring,checkpoints"). Every agent ends with the
episode: Football reports one `done` for a goal, a lost ball in an academy scenario or the
step limit alike, so all of them count as terminations (no bootstrap).

Seeding: `reset(seed=s)` rebuilds the game with `game_engine_random_seed = s` (the engine
replays a game exactly for a seed and the same actions); a `reset()` without a seed continues
the engine's own random stream.

Needs the `football` extra, which builds the C++ engine from source (see the README for the
Debian packages it needs); the module imports `gfootball` only when an env is made.
"""

from __future__ import annotations

from typing import Any

import gymnasium
import numpy as np
from pettingzoo import ParallelEnv

from marlax.errors import ConfigError
from marlax.validate import require_positive_int

NUM_ACTIONS = 19  # gfootball's default action set


def parallel_env(**params: Any) -> FootballParallelEnv:
    """One Football game as a ParallelEnv (`FootballParallelEnv`'s keyword arguments)."""
    return FootballParallelEnv(**params)


def _create_environment() -> Any:
    try:
        import gfootball.env as football
    except ImportError as error:
        raise ConfigError(
            "sebulba.host_env",
            "pettingzoo:marlax.envs.adapters.football",
            "gfootball installed: pip install 'marlax[football]' (README: the engine builds "
            f"from source and needs SDL2 and Boost dev packages); import failed: {error}",
        ) from None
    return football.create_environment


class FootballParallelEnv(ParallelEnv):
    """A Football scenario whose left-team players are PettingZoo agents (module docstring).

    Args:
        env_name: the scenario, e.g. "academy_3_vs_1_with_keeper" or "11_vs_11_easy_stochastic".
        players: left-team players controlled as agents (>= 1).
        representation: gfootball's observation representation (a flat vector one is
            expected by marlax's vector encoder: "simple115v2").
        rewards: gfootball's reward wrappers, e.g. "scoring,checkpoints".
    """

    metadata = {"name": "gfootball_v2", "render_modes": [], "is_parallelizable": True}

    def __init__(
        self,
        env_name: str = "academy_3_vs_1_with_keeper",
        players: int = 3,
        representation: str = "simple115v2",
        rewards: str = "scoring",
    ) -> None:
        self.settings = {
            "env_name": env_name,
            "representation": representation,
            "rewards": rewards,
            "number_of_left_players_agent_controls": require_positive_int("players", players),
        }
        self.possible_agents = [f"left_{index}" for index in range(players)]
        self.agents: list[str] = []
        self._env = self._make(seed=None)
        shape = self._env.observation_space.shape[1:]
        self._observation_space = gymnasium.spaces.Box(-np.inf, np.inf, shape, np.float32)
        self._action_space = gymnasium.spaces.Discrete(NUM_ACTIONS)

    def _make(self, seed: int | None) -> Any:
        options = {} if seed is None else {"game_engine_random_seed": int(seed)}
        return _create_environment()(**self.settings, other_config_options=options)

    def observation_space(self, agent: str) -> gymnasium.spaces.Space:
        return self._observation_space

    def action_space(self, agent: str) -> gymnasium.spaces.Space:
        return self._action_space

    def reset(
        self, seed: int | None = None, options: dict | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, dict]]:
        if seed is not None:
            self._env.close()
            self._env = self._make(seed)
        observations = np.asarray(self._env.reset(), np.float32).reshape(
            len(self.possible_agents), -1
        )
        self.agents = list(self.possible_agents)
        return self._per_agent(observations), {agent: {} for agent in self.agents}

    def step(self, actions: dict[str, Any]) -> tuple[dict, dict, dict, dict, dict]:
        chosen = [int(actions[agent]) for agent in self.possible_agents]
        observations, rewards, done, info = self._env.step(chosen)
        count = len(self.possible_agents)
        observations = np.asarray(observations, np.float32).reshape(count, -1)
        rewards = np.broadcast_to(np.asarray(rewards, np.float32), (count,))
        agents = self.agents
        if done:
            self.agents = []
        return (
            self._per_agent(observations),
            {agent: float(rewards[index]) for index, agent in enumerate(agents)},
            {agent: bool(done) for agent in agents},
            {agent: False for agent in agents},
            {agent: dict(info) for agent in agents},
        )

    def close(self) -> None:
        self._env.close()

    def _per_agent(self, observations: np.ndarray) -> dict[str, np.ndarray]:
        return {agent: observations[index] for index, agent in enumerate(self.possible_agents)}
