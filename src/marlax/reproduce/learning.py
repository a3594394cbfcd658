"""The learning table: every shipped PPO config trained, then against a uniform-random policy.

The cells are `benchmarks/learning.py`'s, at the budgets BENCHMARKS.md records (its
`--budget-scale 0.5`): `--budget-scale 1` here re-runs the recorded env steps. A cell trains
like `marlax train -c configs/<config>.json --seeds S` (the run, with checkpoints, goes to
`<out>/runs/learning-<cell>`), then plays each task's trained policy (sampling its actions,
as the record did) and `RandomPolicy` on the same fresh episodes (one per env of the config,
`EVAL_SEED`, one eval key per seed) with `marlax eval`'s episode runner. A return is the
episode sum of rewards averaged over the env's agents, averaged over episodes.
"""

from __future__ import annotations

import time
from pathlib import Path

import jax

from marlax.algorithms.trained import load_run_policies
from marlax.config import TrainConfig, load_config
from marlax.play.policy import RandomPolicy
from marlax.reproduce.episodes import over_seeds, team_returns
from marlax.reproduce.table import Cell, CellContext, CellResult, Metric, Table
from marlax.reproduce.training import train_cell_run

EVAL_SEED = 12345
MAX_LOG_EVERY = 50
HEADING = "Shipped configs vs a uniform-random policy (`benchmarks/learning.py`)"
_MLP = ("model.name=mlp", "model.core={}")


def _cell(name: str, config: str, budget: int, overrides: tuple[str, ...] = ()) -> Cell:
    return Cell(name, {"config": config, "budget": budget, "overrides": overrides})


CELLS = (
    _cell("nback_mlp", "nback", 100_000, _MLP),
    _cell("nback", "nback", 100_000),
    _cell("nback_gru", "nback_gru", 200_000),
    _cell("nback_transformer", "nback_transformer", 200_000),
    _cell("simple_spread", "simple_spread", 200_000),
    _cell("grid_return_mlp", "grid_return", 100_000, _MLP),
    _cell("grid_return", "grid_return", 100_000),
    _cell("grid_return_transformer", "grid_return_transformer", 100_000),
    _cell("scouts", "scouts", 100_000),
    _cell("traveling_salesman", "traveling_salesman", 100_000),
    _cell("king_of_the_hill", "king_of_the_hill", 100_000),
    _cell("energy_flow", "energy_flow", 100_000),
    _cell("multitask", "multitask", 100_000),
)
"""(name, config, env steps recorded, overrides), in BENCHMARKS.md's order."""

QUICK_CELL = _cell(
    "simple_spread-quick",
    "simple_spread",
    100,
    ("env.num_envs=4", "ppo.rollout_length=25", "ppo.num_epochs=1", "ppo.num_minibatches=1"),
)
"""One update of 4 envs x 25 steps."""


def _log_every(num_updates: int) -> int:
    """The largest divisor of num_updates up to MAX_LOG_EVERY (fewer host round-trips)."""
    return max(d for d in range(1, min(num_updates, MAX_LOG_EVERY) + 1) if num_updates % d == 0)


def cell_config(cell: Cell, context: CellContext) -> TrainConfig:
    """The cell's config at `budget x --budget-scale` env steps (whole updates, at least one),
    run in `<runs_dir>/learning-<cell>`."""
    path = Path(context.settings.configs_dir) / f"{cell.spec['config']}.json"
    overrides = list(cell.spec["overrides"])
    probe = load_config(path, overrides)
    steps = max(int(cell.spec["budget"] * context.settings.budget_scale), probe.steps_per_update)
    num_updates = steps // probe.steps_per_update
    log_every = _log_every(num_updates)
    overrides += [
        f"ppo.total_env_steps={num_updates * probe.steps_per_update}",
        f"run.log_every={log_every}",
        f"run.checkpoint_every={log_every}",
        f"run.runs_dir={context.runs_dir}",
        f"run.name=learning-{cell.name}",
    ]
    return load_config(path, overrides, num_seeds=context.seeds)


def run_learning_cell(cell: Cell, context: CellContext) -> CellResult:
    """Train the cell, then its sampled policy and a random one on the same episodes."""
    start = time.perf_counter()
    config = cell_config(cell, context)
    folder = train_cell_run(config, context.console)
    eval_keys = jax.random.split(jax.random.key(EVAL_SEED), context.seeds)
    values = {}
    for index, task in enumerate(config.envs):
        policies = load_run_policies(
            context.runs_dir, folder.name, selector=str(index), seed_indices=None, sample=True
        )
        env = policies[0].env
        trained, random = [], []
        for run_policy, key in zip(policies, eval_keys, strict=True):
            trained.append(team_returns(key, env, run_policy.policy, task.num_envs).team_return)
            random.append(team_returns(key, env, RandomPolicy(env), task.num_envs).team_return)
        prefix = f"{policies[0].task}: " if len(config.envs) > 1 else ""
        values[prefix + "random"] = over_seeds([estimate.mean for estimate in random])
        values[prefix + "trained"] = over_seeds([estimate.mean for estimate in trained])
    return {
        "settings": {"env_steps": config.ppo.total_env_steps},
        "values": values,
        "model": config.model.name,
        "seeds": context.seeds,
        "run": folder.name,
        "seconds": time.perf_counter() - start,
    }


TABLE = Table(
    name="learning",
    heading=HEADING,
    cells=CELLS,
    quick_cell=QUICK_CELL,
    run_cell=run_learning_cell,
    metrics=(Metric("random", "random return", 3), Metric("trained", "trained return", 3)),
    setting_columns=("env_steps",),
    trains=True,
    recorded_seeds=2,
)
