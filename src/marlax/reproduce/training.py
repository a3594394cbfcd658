"""Train a cell's config exactly as `marlax train` does, resuming its run when one exists.

The run lives in `<out>/runs/<run name>`; the host loop checkpoints it, so an interrupted
cell continues from its last checkpoint on the next `marlax reproduce` (bitwise equal to an
uninterrupted run), and a finished run is only evaluated again.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from rich.console import Console

from marlax.algorithms.common.run_folders import create_run, open_run
from marlax.algorithms.learners import train_run_for
from marlax.config import TrainConfig, config_to_dict
from marlax.runs.folder import RunFolder


class ReproductionStoppedError(Exception):
    """SIGINT/SIGTERM stopped a training cell; its checkpoint resumes it on the next run."""


def train_cell_run(config: TrainConfig, console: Console) -> RunFolder:
    """Train `config` (its `run.name` in its `run.runs_dir`) to the end; return the folder.

    A run of that name with the same config is continued (or taken as is when finished);
    one with another config (other options) is replaced.

    Raises:
        ReproductionStoppedError: a signal stopped the training (a checkpoint was written).
    """
    folder = _open_or_create(config)
    if folder.read_status().get("state") == "finished":
        return folder
    result = train_run_for(config.algorithm)(folder, config, console)
    if result.stopped_by is not None:
        raise ReproductionStoppedError(f"{folder.name} stopped by {result.stopped_by}")
    return folder


def _open_or_create(config: TrainConfig) -> RunFolder:
    runs_dir = Path(config.run.runs_dir)
    if not (runs_dir / config.run.name / "config.json").is_file():
        return create_run(config)
    folder, saved = open_run(runs_dir, config.run.name)
    if config_to_dict(saved) == config_to_dict(config):
        return folder
    shutil.rmtree(folder.path)
    return create_run(config)
