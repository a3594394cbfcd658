"""PBT's training run: a `PBTTrainer` driven by the shared host loop, with orbax checkpoints.

    folder = create_run(config)                  # config.algorithm == "pbt"
    result = train_run(folder, config)           # fresh, or resumed from the latest save

As PPO's loop (`marlax.algorithms.ppo.loop`), plus the lineage: after each jitted call the
exploit steps it made go to `lineage.jsonl`, each metrics line carries every member's
hyperparameters (`pbt/<name>/<member>`), and `lineage.png` is redrawn at every checkpoint.
The whole population (members, hyperparameters, interval sums, PBT's key) is checkpointed,
so a resumed run ends bitwise equal to an uninterrupted one. With `pbt.backend = "ray"` the
members train in Ray actors instead (`marlax.algorithms.pbt.ray_loop`), with the same files.
"""

from __future__ import annotations

import jax
from rich.console import Console

from marlax.algorithms.common.checkpointed import (
    all_finite,
    run_schedule,
    save_checkpoint,
    start_or_resume,
)
from marlax.algorithms.common.host_loop import Learner, LoopResult, run_host_loop
from marlax.algorithms.pbt.lineage import (
    LINEAGE_FILE,
    LINEAGE_PLOT,
    LineageLog,
    initial_records,
    lineage_records,
    member_metrics,
    plot_lineage,
)
from marlax.algorithms.pbt.ray_loop import train_ray_run
from marlax.algorithms.pbt.trainer import PBTTrainer
from marlax.algorithms.pbt.types import PBTState
from marlax.config import TrainConfig
from marlax.runs.checkpoint import Checkpointer
from marlax.runs.folder import RunFolder
from marlax.runs.metrics import read_metrics

LEARNER_NAME = "pbt"

_DIVERGENCE_HINT = "narrow pbt.learning_rate_range or lower ppo.max_grad_norm and resume"


def train_run(folder: RunFolder, config: TrainConfig, console: Console | None = None) -> LoopResult:
    """Train (or continue) the PBT run in `folder` to `ppo.total_env_steps` per member.

    Returns:
        The host loop's result (scores are means over members); its state is the `PBTState`,
        or on the Ray backend the driver's `PopulationRecord`.

    Raises:
        TrainingDivergedError: a NaN/inf loss or parameter; the run is marked failed and its
            last good checkpoint kept.
    """
    if config.pbt.backend == "ray":  # one Ray actor per member (marlax.algorithms.pbt.ray_loop)
        return train_ray_run(folder, config, console)
    trainer = PBTTrainer(config)
    with Checkpointer(folder.checkpoint_dir) as checkpointer:
        state, done = start_or_resume(trainer, checkpointer, config.run.seed)
        lineage = LineageLog(folder.path / LINEAGE_FILE, done)
        if done == 0:
            lineage.extend(initial_records(jax.device_get(state.hyperparams)))

        def _update(state: PBTState, size: int) -> tuple[PBTState, dict]:
            state, metrics = trainer.update(state, size)
            metrics = jax.device_get(metrics)
            last = int(jax.device_get(state.train.update[0]))
            lineage.extend(lineage_records(metrics, last - size))
            return state, member_metrics(metrics)

        def _save(state: PBTState, update: int) -> None:
            save_checkpoint(trainer, checkpointer, state, update)
            rows = read_metrics(folder.metrics_path)
            plot_lineage(rows, lineage.records, folder.path / LINEAGE_PLOT)

        learner = Learner(
            name=LEARNER_NAME,
            update=_update,
            save=_save,
            healthy=lambda state: all_finite(state.train.params),
            divergence_hint=_DIVERGENCE_HINT,
        )
        schedule = run_schedule(config, trainer)
        return run_host_loop(folder, learner, schedule, state, updates_done=done, console=console)
