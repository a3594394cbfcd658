"""Run folders for every learner: a new one for a config, or an existing one with its config.

folder = create_run(config)                        # named by run.name or adjective-animal-NN
folder, config = open_run(Path("runs"), name)      # for --resume, enjoy, eval

In a multi-process run (`jax.distributed`) process 0 creates the folder and tells the others
its name (a collective), so every process must call `create_run`; the others open it. The runs
folder must then be one that every process sees (the same machine, or a shared filesystem).
"""

from __future__ import annotations

from pathlib import Path

from marlax.config import TrainConfig, config_to_dict, load_from_dict
from marlax.errors import ConfigError
from marlax.runs.folder import RunFolder
from marlax.runs.naming import new_run_name
from marlax.runs.processes import is_primary_process, shared_from_primary


def create_run(config: TrainConfig) -> RunFolder:
    """A new run folder for `config` (named by `run.name` or a fresh adjective-animal-NN).

    Raises:
        ConfigError: the name is taken or invalid (in process 0; the other processes raise
            one saying that process 0 could not create the run).
    """
    runs_dir = Path(config.run.runs_dir)
    if not is_primary_process():
        return _open_created_run(runs_dir)
    try:
        name = config.run.name or new_run_name(runs_dir)
        folder = RunFolder.create(runs_dir, name, config_to_dict(config))
    except BaseException:
        shared_from_primary(None)  # release the other processes before raising
        raise
    shared_from_primary(folder.name)
    return folder


def _open_created_run(runs_dir: Path) -> RunFolder:
    """The folder process 0 created, once it says its name."""
    name = shared_from_primary(None)
    if name is None:
        raise ConfigError(
            "run", str(runs_dir), "a run folder that process 0 creates (see its error)"
        )
    return RunFolder.open(runs_dir, name)


def open_run(runs_dir: Path, name: str) -> tuple[RunFolder, TrainConfig]:
    """An existing run and the config it was started with (for `--resume`)."""
    folder = RunFolder.open(runs_dir, name)
    return folder, load_from_dict(folder.read_config())
