"""VariBAD's training run: the shared host loop around a `VariBADTrainer`.

folder = create_run(config)                        # config.algorithm == "varibad"
result = train_run(folder, config)                 # fresh, or resumed from the latest save
"""

from __future__ import annotations

from functools import partial

from rich.console import Console

from marlax.algorithms.common.checkpointed import (
    all_finite,
    run_schedule,
    save_checkpoint,
    start_or_resume,
)
from marlax.algorithms.common.host_loop import Learner, LoopResult, run_host_loop
from marlax.algorithms.varibad.trainer import VariBADTrainer
from marlax.algorithms.varibad.update import VariBADState
from marlax.config import TrainConfig
from marlax.runs.checkpoint import Checkpointer
from marlax.runs.folder import RunFolder

LEARNER_NAME = "varibad"

_DIVERGENCE_HINT = "lower ppo.learning_rate or varibad.vae_lr and resume, or start again"


def train_run(
    folder: RunFolder, config: TrainConfig, console: Console | None = None
) -> LoopResult[VariBADState]:
    """Train (or continue) the VariBAD run in `folder` to `ppo.total_env_steps` (whole updates).

    Metrics per update: `return` (mean trial return), `return/episode_i` (episode i of the
    trial), PPO's `loss/*`, and the ELBO's `vae/reward_reconstruction`, `vae/kl`.

    Raises:
        TrainingDivergedError: a NaN/inf loss or parameter; the run is marked failed and its
            last good checkpoint kept.
    """
    trainer = VariBADTrainer(config)
    with Checkpointer(folder.checkpoint_dir) as checkpointer:
        state, done = start_or_resume(trainer, checkpointer, config.run.seed)
        learner = Learner(
            name=LEARNER_NAME,
            update=trainer.update,
            save=partial(save_checkpoint, trainer, checkpointer),
            healthy=lambda state: all_finite((state.policy_params, state.vae_params)),
            finite_prefixes=("loss/", "vae/"),
            divergence_hint=_DIVERGENCE_HINT,
        )
        schedule = run_schedule(config, trainer)
        return run_host_loop(folder, learner, schedule, state, updates_done=done, console=console)
