"""`marlax merge`: a new run whose policy is the weighted average of members' parameters.

    result = merge_ppo_runs(Path("runs"), ["run-a", "run-b:1"], "merged-ab", weights=None)

Members are "RUN" (seed 0) or "RUN:SEED" of PPO runs with one architecture (same model and
observation/action layout; the tasks may differ, e.g. the members of a multi-task config).
The new run has one seed: the first member's config (run.num_seeds = 1), its env state and
update count, the averaged actor and critic, and a fresh optimiser state, so `marlax enjoy`,
`eval` and `train --resume` (fine-tuning) treat it like any run. Everything is checked before
the folder is made; merge.json records the members and weights.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import jax
import numpy as np

from marlax.algorithms.merge.parameters import (
    average_parameters,
    check_same_architecture,
    normalised_weights,
)
from marlax.algorithms.ppo.restore import TrainedRun
from marlax.algorithms.trained import parse_member, restore_ppo_run
from marlax.config import load_from_dict
from marlax.config.load import config_to_dict
from marlax.runs.atomic import write_json_atomic
from marlax.runs.checkpoint import Checkpointer
from marlax.runs.folder import RunFolder
from marlax.validate import require, require_int

MERGE_FILE = "merge.json"


@dataclass(frozen=True)
class MergeResult:
    """What `merge_ppo_runs` wrote."""

    folder: RunFolder
    members: tuple[str, ...]  # "RUN:SEED" each
    weights: np.ndarray  # f64[K] summing to 1
    update: int
    env_steps: int


def merge_ppo_runs(
    runs_dir: Path,
    specs: list[str],
    out: str,
    weights: list[float] | None = None,
    checkpoint: int | None = None,
) -> MergeResult:
    """Average the members' parameters into the new run `out` (see the module docstring).

    Raises:
        ConfigError: a missing run, checkpoint or seed; a member that is not PPO; members of
            different architectures (naming the first differing parameter); bad weights; an
            `out` name that is taken or invalid.
    """
    require(len(specs) >= 1, "merge", specs, "at least one RUN")
    w = normalised_weights(weights, len(specs))
    members = [_member(runs_dir, spec, checkpoint) for spec in specs]
    names = [f"{trained.folder.name}:{seed}" for trained, seed in members]
    params = [_seed_slice(trained.state.params, seed) for trained, seed in members]
    check_same_architecture(params, names)
    merged = average_parameters(params, w)
    first, first_seed = members[0]
    state = _merged_state(first, first_seed, merged)
    config = config_to_dict(first.config)
    config = {**config, "run": {**copy.deepcopy(config["run"]), "num_seeds": 1, "name": out}}
    load_from_dict(config)  # the merged run's config must itself be valid
    folder = RunFolder.create(runs_dir, out, config)
    metadata = {"env_steps": first.env_steps, "update": first.update, "merged_from": names}
    with Checkpointer(folder.checkpoint_dir) as checkpointer:
        checkpointer.save(first.update, state, metadata)
    write_json_atomic(
        folder.path / MERGE_FILE,
        {"members": names, "weights": w.tolist(), "checkpoint": checkpoint, "rule": "average"},
    )
    folder.write_status("finished", env_steps=first.env_steps, update=first.update, merged=True)
    return MergeResult(folder, tuple(names), w, first.update, first.env_steps)


def _member(runs_dir: Path, spec: str, checkpoint: int | None) -> tuple[TrainedRun, int]:
    name, seed = parse_member(spec, field="merge")
    folder = RunFolder.open(runs_dir, name)
    config = load_from_dict(folder.read_config())
    algorithm = getattr(config, "algorithm", "ppo")
    require(algorithm == "ppo", "merge", spec, f"a PPO run (this one is {algorithm})")
    trained = restore_ppo_run(folder, config, checkpoint)
    num_seeds = int(jax.tree.leaves(trained.state.params)[0].shape[0])
    require_int("merge", seed, 0, num_seeds - 1)
    return trained, seed


def _seed_slice(tree: object, seed: int) -> object:
    return jax.tree.map(lambda leaf: np.asarray(leaf)[seed], tree)


def _merged_state(first: TrainedRun, seed: int, merged_params: object) -> object:
    """The first member's state of `seed` with the merged parameters, a fresh optimiser
    state, and a seed axis of 1."""
    state = jax.tree.map(lambda leaf: leaf[seed : seed + 1], first.state)
    opt_state = first.trainer.optimizer.init(merged_params)
    one_seed = jax.tree.map(lambda leaf: np.asarray(leaf)[None], (merged_params, opt_state))
    return jax.device_get(state.replace(params=one_seed[0], opt_state=one_seed[1]))
