"""RL²'s training run: PPO's (`marlax.algorithms.ppo.loop.train_run`) under the name "rl2".

    folder = create_run(config)                        # config.algorithm == "rl2"
    result = train_run(folder, config)                 # fresh, or resumed from the latest save

RL² is PPO on trial envs (the config's envs are `TrialEnv`s), so run folders, checkpoints,
exact resume, signals, metric lines and the divergence advice are PPO's; the `return` metric
is the mean return of whole trials.
"""

from __future__ import annotations

from rich.console import Console

from marlax.algorithms.common.host_loop import LoopResult
from marlax.algorithms.ppo import loop as ppo_loop
from marlax.algorithms.ppo.types import TrainState
from marlax.config import TrainConfig
from marlax.runs.folder import RunFolder

LEARNER_NAME = "rl2"


def train_run(
    folder: RunFolder, config: TrainConfig, console: Console | None = None
) -> LoopResult[TrainState]:
    """Train (or continue) the RL² run in `folder` to `ppo.total_env_steps` (whole updates).

    Raises:
        TrainingDivergedError: a NaN/inf loss or parameter; the run is marked failed and its
            last good checkpoint kept.
    """
    return ppo_loop.train_run(folder, config, console, name=LEARNER_NAME)
