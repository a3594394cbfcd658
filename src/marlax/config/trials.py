"""RL²'s config rules: trials (`episodes_per_trial`) exactly under algorithm "rl2".

RL² is PPO (section `ppo`) on trial envs: `TaskConfig.make_env` wraps each task family in a
`TrialEnv` of k episodes of one task, so PPO's own checks run here on the trial envs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from marlax.config import checks
from marlax.validate import require

if TYPE_CHECKING:
    from marlax.config.schema import TrainConfig


def check_trials(config: TrainConfig) -> None:
    """Trials on every task exactly when algorithm = "rl2"; for RL² a model with memory and
    PPO's checks on the trial envs.

    Raises:
        ConfigError: on `envs.<i>.episodes_per_trial`, `model.name` (an MLP forgets between
            steps), or PPO's fields (`envs`, `model.*`, `ppo.num_minibatches`, `run.devices`).
    """
    rl2 = config.algorithm == "rl2"
    for index, task in enumerate(config.envs):
        require(
            (task.episodes_per_trial is not None) == rl2,
            f"envs.{index}.episodes_per_trial",
            task.episodes_per_trial,
            'k >= 1 episodes per trial for algorithm "rl2"'
            if rl2
            else 'null unless algorithm = "rl2" (RL² trials)',
        )
    if not rl2:
        return
    require(
        config.model.name != "mlp" or config.model.graph is not None,
        "model.name",
        config.model.name,
        "a recurrent model (gru, transformer, ssm, s5): RL² keeps memory across the "
        "episodes of a trial",
    )
    envs = [task.make_env() for task in config.envs]
    if config.multi_task:
        checks.check_tasks_compatible([task.name for task in config.envs], envs)
    checks.check_model(config, envs)
    checks.check_minibatches(config, max(env.num_agents for env in envs))
    checks.check_devices(config)
