"""The value-based learners' section (`q_learning`) and the checks that need their envs.

    {"algorithm": "qmix", "env": {...}, "q_learning": {"total_env_steps": 2000000, ...}}

IQL, VDN, QMIX and MF-Q share every field here; they differ only in how the agents' Q-values
are combined (`algorithm`: "iql" none, "vdn" a sum, "qmix" a monotonic mixer on the global
state) or what they read ("mfq": independent Q-learners whose observation adds the neighbours'
mean previous action, Yang et al. 2018: `model.mean_field`, {} = the whole team by default,
{"radius": r} = a neighbourhood, `marlax.envs.wrappers.mean_field.MeanFieldEnv`).
Every update resets the envs and plays `rollout_length` steps in each (an episode chunk that
starts at a reset), stores the chunks in the replay and takes `gradient_steps` steps on
sampled chunks, as in pymarl and JaxMARL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from marlax.config.validators import boolean, check_fields, choice, integer, number, optional, spec
from marlax.envs.base import Env
from marlax.envs.spaces import Discrete
from marlax.validate import require

if TYPE_CHECKING:
    from marlax.config.schema import TrainConfig

Q_ALGORITHMS = ("iql", "vdn", "qmix", "mfq")
TEAM_REWARDS = ("mean", "sum")


@dataclass(frozen=True, kw_only=True)
class QLearningConfig:
    """Recurrent Q-learning with parameter sharing, double-Q targets and episode replay."""

    total_env_steps: int = spec(1_000_000, integer(1))
    """Environment steps to train for, summed over all envs (>= 1; agents not counted)."""
    rollout_length: int | None = spec(None, optional(integer(1), "the env's max_steps"))
    """T, steps per env per update, from a reset (1..max_steps; None = max_steps, so every
    chunk holds a whole first episode). A chunk never outlasts a time limit, so the one
    truncation it can hold is at its last step, which bootstraps from the final observation."""
    buffer_size: int = spec(5_000, integer(1))
    """Chunks the replay holds (>= batch_size); the oldest are overwritten first."""
    batch_size: int = spec(32, integer(1))
    """Chunks per gradient step (>= 1)."""
    gradient_steps: int = spec(8, integer(1))
    """Gradient steps per update (>= 1)."""
    learning_starts: int = spec(10_000, integer(0))
    """Env steps collected before the first gradient step (>= 0)."""
    gamma: float = spec(0.99, number(0.0, 1.0))
    """Discount per step, in [0, 1]."""
    learning_rate: float = spec(5e-3, number(0.0, open_low=True))
    """Step size of the optimiser (`optimizer` section; > 0)."""
    anneal_lr: bool = spec(False, boolean())
    """Decay the learning rate linearly to 0 over the run."""
    max_grad_norm: float = spec(10.0, number(0.0, open_low=True))
    """Global gradient-norm clip (> 0)."""
    eps_start: float = spec(1.0, number(0.0, 1.0))
    """Exploration rate at the start, in [0, 1]."""
    eps_finish: float = spec(0.05, number(0.0, 1.0))
    """Exploration rate after the decay, in [0, 1]."""
    eps_decay: float = spec(0.1, number(0.0, 1.0))
    """Fraction of the run over which epsilon falls linearly from eps_start to eps_finish."""
    tau: float = spec(1.0, number(0.0, 1.0, open_low=True))
    """Target-network update: target <- tau * online + (1 - tau) * target (1 = hard copy)."""
    target_update_interval: int = spec(10, integer(1))
    """Updates between target-network updates (>= 1)."""
    double_q: bool = spec(True, boolean())
    """Double Q-learning: the online network picks the next action, the target values it."""
    team_reward: str = spec("mean", choice(TEAM_REWARDS))
    """VDN/QMIX's team reward from the per-agent rewards f32[N]: "mean" or "sum" (JaxMARL
    sums MPE rewards; SMAX rewards are shared, so "mean" is one agent's). IQL uses each
    agent's own reward, and so does MF-Q."""
    agent_ids: bool = spec(True, boolean())
    """Append a one-hot agent id to vector observations (an id channel to grid ones), so the
    shared network can tell agents apart."""
    head_init_scale: float = spec(0.01, number(0.0, open_low=True))
    """Orthogonal gain of the agent network's Q output layer (> 0). 0.01 (PPO's policy-head
    gain) keeps the first Q-values near 0 and, with the shipped simple_spread configs, scored
    better than 1 (BENCHMARKS.md); JaxMARL's networks use 1, which the same-run peer
    benchmark sets."""
    mixer_embed_dim: int = spec(32, integer(1))
    """QMIX: width of the mixing layer (>= 1)."""
    mixer_hypernet_dim: int = spec(64, integer(1))
    """QMIX: hidden width of the hypernetworks that produce the mixing weights (>= 1)."""

    def __post_init__(self) -> None:
        check_fields(self)
        require(
            self.batch_size <= self.buffer_size,
            "batch_size",
            self.batch_size,
            f"at most buffer_size = {self.buffer_size}",
        )


def chunk_length(q_learning: QLearningConfig, env: Env) -> int:
    """T: the configured rollout length, or the env's max_steps."""
    return q_learning.rollout_length or env.max_steps


def check_q_learning(config: TrainConfig, envs: list[Env]) -> None:
    """What a Q-learner needs of the task: one task, discrete actions, a chunk length that
    fits the time limit, and a budget of at least one update.

    Raises:
        ConfigError: on `envs`, `q_learning.rollout_length` or `q_learning.total_env_steps`.
    """
    name = config.algorithm
    require(len(envs) == 1, "envs", [task.name for task in config.envs], f"one task for {name}")
    env = envs[0]
    require(
        isinstance(env.action_space, Discrete),
        "envs.0.name",
        config.envs[0].name,
        f"an env with discrete actions for {name} (Q-learning picks an argmax)",
    )
    q_learning = config.q_learning
    require(
        q_learning.rollout_length is None or q_learning.rollout_length <= env.max_steps,
        "q_learning.rollout_length",
        q_learning.rollout_length,
        f"at most the env's max_steps = {env.max_steps} (a chunk starts at a reset and must "
        "not pass a time limit)",
    )
    steps = chunk_length(q_learning, env) * config.total_num_envs
    require(
        q_learning.total_env_steps >= steps,
        "q_learning.total_env_steps",
        q_learning.total_env_steps,
        f"at least {steps} = rollout_length {chunk_length(q_learning, env)} x num_envs "
        f"{config.total_num_envs} (one update)",
    )


__all__ = ["Q_ALGORITHMS", "TEAM_REWARDS", "QLearningConfig", "check_q_learning", "chunk_length"]
