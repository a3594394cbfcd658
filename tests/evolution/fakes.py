"""A tiny n-back base config and fake scorers with known fitness, for the evolution tests."""

from __future__ import annotations

from marlax.config import TrainConfig
from marlax.evolution.scoring import CandidateScore

TINY_BASE = {
    "env": {"name": "nback", "num_envs": 8, "params": {"max_n": 2, "max_value": 2, "max_steps": 8}},
    "model": {"name": "gru", "core": {"hidden_size": 8}},
    "ppo": {"total_env_steps": 128, "rollout_length": 8, "num_minibatches": 2},
    "run": {"log_every": 1, "checkpoint_every": 1},
}
"""n-back with 8 envs, 8-step episodes and 2 PPO updates: cheap to validate (and to train)."""


def width_of(config: TrainConfig) -> int:
    """The core width of a candidate config, whatever its core."""
    core = config.model.core
    if "hidden_sizes" in core:
        return core["hidden_sizes"][-1]
    return core.get("hidden_size", core.get("d_model", 0))


def fake_score(config: TrainConfig) -> CandidateScore:
    """A known fitness: width plus 1000 x learning rate, minus 5 for an MLP (no memory)."""
    penalty = 5.0 if config.model.name == "mlp" else 0.0
    score = width_of(config) + 1000.0 * config.ppo.learning_rate - penalty
    return CandidateScore(score, config.ppo.total_env_steps, 0.0)


class CountingScorer:
    """`fake_score` that counts its calls and can stop (KeyboardInterrupt) after `stop_after`."""

    def __init__(self, stop_after: int | None = None) -> None:
        self.calls = 0
        self.stop_after = stop_after
        self.configs: list[TrainConfig] = []

    def __call__(self, config: TrainConfig) -> CandidateScore:
        if self.stop_after is not None and self.calls >= self.stop_after:
            raise KeyboardInterrupt
        self.calls += 1
        self.configs.append(config)
        return fake_score(config)
