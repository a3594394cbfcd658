"""The off-policy actor-critic learners' section (`off_policy`) and the checks that need their env.

    {"algorithm": "sac", "env": {...}, "off_policy": {"total_env_steps": 1000000, ...}}

MADDPG (deterministic actors, a centralised critic on every agent's observation and action)
and per-agent SAC (a tanh-Gaussian actor, twin critics on the agent's own observation and
action, a learned entropy temperature) share every field here; the `noise_*` fields are
MADDPG's exploration on continuous actions, the `gumbel_*` and `logit_penalty` fields
MADDPG's on discrete actions, the `*alpha*` and `target_entropy` fields SAC's.

MADDPG picks its action form from the env, as PPO picks its head: a `Box` action space gets
the deterministic tanh actor, a `Discrete(A)` one the Gumbel-softmax actor (Lowe et al. 2017,
appendix; openai/maddpg's `SoftCategoricalPd`). The `gumbel_*` settings are then read; set on
any other task they are refused, since they would silently do nothing. Every update plays
`num_steps` steps in each env (continuing the episodes of the last update), stores the
transitions in the replay and takes `gradient_steps` gradient steps on sampled batches.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from marlax.config.validators import (
    Check,
    boolean,
    check_fields,
    choice,
    integer,
    number,
    optional,
    spec,
)
from marlax.envs.base import Env
from marlax.envs.spaces import Box, Discrete
from marlax.errors import ConfigError
from marlax.validate import is_int, require

if TYPE_CHECKING:
    from marlax.config.schema import TrainConfig

OFF_POLICY_ALGORITHMS = ("maddpg", "sac")
GUMBEL_ESTIMATORS = ("soft", "straight_through")
DISCRETE_ONLY = ("gumbel_temperature", "gumbel_estimator", "logit_penalty")
"""The fields only discrete-action MADDPG reads."""
NOISE_FIELDS = ("noise_std_start", "noise_std_finish", "noise_decay")
"""Continuous MADDPG's exploration noise: discrete MADDPG explores by sampling instead."""


def hidden_sizes() -> Check:
    """A non-empty list of layer widths, each an integer >= 1 (stored as a tuple)."""

    def check(field: str, value: Any) -> tuple[int, ...]:
        ok = isinstance(value, list | tuple) and len(value) >= 1
        if not ok or not all(is_int(size) and size >= 1 for size in value):
            raise ConfigError(field, value, "a non-empty list of integers >= 1, e.g. [64, 64]")
        return tuple(int(size) for size in value)

    return check


@dataclass(frozen=True, kw_only=True)
class OffPolicyConfig:
    """MADDPG / SAC with parameter sharing, transition replay and Polyak-averaged targets."""

    total_env_steps: int = spec(1_000_000, integer(1))
    """Environment steps to train for, summed over all envs (>= 1; agents not counted)."""
    num_steps: int = spec(8, integer(1))
    """T, steps per env per update (>= 1); episodes run on across updates."""
    buffer_size: int = spec(100_000, integer(1))
    """Transitions the replay holds (>= batch_size); the oldest are overwritten first."""
    batch_size: int = spec(256, integer(1))
    """Transitions per gradient step (>= 1)."""
    gradient_steps: int = spec(4, integer(1))
    """Gradient steps per update (>= 1); each updates the critic, the actor and the targets."""
    learning_starts: int = spec(10_000, integer(0))
    """Env steps of uniform-random actions collected before the first gradient step (>= 0)."""
    gamma: float = spec(0.95, number(0.0, 1.0))
    """Discount per step, in [0, 1]."""
    actor_learning_rate: float = spec(1e-3, number(0.0, open_low=True))
    """Step size of the actor's optimiser (`optimizer` section; > 0)."""
    critic_learning_rate: float = spec(1e-3, number(0.0, open_low=True))
    """Step size of the critic's optimiser (> 0)."""
    tau: float = spec(0.01, number(0.0, 1.0, open_low=True))
    """Polyak step of the targets after every gradient step: target <- tau * online +
    (1 - tau) * target, in (0, 1]."""
    max_grad_norm: float = spec(10.0, number(0.0, open_low=True))
    """Global gradient-norm clip of each network's update (> 0)."""
    agent_ids: bool = spec(True, boolean())
    """Append a one-hot agent id to what the shared actor (and critic) read."""
    actor_hidden_sizes: tuple[int, ...] = spec((64, 64), hidden_sizes())
    """Widths of the actor MLP's hidden layers (ReLU)."""
    critic_hidden_sizes: tuple[int, ...] = spec((64, 64), hidden_sizes())
    """Widths of the critic MLP's hidden layers (ReLU)."""
    noise_std_start: float = spec(0.3, number(0.0))
    """MADDPG: std of the Gaussian exploration noise at the start, in units of half the
    action box (actions live in [-1, 1] inside the learner; >= 0)."""
    noise_std_finish: float = spec(0.05, number(0.0))
    """MADDPG: std of the exploration noise after the decay (>= 0)."""
    noise_decay: float = spec(0.5, number(0.0, 1.0))
    """MADDPG: fraction of the run over which the std falls linearly from start to finish."""
    gumbel_temperature: float = spec(1.0, number(0.0, open_low=True))
    """MADDPG on Discrete actions: temperature of the Gumbel-softmax relaxation in the losses
    (> 0; 1 as openai/maddpg). Lower is closer to one-hot with noisier gradients."""
    gumbel_estimator: str = spec("soft", choice(GUMBEL_ESTIMATORS))
    """MADDPG on Discrete actions: the action the critic is evaluated on in the actor loss and
    the TD target. "soft": the relaxed sample softmax((logits + g) / temperature) itself
    (openai/maddpg); "straight_through": its one-hot argmax forward with the relaxed sample's
    gradient (Jang et al. 2017), so the critic only ever reads one-hot actions."""
    logit_penalty: float = spec(1e-3, number(0.0))
    """MADDPG on Discrete actions: weight of mean(logits^2) in the actor loss (>= 0;
    openai/maddpg's 1e-3 `p_reg`)."""
    init_alpha: float = spec(0.1, number(0.0, open_low=True))
    """SAC: entropy temperature at the start (> 0)."""
    autotune_alpha: bool = spec(True, boolean())
    """SAC: learn log(alpha) so the policy's entropy tracks `target_entropy` (Haarnoja et al.
    2018b); False keeps alpha = init_alpha."""
    alpha_learning_rate: float = spec(3e-4, number(0.0, open_low=True))
    """SAC: step size of log(alpha)'s optimiser (> 0)."""
    target_entropy: float | None = spec(None, optional(number(), "-action_dim"))
    """SAC: the entropy the temperature aims for, in nats of the [-1, 1] action box; None =
    minus the action dimension."""

    def __post_init__(self) -> None:
        check_fields(self)
        require(
            self.batch_size <= self.buffer_size,
            "batch_size",
            self.batch_size,
            f"at most buffer_size = {self.buffer_size}",
        )


def steps_per_update(off_policy: OffPolicyConfig, num_envs: int) -> int:
    """T * B: env steps one update collects."""
    return off_policy.num_steps * num_envs


def _check_action_space(name: str, task_name: str, env: Env, off_policy: OffPolicyConfig) -> None:
    """Bounded Box actions f32[A] (either learner) or Discrete(A) (MADDPG, with >= 2 actions);
    the fields the task's learner does not read (`DISCRETE_ONLY` on Box actions,
    `NOISE_FIELDS` on Discrete ones) left at their defaults, so no setting silently does
    nothing."""
    space = env.action_space
    bounded = isinstance(space, Box) and math.isfinite(space.low) and math.isfinite(space.high)
    box = bounded and len(space.shape) == 1
    discrete = name == "maddpg" and isinstance(space, Discrete) and space.n >= 2
    expected = (
        "an env with continuous, bounded Box actions f32[A] (or Discrete(A >= 2) actions) "
        "for maddpg"
        if name == "maddpg"
        else f"an env with continuous, bounded Box actions f32[A] for {name} "
        "(discrete actions: maddpg, or the Q-learners)"
    )
    require(box or discrete, "envs.0.name", task_name, f"{expected}, not {space}")
    if discrete:
        unread, reader = NOISE_FIELDS, "maddpg on Box actions reads (discrete maddpg samples)"
        switch = "true"
    else:
        unread, reader = DISCRETE_ONLY, "maddpg on Discrete actions reads"
        switch = "false"
    defaults = OffPolicyConfig()
    for field in unread:
        value = getattr(off_policy, field)
        require(
            value == getattr(defaults, field),
            f"off_policy.{field}",
            value,
            f"its default {getattr(defaults, field)!r}, a setting only {reader}; {task_name} "
            f"has {space} actions (simple_spread switches with params.continuous_actions = "
            f"{switch})",
        )


def check_off_policy(config: TrainConfig, envs: list[Env]) -> None:
    """What MADDPG and SAC need of the task: one task with float vector observations and
    continuous (Box) actions, or for MADDPG Discrete ones, and a budget of at least one update
    that reaches learning.

    Raises:
        ConfigError: on `envs`, `envs.0.name`, `off_policy.total_env_steps`,
            `off_policy.learning_starts`, or a `gumbel_*` / `logit_penalty` / `noise_*` field
            set for a task whose learner does not read it.
    """
    name = config.algorithm
    require(len(envs) == 1, "envs", [task.name for task in config.envs], f"one task for {name}")
    env, task_name = envs[0], config.envs[0].name
    _check_action_space(name, task_name, env, config.off_policy)
    require(
        isinstance(env.observation_space, Box) and len(env.observation_space.shape) == 1,
        "envs.0.name",
        task_name,
        f"an env with vector observations f32[D] for {name} (its MLPs read vectors)",
    )
    off_policy = config.off_policy
    steps = steps_per_update(off_policy, config.envs[0].num_envs)
    require(
        off_policy.total_env_steps >= steps,
        "off_policy.total_env_steps",
        off_policy.total_env_steps,
        f"at least {steps} = num_steps {off_policy.num_steps} x num_envs "
        f"{config.envs[0].num_envs} (one update)",
    )
    require(
        off_policy.learning_starts < off_policy.total_env_steps,
        "off_policy.learning_starts",
        off_policy.learning_starts,
        f"less than total_env_steps = {off_policy.total_env_steps} (or nothing is learned)",
    )


__all__ = [
    "DISCRETE_ONLY",
    "GUMBEL_ESTIMATORS",
    "NOISE_FIELDS",
    "OFF_POLICY_ALGORITHMS",
    "OffPolicyConfig",
    "check_off_policy",
    "hidden_sizes",
    "steps_per_update",
]
