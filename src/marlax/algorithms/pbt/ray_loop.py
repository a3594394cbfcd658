"""PBT's training run on the Ray backend (`pbt.backend = "ray"`), under the shared host loop.

    result = train_ray_run(folder, config)       # fresh, or resumed from the latest save

The members train in Ray actors (`ray_population`); this process is the driver: the host loop
(status.json, progress bar, metric lines, SIGINT/SIGTERM, resume) drives `update(record, n)`,
the lineage goes to `lineage.jsonl` and `lineage.png` as in-graph, and every checkpoint of the
run is the whole population assembled into the `PBTState` in-graph PBT saves (gathered from
the members, copies still due made). So `marlax enjoy`, `marlax eval` and `pbt.policy` read a
Ray run as they read an in-graph one, and `--resume` restarts every member from that state.
"""

from __future__ import annotations

import jax
import numpy as np
from rich.console import Console

from marlax.algorithms.common.checkpointed import run_schedule, save_checkpoint
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
from marlax.algorithms.pbt.ray_member import MemberStart
from marlax.algorithms.pbt.ray_population import RayPopulation
from marlax.algorithms.pbt.ray_record import (
    PopulationRecord,
    initial_record,
    member_keys,
    record_of,
)
from marlax.algorithms.pbt.ray_session import import_ray, ray_session
from marlax.algorithms.pbt.trainer import PBTTrainer
from marlax.config import TrainConfig
from marlax.runs.checkpoint import Checkpointer
from marlax.runs.folder import RunFolder
from marlax.runs.metrics import read_metrics

LEARNER_NAME = "pbt"

_DIVERGENCE_HINT = "narrow pbt.learning_rate_range or lower ppo.max_grad_norm and resume"


def train_ray_run(
    folder: RunFolder, config: TrainConfig, console: Console | None = None
) -> LoopResult[PopulationRecord]:
    """Train (or continue) the PBT run in `folder` with one Ray actor per member.

    Returns:
        The host loop's result (its state is the driver's `PopulationRecord`).

    Raises:
        ConfigError: Ray is not installed (`pbt.backend`), or the cluster cannot place every
            member (`pbt.member_cpus`).
        TrainingDivergedError: a NaN/inf loss or parameter; the run is marked failed.
        MemberLostError: a member died more often than `pbt.max_restarts`.
    """
    ray = import_ray()
    # the driver only shapes and saves the population: no member trains in this process
    trainer = PBTTrainer(config, devices=jax.local_devices()[:1])
    with ray_session(ray, config), Checkpointer(folder.checkpoint_dir) as checkpointer:
        record, starts = _start_or_resume(config, trainer, checkpointer)
        lineage = LineageLog(folder.path / LINEAGE_FILE, record.update)
        if record.update == 0:
            lineage.extend(initial_records(record.hyperparams))
        population = RayPopulation(ray, config, folder.path, starts)
        try:
            return run_host_loop(
                folder,
                _learner(population, trainer, checkpointer, folder, lineage),
                run_schedule(config, trainer),
                record,
                updates_done=record.update,
                console=console,
            )
        finally:
            population.close()


def _start_or_resume(
    config: TrainConfig, trainer: PBTTrainer, checkpointer: Checkpointer
) -> tuple[PopulationRecord, list[MemberStart]]:
    """(the driver's record, where each member starts): fresh from `run.seed`, or the latest
    checkpoint's population."""
    latest = checkpointer.latest_step()
    if latest is None:
        key = jax.random.key(config.run.seed)
        keys = np.asarray(jax.random.key_data(member_keys(key, config.run.num_seeds)))
        return initial_record(config, key), [MemberStart(0, data, None) for data in keys]
    saved = checkpointer.restore(latest, trainer.abstract_state())
    members = range(config.run.num_seeds)
    train = jax.device_get(saved.train)
    starts = [
        MemberStart(latest, None, jax.tree.map(lambda leaf, m=m: leaf[m : m + 1], train))
        for m in members
    ]
    return record_of(saved, latest), starts


def _learner(
    population: RayPopulation,
    trainer: PBTTrainer,
    checkpointer: Checkpointer,
    folder: RunFolder,
    lineage: LineageLog,
) -> Learner:
    def _update(record: PopulationRecord, size: int) -> tuple[PopulationRecord, dict]:
        first = record.update
        record, metrics = population.update(record, size)
        lineage.extend(lineage_records(metrics, first))
        return record, member_metrics(metrics)

    def _save(record: PopulationRecord, update: int) -> None:
        save_checkpoint(trainer, checkpointer, population.assemble(record), update)
        plot_lineage(read_metrics(folder.metrics_path), lineage.records, folder.path / LINEAGE_PLOT)

    return Learner(
        name=LEARNER_NAME,
        update=_update,
        save=_save,
        healthy=lambda record: record.params_finite,
        divergence_hint=_DIVERGENCE_HINT,
    )
