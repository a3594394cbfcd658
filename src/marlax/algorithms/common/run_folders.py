"""Run folders for every learner: a new one for a config, or an existing one with its config.

folder = create_run(config)                        # named by run.name or adjective-animal-NN
folder, config = open_run(Path("runs"), name)      # for --resume, enjoy, eval
"""

from __future__ import annotations

from pathlib import Path

from marlax.config import TrainConfig, config_to_dict, load_from_dict
from marlax.runs.folder import RunFolder
from marlax.runs.naming import new_run_name


def create_run(config: TrainConfig) -> RunFolder:
    """A new run folder for `config` (named by `run.name` or a fresh adjective-animal-NN)."""
    runs_dir = Path(config.run.runs_dir)
    name = config.run.name or new_run_name(runs_dir)
    return RunFolder.create(runs_dir, name, config_to_dict(config))


def open_run(runs_dir: Path, name: str) -> tuple[RunFolder, TrainConfig]:
    """An existing run and the config it was started with (for `--resume`)."""
    folder = RunFolder.open(runs_dir, name)
    return folder, load_from_dict(folder.read_config())
