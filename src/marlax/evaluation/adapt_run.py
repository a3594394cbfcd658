"""`marlax adapt RUN`: a trained meta-policy's return on held-out tasks, step by adaptation step.

    curve = adapt_run(Path("runs"), "bold-otter-07", AdaptRequest(task_seed=7, steps=3))
    curve.returns            # f64[steps + 1, tasks]

How a run adapts follows its learner:
- **maml**: `steps` inner policy-gradient steps on fresh trajectories of each task (the inner
  update of training, `marlax.algorithms.maml.adaptation`); point s = mean return of K
  episodes after s steps.
- **rl2**, **varibad**: in context: one trial of `steps + 1` episodes per task (default: the
  trained `episodes_per_trial`), the memory (RL²) or belief (VariBAD) kept across them; point
  s = the return of the trial's episode s + 1. No parameter changes. Actions are sampled, as
  in training (`greedy` plays the mode).
- **ppo** with `model.next_obs_head`: test-time training (`marlax.algorithms.ppo.test_time`):
  point s = mean return of `episodes` episodes after s updates of the head and the trunk's
  normalisation layers by `gradient_steps` Adam steps (`learning_rate`) each on the
  next-observation error of the episodes just played (default 5 steps). The curve also keeps
  that error per point. An env that is not a task family adapts M times to the env itself.
Other learners (and PPO runs without the head) have no adaptation here: a ConfigError says so.

Tasks are `sample_task` draws from `split(key(task_seed), tasks)`: training draws its tasks
from the run's own seed stream, so these are held out (the families' tasks are continuous
draws, or Bernoulli probabilities, so a repeat has probability 0). `env_overrides` change the
family's settings: a distribution shift the policy was not trained on.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jax
import numpy as np

from marlax.errors import ConfigError
from marlax.evaluation.adaptation import AdaptationCurve
from marlax.runs.folder import RunFolder
from marlax.validate import require_nonnegative_int, require_number, require_positive_int

IN_CONTEXT = ("rl2", "varibad")
ADAPTING_LEARNERS = ("maml", *IN_CONTEXT, "ppo")
TEST_TIME_STEPS = 5
"""Default adaptation steps of a PPO run with a next-observation head."""


@dataclass(frozen=True)
class AdaptRequest:
    """What to measure.

    Attributes:
        task_seed: tasks are drawn from `split(key(task_seed), tasks)`.
        tasks: how many held-out tasks (M >= 1).
        steps: adaptation steps (maml: inner steps; in context: episodes after the first);
            None = the run's own (maml: 3; rl2/varibad: episodes_per_trial - 1).
        seed_index: which trained seed adapts.
        checkpoint: checkpoint step (None = the latest).
        episode_seed: the key of the episodes' draws.
        env_overrides: family settings changed from training.
        greedy: in-context learners act by the mode instead of sampling (MAML always samples:
            its inner steps learn from the sampled episodes).
        episodes, learning_rate, gradient_steps: test-time training of a PPO run with a
            next-observation head: episodes played per point, Adam's step size, Adam steps
            per point.
    """

    task_seed: int = 0
    tasks: int = 32
    steps: int | None = None
    seed_index: int = 0
    checkpoint: int | None = None
    episode_seed: int = 0
    env_overrides: dict = field(default_factory=dict)
    greedy: bool = False
    episodes: int = 8
    learning_rate: float = 1e-3
    gradient_steps: int = 4

    def __post_init__(self) -> None:
        require_nonnegative_int("task_seed", self.task_seed)
        require_positive_int("tasks", self.tasks)
        if self.steps is not None:
            require_nonnegative_int("steps", self.steps)
        require_nonnegative_int("seed_index", self.seed_index)
        require_nonnegative_int("episode_seed", self.episode_seed)
        require_positive_int("episodes", self.episodes)
        require_number("learning_rate", self.learning_rate, 0.0, open_low=True)
        require_positive_int("gradient_steps", self.gradient_steps)


def adapt_run(runs_dir: Path, name: str, request: AdaptRequest) -> AdaptationCurve:
    """The adaptation curve of run `name` (see the module docstring).

    Raises:
        ConfigError: no such run or checkpoint, a learner that does not adapt, a bad setting.
    """
    folder = RunFolder.open(Path(runs_dir), name)
    # the raw config's learner name ("ppo" for runs from before the field existed)
    algorithm = folder.read_config().get("algorithm", "ppo")
    if algorithm not in ADAPTING_LEARNERS:
        raise ConfigError(
            "run",
            name,
            f"a run of a learner that adapts ({', '.join(ADAPTING_LEARNERS)}), not {algorithm}",
        )
    losses = None
    if algorithm == "maml":
        returns, method, label = _maml_returns(runs_dir, name, request)
    elif algorithm == "ppo":
        returns, losses, method, label = _test_time_returns(runs_dir, name, request)
    else:
        returns, method, label = _in_context_returns(runs_dir, name, request, algorithm)
    return AdaptationCurve(
        run=name,
        method=method,
        step_label=label,
        returns=np.asarray(returns, np.float64),
        task_seed=request.task_seed,
        env_overrides=dict(request.env_overrides),
        losses=None if losses is None else np.asarray(losses, np.float64),
    )


def _held_out_tasks(env: Any, request: AdaptRequest) -> Any:
    keys = jax.random.split(jax.random.key(request.task_seed), request.tasks)
    return jax.vmap(env.sample_task)(keys)


def _maml_returns(runs_dir: Path, name: str, request: AdaptRequest) -> tuple[Any, str, str]:
    """f32[steps + 1, M]: MAML's mean return after 0..steps inner steps, per task."""
    from marlax.algorithms.maml.adaptation import batched_adaptation_returns
    from marlax.algorithms.maml.policy import load_maml_run
    from marlax.algorithms.trained import variant_env

    trained = load_maml_run(runs_dir, name, request.checkpoint)
    inner = trained.inner
    task_config = trained.config.envs[0]
    env = variant_env(task_config.name, task_config.params, request.env_overrides, trained.env)
    inner = dataclasses.replace(inner, sampler=dataclasses.replace(inner.sampler, env=env))
    steps = 3 if request.steps is None else request.steps
    returns = batched_adaptation_returns(
        jax.random.key(request.episode_seed),
        trained.actor_params(request.seed_index),
        inner,
        _held_out_tasks(env, request),
        steps,
    )  # f32[M, steps + 1]
    method = f"maml: inner policy-gradient steps (K = {inner.sampler.trajectories} episodes)"
    return np.asarray(returns).T, method, "inner step"


def _in_context_returns(
    runs_dir: Path, name: str, request: AdaptRequest, algorithm: str
) -> tuple[Any, str, str]:
    """f32[k, M]: the return of episode 1..k of one trial per task (memory kept across them)."""
    from marlax.algorithms.rl2.trials import jitted_trial_episode_returns
    from marlax.algorithms.trained import load_run_policy
    from marlax.envs.wrappers.trial import TrialEnv

    run_policy = load_run_policy(
        runs_dir,
        name,
        seed_index=request.seed_index,
        sample=not request.greedy,
        checkpoint=request.checkpoint,
        env_overrides=request.env_overrides,
    )
    env = run_policy.env
    if request.steps is not None:
        env = TrialEnv(env.family, request.steps + 1)
    returns = jitted_trial_episode_returns(
        jax.random.key(request.episode_seed),
        env=env,
        policy=run_policy.policy,
        tasks=_held_out_tasks(env, request),
    )  # f32[M, k]
    memory = "memory" if algorithm == "rl2" else "belief"
    acting = "greedy" if request.greedy else "sampled"
    method = (
        f"{algorithm}: in context ({env.episodes_per_trial} episodes a trial, {memory} kept, "
        f"{acting} actions)"
    )
    return np.asarray(returns).T, method, "episodes already played in the trial"


def _test_time_returns(
    runs_dir: Path, name: str, request: AdaptRequest
) -> tuple[Any, Any, str, str]:
    """(returns f32[steps + 1, M], next-observation errors f32[steps + 1, M], method, label) of
    test-time training (see the module docstring)."""
    from marlax.algorithms.ppo.test_time import TestTimeAdaptation, batched_test_time_returns
    from marlax.algorithms.trained import load_run_policy

    run_policy = load_run_policy(
        runs_dir,
        name,
        seed_index=request.seed_index,
        sample=True,
        checkpoint=request.checkpoint,
        env_overrides=request.env_overrides,
    )
    policy = run_policy.policy
    if not policy.networks.next_obs_head:
        raise ConfigError(
            "run",
            name,
            "a PPO run trained with model.next_obs_head: true (without the self-supervised"
            " head a PPO policy has nothing to adapt at test time)",
        )
    env = run_policy.env
    adaptation = TestTimeAdaptation(
        policy,
        env,
        episodes=request.episodes,
        learning_rate=request.learning_rate,
        gradient_steps=request.gradient_steps,
    )
    tasks = (
        _held_out_tasks(env, request)
        if adaptation.is_family
        else jax.numpy.arange(request.tasks, dtype=jax.numpy.int32)
    )
    steps = TEST_TIME_STEPS if request.steps is None else request.steps
    returns, losses = batched_test_time_returns(
        jax.random.key(request.episode_seed), adaptation, tasks, steps
    )  # f32[M, steps + 1] each
    method = (
        f"ppo: test-time training of the next-observation head and normalisation layers "
        f"({request.episodes} episodes, {request.gradient_steps} Adam steps at "
        f"lr {request.learning_rate:g} per point)"
    )
    return np.asarray(returns).T, np.asarray(losses).T, method, "adaptation step"
