"""An RL² run's policies (`POLICY_LOADERS["rl2"]`): PPO's trained actors, playing whole trials.

    run_policy = load_run_policy(Path("runs"), "bold-otter-07")   # marlax.algorithms.trained
    run_policy.env              # the TrialEnv it was trained on
    load_run_policy(Path("runs"), "bold-otter-07", env_overrides={"episodes_per_trial": 8})

`env_overrides` change the family's settings (a distribution shift, e.g. a wider goal range)
and may change `episodes_per_trial` (longer trials than in training); observation and action
shapes must stay those of training.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from marlax.algorithms.ppo.tasks import TaskLayout
from marlax.algorithms.rl2.trainer import restore_rl2_run
from marlax.config import TrainConfig
from marlax.envs.wrappers.trial import TrialEnv
from marlax.errors import ConfigError
from marlax.runs.folder import RunFolder

if TYPE_CHECKING:
    from marlax.algorithms.trained import PolicyRequest, RunPolicy

TRIAL_SETTING = "episodes_per_trial"
"""The one override that changes the trial rather than the family."""


def load_rl2_policies(
    folder: RunFolder, config: TrainConfig, request: PolicyRequest
) -> tuple[RunPolicy, ...]:
    """`PolicyLoader` of RL² runs: PPO's policies on the trained (or a variant) `TrialEnv`."""
    # imported here: marlax.algorithms.trained imports this module for its registry
    from marlax.algorithms.trained import ppo_run_policies

    trained = restore_rl2_run(folder, config, request.checkpoint)
    plain = dataclasses.replace(request, env_overrides={})
    policies = ppo_run_policies(trained, plain, "rl2")
    if not request.env_overrides:
        return policies
    return tuple(_on_variant(run_policy, config, request.env_overrides) for run_policy in policies)


def _on_variant(run_policy: RunPolicy, config: TrainConfig, overrides: Mapping[str, Any]) -> Any:
    """`run_policy` playing trials of the family changed by `overrides`."""
    policy = run_policy.policy
    index = policy.task_index
    env = variant_trial_env(
        run_policy.env_name,
        config.envs[index].params,
        overrides,
        policy.layout.tasks[index].env,
    )
    tasks = list(policy.layout.tasks)
    tasks[index] = dataclasses.replace(tasks[index], env=env)
    layout = TaskLayout(tuple(tasks))
    return dataclasses.replace(run_policy, env=env, policy=policy.replace(layout=layout))


def variant_trial_env(
    env_name: str, params: Mapping[str, Any], overrides: Mapping[str, Any], trial_env: TrialEnv
) -> TrialEnv:
    """Trials of the family `env_name` with `overrides` (family settings, and
    `episodes_per_trial` for longer or shorter trials), shaped as `trial_env`.

    Raises:
        ConfigError: `env_set.<key>` for a setting the family rejects or one that changes
            the policy's shapes; `env_set.episodes_per_trial` below 1.
    """
    from marlax.algorithms.trained import variant_env

    family_overrides = {key: value for key, value in overrides.items() if key != TRIAL_SETTING}
    family = variant_env(env_name, params, family_overrides, trial_env.family)
    episodes = overrides.get(TRIAL_SETTING, trial_env.episodes_per_trial)
    try:
        return TrialEnv(family, episodes)
    except ConfigError as error:
        raise ConfigError(f"env_set.{TRIAL_SETTING}", episodes, error.expected) from None
